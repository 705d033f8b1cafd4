#!/usr/bin/env node
// The MNIST demo: real digits, a small MLP, three epochs of one-cycle training, the epoch table
// and a loss plot. Run with `node examples/mnist/dist/main.js` after `pnpm build`; `pnpm demo`
// (epochcast demo) trains the same model and notifies Telegram, Slack and e-mail too.
//
// stderr carries the backend line; stdout the live progress (a bar on a terminal) and the epoch
// table as each epoch ends, then the final accuracy and the plot's path.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DEMO_CONFIG, trainMnist } from '@epochcast/cli/mnist';
import { ProgressCallback, selectBackend } from '@epochcast/core';

async function main(): Promise<void> {
  // #region train
  await selectBackend();
  const { epochs, lrMax, samples, validPct } = DEMO_CONFIG;
  process.stderr.write(
    `MNIST: ${samples} digits (${Math.round(samples * (1 - validPct))} train / ${Math.round(samples * validPct)} valid), ` +
      `MLP 784-128-10, fitOneCycle(${epochs}, { lrMax: ${lrMax} })\n`,
  );
  const run = await trainMnist({ ...DEMO_CONFIG, callbacks: [new ProgressCallback()] });
  try {
    const { learn } = run;
    console.log(
      `validation accuracy ${(run.validAccuracy * 100).toFixed(2)}% on ${run.validSamples} held-out digits after ${epochs} epochs ` +
        `(${(run.fitMs / 1000).toFixed(1)} s)`,
    );
    const outDir = path.resolve(process.env.EPOCHCAST_OUT || 'out');
    await mkdir(outDir, { recursive: true });
    const file = path.join(outDir, 'mnist-losses.png');
    const plot = learn.recorder.plotLosses();
    await writeFile(file, await plot.png());
    console.log(`loss plot: ${file}`);
  } finally {
    run.dispose(); // frees the model, the data and the optimizer: nothing else is left behind
  }
  // #endregion
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
