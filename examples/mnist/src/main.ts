#!/usr/bin/env node
// The MNIST demo: real digits, a small MLP, three epochs of one-cycle training, the epoch table
// and a loss plot. Run with `pnpm demo` from the repository root.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '@epochcast/core';
import { DEMO_CONFIG, trainMnist } from './train.js';

export { loadMnist } from './data.js';
export { DEMO_CONFIG, type MnistRun, mnistModel, type TrainMnistOptions, trainMnist } from './train.js';

async function main(): Promise<void> {
  await selectBackend();
  const { epochs, lrMax } = DEMO_CONFIG;
  const run = await trainMnist(DEMO_CONFIG);
  try {
    const { learn } = run;
    console.log(
      `MNIST: ${run.trainSamples} training and ${run.validSamples} validation digits, MLP 784-128-10, ` +
        `fitOneCycle(${epochs}, { lrMax: ${lrMax} })`,
    );
    console.log(learn.recorder.formatStats());
    console.log(`validation accuracy ${(run.validAccuracy * 100).toFixed(2)}% in ${(run.fitMs / 1000).toFixed(1)} s`);

    const outDir = path.resolve(process.env.EPOCHCAST_OUT || 'out');
    await mkdir(outDir, { recursive: true });
    const file = path.join(outDir, 'mnist-losses.png');
    const plot = await learn.recorder.plotLosses();
    await writeFile(file, await plot.png());
    console.log(`loss plot: ${file}`);
  } finally {
    run.dispose();
  }
}

// Run only as the entry point, so tests and other code can import trainMnist from here.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
