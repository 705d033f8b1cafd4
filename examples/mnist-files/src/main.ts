#!/usr/bin/env node
// MNIST from files: writes the `mnist` package's digits as PNG files (one per digit, its label the
// folder's name), then trains the demo's MLP on them streamed from disk by an async generator with
// DataLoaders.fromIterables — each batch's files read and decoded while the previous batch trains.
//
//   node examples/mnist-files/dist/main.js [--dir DIR] [--digits N] [--epochs N] [--batch-size N]
//                                          [--kill-after-epoch K]
//
// A checkpoint is saved after every epoch in DIR/checkpoint; a run that finds one there (a run that
// was killed) resumes from it. --kill-after-epoch K kills the process (SIGKILL, as an OOM killer or
// a reboot would) right after epoch K's checkpoint, to try it.
//
// stdout: what was written, the epoch table, the validation accuracy; stderr: the backend line.
import { access, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MNIST_SIZE, mnistModel } from '@epochcast/cli/mnist';
import { accuracy, Callback, DataLoaders, Learner, ProgressCallback, selectBackend, type TrainingState } from '@epochcast/core';
import { listDigits, readDigitBatches, writeDigitPngs } from './digit-files.js';

const SEED = 42;
const VALID_PCT = 0.2;

function options() {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string', default: path.join(tmpdir(), 'epochcast-mnist-files') },
      digits: { type: 'string', default: String(MNIST_SIZE) },
      epochs: { type: 'string', default: '3' },
      'batch-size': { type: 'string', default: '64' },
      'kill-after-epoch': { type: 'string' },
    },
  });
  const integer = (name: string, value: string, min: number, max: number) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`--${name} must be an integer from ${min} to ${max}; received ${value}`);
    return n;
  };
  return {
    dir: path.resolve(values.dir),
    digits: integer('digits', values.digits, 20, MNIST_SIZE),
    epochs: integer('epochs', values.epochs, 1, 100),
    batchSize: integer('batch-size', values['batch-size'], 1, 4096),
    killAfterEpoch: values['kill-after-epoch'] === undefined ? undefined : integer('kill-after-epoch', values['kill-after-epoch'], 1, 100),
  };
}

/** Writes the PNGs unless `dir` already holds this very set (its manifest says so). */
async function ensureDigits(dir: string, digits: number): Promise<void> {
  const manifest = path.join(dir, 'digits.json');
  const wanted = JSON.stringify({ digits, validPct: VALID_PCT, seed: SEED });
  if ((await readFile(manifest, 'utf8').catch(() => '')) === wanted) {
    console.log(`using the ${digits} digit PNGs already in ${dir}`);
    return;
  }
  const started = performance.now();
  const written = await writeDigitPngs(dir, digits, VALID_PCT, SEED);
  await writeFile(manifest, wanted);
  console.log(
    `wrote ${written.train.length} training and ${written.valid.length} validation digits as PNG files under ${dir} ` +
      `(${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
}

/**
 * Saves a checkpoint at the end of every epoch (after the Recorder has recorded it); `learn.save`
 * swaps the directory atomically, so a kill during a save leaves the previous checkpoint whole.
 */
class CheckpointEachEpoch extends Callback {
  // After the other callbacks have seen the epoch: the progress table has printed its row.
  override order = 1000;
  constructor(
    private readonly learn: Learner,
    private readonly dir: string,
    private readonly killAfterEpoch: number | undefined,
  ) {
    super();
  }
  override async onEpochEnd(state: TrainingState): Promise<void> {
    await this.learn.save(this.dir);
    if (state.epoch + 1 === this.killAfterEpoch) {
      console.log(`checkpoint saved after epoch ${state.epoch + 1}/${state.totalEpochs}; killing the process (SIGKILL)`);
      process.kill(process.pid, 'SIGKILL');
    }
  }
}

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

async function main(): Promise<void> {
  const o = options();
  await selectBackend();
  await ensureDigits(o.dir, o.digits);
  const [train, valid] = await Promise.all([listDigits(o.dir, 'train'), listDigits(o.dir, 'valid')]);

  // #region stream
  // A fresh pass each epoch: makeTrain is called at every epoch's start, and shuffles anew, seeded
  // by the epoch's number, so that a resumed run reads its epochs in the order an unbroken run would.
  const data = DataLoaders.fromIterables(
    () => readDigitBatches(train, o.batchSize, SEED + learn.state.epoch),
    () => readDigitBatches(valid, o.batchSize),
    // The file list gives the length, so fitOneCycle can plan its schedule and the bar show an ETA.
    { batchesPerEpoch: Math.ceil(train.length / o.batchSize) },
  );
  const model = mnistModel(128, SEED);
  const learn = new Learner({
    model,
    data,
    loss: 'categoricalCrossentropy',
    metrics: [accuracy],
    callbacks: [new ProgressCallback()],
  });
  // #endregion

  // A checkpoint after every epoch; a killed run resumes from its last one.
  const checkpoint = path.join(o.dir, 'checkpoint');
  learn.addCallbacks(new CheckpointEachEpoch(learn, checkpoint, o.killAfterEpoch));
  // A checkpoint left there is a run that did not finish (a finished run removes its own).
  const resume = (await exists(checkpoint)) || (await exists(`${checkpoint}.previous`));
  if (resume) {
    const saved = await learn.load(checkpoint);
    console.log(`resuming the run killed after epoch ${saved.epochsDone}/${saved.totalEpochs} (checkpoint ${saved.dir})`);
  }

  try {
    const started = performance.now();
    await learn.fitOneCycle(o.epochs, { lrMax: 1e-2, resume });
    const seconds = (performance.now() - started) / 1000;
    const last = learn.recorder.history.at(-1);
    console.log(
      `validation accuracy ${((last?.metrics.accuracy ?? Number.NaN) * 100).toFixed(2)}% on ${valid.length} held-out digits ` +
        `after ${o.epochs} epoch(s) (${seconds.toFixed(1)} s${resume ? ' since resuming' : ''}, ${train.length + valid.length} PNG files read per epoch)`,
    );
    await rm(checkpoint, { recursive: true, force: true });
  } finally {
    learn.dispose();
    model.dispose();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
