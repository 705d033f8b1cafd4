import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Callback, ConfigError, type Learner, loadModelFrom, type TrainingState } from '@epochcast/core';
import { disposeToyLearner, type ToyLearnerOptions, toyLearner } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { weightsOf } from './helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const made: Learner[] = [];
afterEach(() => {
  for (const learn of made.splice(0)) disposeToyLearner(learn);
});

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'epochcast-ckpt-'));

/** A toy learner, disposed after the test; `seed` varies the starting weights. */
function learner(callbacks: Callback[] = [], options: ToyLearnerOptions = {}): Learner {
  const learn = toyLearner(callbacks, { samples: 128, ...options });
  made.push(learn);
  return learn;
}

/** The optimizer's state as plain arrays: tfjs's weights (iteration count first) and Adam's bias corrections. */
async function optimizerState(learn: Learner) {
  const weights = await learn.optimizer.getWeights();
  const values = weights.map((w) => ({ shape: w.tensor.shape, values: Array.from(w.tensor.dataSync()) }));
  tf.dispose(weights.filter((w) => w.name === 'iter').map((w) => w.tensor));
  const fields = learn.optimizer as unknown as { accBeta1?: tf.Variable; accBeta2?: tf.Variable };
  return {
    values,
    iterations: learn.optimizer.iterations,
    accBeta1: fields.accBeta1 && Array.from(fields.accBeta1.dataSync()),
    accBeta2: fields.accBeta2 && Array.from(fields.accBeta2.dataSync()),
  };
}

/** Stops the fit at the end of epoch `epoch` (0-based). */
class StopAfter extends Callback {
  constructor(private readonly epoch: number) {
    super();
  }
  override onEpochEnd(s: TrainingState) {
    if (s.epoch === this.epoch) s.learner.stop('paused for the test');
  }
}

/** What each hook of a fit saw: epochs begun, and the state at train begin. */
class Seen extends Callback {
  epochs: number[] = [];
  begin: { epoch: number; totalEpochs: number; step: number; resumedFromEpoch: number | undefined } | undefined;
  override onTrainBegin(s: TrainingState) {
    this.begin = { epoch: s.epoch, totalEpochs: s.totalEpochs, step: s.step, resumedFromEpoch: s.resumedFromEpoch };
  }
  override onEpochBegin(s: TrainingState) {
    this.epochs.push(s.epoch);
  }
}

const withoutTimes = (learn: Learner) => learn.recorder.history.map(({ timeMs: _, ...rest }) => rest);

describe('learn.save / learn.load', () => {
  test('round trip: weights, Adam moments, iteration count and bias corrections, hyper-parameters and the Recorder, bit for bit', async () => {
    const dir = path.join(tmp(), 'run');
    const original = learner();
    await original.fitOneCycle(2, { lrMax: 1e-2 });
    await original.save(dir);
    expect(fs.readdirSync(dir).sort()).toEqual(['learner.json', 'model.json', 'optimizer.bin', 'weights.bin']);

    const loaded = learner([], { seed: 99 });
    expect(weightsOf(loaded.model)).not.toEqual(weightsOf(original.model));
    const summary = await loaded.load(dir);
    expect(summary).toEqual({ dir: path.resolve(dir), epochsDone: 2, totalEpochs: 2, runName: undefined });
    expect(weightsOf(loaded.model)).toEqual(weightsOf(original.model));
    const state = await optimizerState(loaded);
    expect(state).toEqual(await optimizerState(original));
    expect(state.iterations).toBe(6);
    // Adam's own setWeights would have recomputed these as beta ** (iterations + 1): not what a scheduled beta1 gave.
    expect(state.accBeta1).toBeDefined();
    expect(state.values.length).toBe(1 + 2 * original.model.trainableWeights.length);
    expect([loaded.lr, loaded.mom]).toEqual([original.lr, original.mom]);
    expect(loaded.hyperParams.mom).toBe(original.hyperParams.mom);
    for (const key of ['rawLosses', 'losses', 'lrs', 'moms', 'history', 'epochEndSteps', 'metricNames'] as const)
      expect(loaded.recorder[key]).toEqual(original.recorder[key]);
    // The model half is tfjs-node's file:// layout: loadModelFrom reads it as it is.
    const model = await loadModelFrom(dir);
    expect(weightsOf(model)).toEqual(weightsOf(original.model));
    model.dispose();
  });

  test('round trip of SGD with momentum: the accumulations and the momentum', async () => {
    const dir = path.join(tmp(), 'sgd');
    const optimizer = (lr: number) => tf.train.momentum(lr, 0.9);
    const original = learner([], { optimizer });
    await original.fitOneCycle(2, { lrMax: 5e-2 });
    await original.save(dir);
    const loaded = learner([], { optimizer, seed: 3 });
    await loaded.load(dir);
    expect(await optimizerState(loaded)).toEqual(await optimizerState(original));
    expect(loaded.hyperParams.mom).toBe(original.hyperParams.mom);
    expect(weightsOf(loaded.model)).toEqual(weightsOf(original.model));
  });

  test.each([
    ['sgd', (lr: number) => tf.train.sgd(lr)],
    ['rmsprop', (lr: number) => tf.train.rmsprop(lr, 0.9, 0.5)],
    ['adagrad', (lr: number) => tf.train.adagrad(lr)],
    ['adadelta', (lr: number) => tf.train.adadelta(lr)],
  ])('round trip of %s', async (_name, optimizer) => {
    const dir = path.join(tmp(), 'other');
    const original = learner([], { optimizer });
    await original.fit(2, { lr: 1e-2 });
    await original.save(dir);
    const loaded = learner([], { optimizer, seed: 3 });
    await loaded.load(dir);
    expect(await optimizerState(loaded)).toEqual(await optimizerState(original));
    await loaded.fit(3, { lr: 1e-2, resume: true });
    await original.fit(1, { lr: 1e-2 });
    expect(loaded.recorder.rawLosses.slice(6)).toEqual(original.recorder.rawLosses);
    expect(original.recorder.rawLosses.every(Number.isFinite)).toBe(true);
    expect(weightsOf(loaded.model)).toEqual(weightsOf(original.model));
  });

  test('Adamax, whose state tfjs cannot read, cannot be saved: a clear error', async () => {
    const learn = learner([], { optimizer: (lr) => tf.train.adamax(lr) });
    await learn.fit(1);
    await expect(learn.save(path.join(tmp(), 'adamax'))).rejects.toThrow(/the Adamax optimizer's state cannot be read .* Use adam, sgd/);
  });

  test('a loaded learner trains on exactly as the original: the next epoch’s losses are equal', async () => {
    const dir = path.join(tmp(), 'next');
    const original = learner();
    await original.fit(1, { lr: 1e-2 });
    await original.save(dir);
    const loaded = learner([], { seed: 5 });
    await loaded.load(dir);
    await loaded.fit(2, { lr: 1e-2, resume: true });
    await original.fit(1, { lr: 1e-2 });
    // The original's second fit restarted its Recorder: compare its one epoch with the resumed run's second.
    expect(loaded.recorder.rawLosses.slice(3)).toEqual(original.recorder.rawLosses);
    expect(weightsOf(loaded.model)).toEqual(weightsOf(original.model));
  });

  test('no tensors are left behind by save and load', async () => {
    const dir = path.join(tmp(), 'leak');
    const learn = learner();
    await learn.fit(1);
    await learn.save(dir);
    await learn.load(dir);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      await learn.save(dir);
      await learn.load(dir);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('resuming a run', () => {
  test('a one-cycle run stopped after epoch 2 and resumed in a fresh learner matches the uninterrupted run: lr and momentum at every step, losses, history', async () => {
    const whole = learner();
    await whole.fitOneCycle(5, { lrMax: 1e-2 });

    const dir = path.join(tmp(), 'resume');
    const first = learner([new StopAfter(1)]);
    await first.fitOneCycle(5, { lrMax: 1e-2 });
    expect(first.recorder.history).toHaveLength(2);
    await first.save(dir);

    const seen = new Seen();
    const resumed = learner([seen], { seed: 11 });
    await resumed.load(dir);
    await resumed.fitOneCycle(5, { resume: true });
    expect(seen.begin).toEqual({ epoch: 2, totalEpochs: 5, step: 6, resumedFromEpoch: 2 });
    expect(seen.epochs).toEqual([2, 3, 4]);
    expect(resumed.recorder.lrs).toHaveLength(15);
    expect(resumed.recorder.lrs).toEqual(whole.recorder.lrs);
    expect(resumed.recorder.moms).toEqual(whole.recorder.moms);
    expect(resumed.recorder.rawLosses).toEqual(whole.recorder.rawLosses);
    expect(resumed.recorder.losses).toEqual(whole.recorder.losses);
    expect(withoutTimes(resumed)).toEqual(withoutTimes(whole));
    expect(resumed.recorder.epochEndSteps).toEqual(whole.recorder.epochEndSteps);
    expect(weightsOf(resumed.model)).toEqual(weightsOf(whole.model));
  });

  test('a checkpoint saved from onEpochEnd during a fit resumes as well', async () => {
    const whole = learner();
    await whole.fitOneCycle(3);
    const dir = path.join(tmp(), 'during');
    let learn: Learner | undefined;
    class SaveAtEpoch0 extends Callback {
      override async onEpochEnd(s: TrainingState) {
        if (s.epoch === 0) await learn?.save(dir);
      }
    }
    learn = learner([new SaveAtEpoch0()]);
    await learn.fitOneCycle(3);
    const resumed = learner();
    expect(await resumed.load(dir)).toMatchObject({ epochsDone: 1, totalEpochs: 3 });
    expect(resumed.recorder.history).toHaveLength(1);
    await resumed.fitOneCycle(3, { resume: true });
    expect(resumed.recorder.lrs).toEqual(whole.recorder.lrs);
    expect(resumed.recorder.rawLosses).toEqual(whole.recorder.rawLosses);
  });

  test('resume errors: nothing loaded, nothing left to train, another method, another schedule', async () => {
    const dir = path.join(tmp(), 'errors');
    const learn = learner([new StopAfter(1)]);
    await expect(learn.fitOneCycle(4, { resume: true })).rejects.toThrow(
      /there is no run to resume\. Load a checkpoint first with await learn\.load\(dir\)/,
    );
    await learn.fitOneCycle(4, { lrMax: 1e-2 });
    await learn.save(dir);
    const other = learner();
    await other.load(dir);
    await expect(other.fitOneCycle(2, { resume: true })).rejects.toThrow(
      /already completed 2 of 4 epochs; pass a total greater than 2 \(e\.g\. 4\)/,
    );
    await expect(other.fit(4, { resume: true })).rejects.toThrow(/was trained with fitOneCycle; resume it with fitOneCycle/);
    await expect(other.fitOneCycle(4, { resume: true, lrMax: 3e-3 })).rejects.toThrow(/lrMax 0\.003 differs from the checkpoint's 0\.01/);
    await expect(other.fitOneCycle(4, { resume: true, lrMax: 1e-2 })).resolves.toBeUndefined();
    // A checkpoint resumes once.
    await expect(other.fitOneCycle(6, { resume: true })).rejects.toBeInstanceOf(ConfigError);
  });

  test('save refuses mid-epoch', async () => {
    let learn: Learner | undefined;
    const dir = path.join(tmp(), 'mid');
    class SaveMidEpoch extends Callback {
      override async onBatchEnd() {
        await learn?.save(dir);
      }
    }
    learn = learner([new SaveMidEpoch()]);
    await expect(learn.fit(1)).rejects.toThrow(/a checkpoint is taken between epochs; call it from onEpochEnd/);
    expect(fs.existsSync(dir)).toBe(false);
  });
});

describe('a checkpoint that does not fit is refused, and the learner is left as it was', () => {
  async function saved(options: ToyLearnerOptions = {}) {
    const dir = path.join(tmp(), 'ckpt');
    const learn = learner([], options);
    await learn.fit(1);
    await learn.save(dir);
    return dir;
  }

  async function refused(dir: string, pattern: RegExp, options: ToyLearnerOptions = {}) {
    const learn = learner([], { seed: 21, ...options });
    await learn.fit(1);
    const weights = weightsOf(learn.model);
    const state = await optimizerState(learn);
    const error = await learn.load(dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(pattern);
    expect(weightsOf(learn.model)).toEqual(weights);
    expect(await optimizerState(learn)).toEqual(state);
  }

  test('another architecture', async () => {
    await refused(
      await saved(),
      /weight 0 is .* \[3,16\] float32, but the learner's model has .* \[3,8\] float32: a different architecture\. Build the same model/,
      {
        hidden: 8,
      },
    );
    await refused(await saved(), /holds 4 weight tensors, but the learner's model has 2/, { hidden: 0 });
  });

  test('another optimizer, other metrics', async () => {
    await refused(await saved(), /holds the state of a Adam optimizer, but this learner's is SGD/, { optimizer: 'sgd' });
    await refused(await saved(), /was saved with metrics \[accuracy\], but this learner has \[\]/, { metrics: [] });
  });

  test('a corrupt or missing file, a newer format, no checkpoint at all', async () => {
    let dir = await saved();
    const weights = path.join(dir, 'weights.bin');
    const bytes = fs.readFileSync(weights);
    bytes[10] = (bytes[10] ?? 0) ^ 0xff;
    fs.writeFileSync(weights, bytes);
    await refused(dir, /weights\.bin is corrupt: its SHA-256 differs .* Save the checkpoint again/);

    dir = await saved();
    fs.truncateSync(path.join(dir, 'optimizer.bin'), 8);
    await refused(dir, /optimizer\.bin is corrupt: 8 bytes where learner\.json says \d+/);

    dir = await saved();
    fs.rmSync(path.join(dir, 'optimizer.bin'));
    await refused(dir, /cannot read .*optimizer\.bin \(ENOENT\): the checkpoint is incomplete/);

    dir = await saved();
    const jsonFile = path.join(dir, 'learner.json');
    fs.writeFileSync(jsonFile, fs.readFileSync(jsonFile, 'utf8').replace('"version": 1', '"version": 7'));
    await refused(dir, /learner\.json has format version 7, written by a newer @epochcast\/core; this one reads version 1\. Upgrade/);

    dir = await saved();
    fs.writeFileSync(path.join(dir, 'learner.json'), '{"format":"epochcast-checkpoint","version":1}');
    await refused(dir, /learner\.json is corrupt: savedAt must be a string/);

    dir = await saved();
    const described = JSON.parse(fs.readFileSync(path.join(dir, 'learner.json'), 'utf8'));
    described.optimizer.weights[0].dtype = 'bool';
    fs.writeFileSync(path.join(dir, 'learner.json'), JSON.stringify(described));
    await refused(dir, /learner\.json is corrupt: its tensors for optimizer\.bin take \d+ bytes, not the \d+ it records/);

    await refused(path.join(tmp(), 'nothing-here'), /no checkpoint at .*nothing-here \(the directory does not exist\)/);
    await refused(tmp(), /is not an epochcast checkpoint \(it has no learner\.json\)/);
  });

  test('save will not replace a directory of other files', async () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    const learn = learner();
    await expect(learn.save(dir)).rejects.toThrow(
      /already holds files and is not an epochcast checkpoint .* Pass an empty or new directory/,
    );
    expect(fs.readdirSync(dir)).toEqual(['notes.txt']);
  });
});
