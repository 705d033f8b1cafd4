// DataLoaders.fromDataset and fromIterables: lengths (known, unknown, batchesPerEpoch), a fresh pass
// each epoch, no validation set, errors from the source and wrong batches, and option checks.
// Reading ahead, overlap, stopping and leaks are in prefetch.test.ts.
import { type Batch, Callback, ConfigError, DataLoaders, formatStatsTable, oneCycleSchedule, type TrainingState } from '@epochcast/core';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { EventRecorder } from './helpers.js';
import { batchAt, disposeStreamLearner, Instrumented, streamLearner, TensorsPerEpoch, toyArrays } from './sources-helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

afterEach(() => {
  vi.restoreAllMocks();
});

const TRAIN = toyArrays(128, 1); // 4 batches of 32
const VALID = toyArrays(64, 2); // 2 batches of 32

/** A tf.data.Dataset of { xs, ys } batches of 32 over the samples, its size known. */
function datasetOf(data: { x: number[][]; y: number[][] }) {
  return tf.data.zip({ xs: tf.data.array(data.x), ys: tf.data.array(data.y) }).batch(32);
}

/** The same batches from a generator: a dataset that does not know its size. */
function generatedDataset(data: { x: number[][]; y: number[][] }, reads: { count: number } = { count: 0 }) {
  return tf.data.generator(function* () {
    for (let i = 0; i < data.x.length / 32; i++) {
      reads.count++;
      yield batchAt(data, i, 32) as unknown as tf.TensorContainer;
    }
  });
}

/** Records `state.numBatches` and `totalSteps` as the fit sees them, and the training batches of each epoch. */
function lengthsSeen() {
  const seen: { numBatches: number; totalSteps: number; batches: number[] } = { numBatches: -1, totalSteps: -1, batches: [] };
  const cb = new (class extends Callback {
    override onTrainBegin(s: TrainingState) {
      seen.numBatches = s.numBatches;
      seen.totalSteps = s.totalSteps;
    }
    override onEpochBegin() {
      seen.batches.push(0);
    }
    override onBatchEnd(s: TrainingState) {
      if (s.training) seen.batches[seen.batches.length - 1] = s.batch + 1;
    }
  })();
  return { seen, cb };
}

describe('DataLoaders.fromDataset', () => {
  test('a dataset of known size: its length drives fitOneCycle, each epoch is a fresh pass, validation runs on the valid dataset', async () => {
    const data = DataLoaders.fromDataset(datasetOf(TRAIN), datasetOf(VALID));
    expect(data.train.numBatches).toBe(4);
    expect(data.valid?.numBatches).toBe(2);
    const tensors = new TensorsPerEpoch();
    const learn = streamLearner(data, [tensors]);
    await learn.fitOneCycle(3, { lrMax: 1e-2 });
    expect(learn.recorder.rawLosses).toHaveLength(12);
    expect(learn.state.totalSteps).toBe(12);
    const history = learn.recorder.history;
    expect(history).toHaveLength(3);
    for (const stats of history) {
      expect(stats.validLoss).toBeGreaterThan(0);
      expect(stats.metrics.accuracy).toBeGreaterThanOrEqual(0);
    }
    // The schedule spans the 12 steps the dataset's size promised: its last batch ran at the schedule's last step.
    expect(learn.recorder.lrs.at(-1)).toBeCloseTo(oneCycleSchedule(12, { lrMax: 1e-2 })(11).lr, 12);
    expect(new Set(tensors.counts.slice(1)).size).toBe(1);
    // learn.validate() streams the same valid dataset and agrees with the last epoch's validation.
    const validated = await learn.validate();
    expect(validated.validLoss).toBeCloseTo(history.at(-1)?.validLoss ?? Number.NaN, 5);
    disposeStreamLearner(learn);
  });

  test('a dataset of unknown size: fit runs (numBatches NaN); fitOneCycle and lrFind ask for batchesPerEpoch', async () => {
    const data = DataLoaders.fromDataset(generatedDataset(TRAIN), generatedDataset(VALID));
    expect(data.train.numBatches).toBeNaN();
    const { seen, cb } = lengthsSeen();
    const learn = streamLearner(data, [cb]);
    await learn.fit(2, { lr: 1e-2 });
    expect(seen.numBatches).toBeNaN();
    expect(seen.totalSteps).toBeNaN();
    expect(seen.batches).toEqual([4, 4]);
    expect(learn.recorder.rawLosses).toHaveLength(8);
    expect(learn.recorder.history.every((h) => h.validLoss > 0)).toBe(true);
    await expect(learn.fitOneCycle(1)).rejects.toThrow(ConfigError);
    await expect(learn.fitOneCycle(1)).rejects.toThrow(
      /fitOneCycle: the one-cycle schedule needs the number of training batches .* batchesPerEpoch/,
    );
    await expect(learn.lrFind()).rejects.toThrow(/lrFind: the sweep needs the number of training batches .* batchesPerEpoch/);
    disposeStreamLearner(learn);
  });

  test('batchesPerEpoch on a dataset of unknown size: each epoch takes that many and reads no more', async () => {
    const reads = { count: 0 };
    const data = DataLoaders.fromDataset(generatedDataset(TRAIN, reads), undefined, { batchesPerEpoch: 3 });
    expect(data.train.numBatches).toBe(3);
    const learn = streamLearner(data);
    await learn.fitOneCycle(2, { lrMax: 1e-2 });
    expect(learn.recorder.rawLosses).toHaveLength(6);
    expect(reads.count).toBe(6);
    disposeStreamLearner(learn);
  });

  test('an endless dataset (repeat()) needs batchesPerEpoch; with it, every epoch starts again from the first batch', async () => {
    expect(() => DataLoaders.fromDataset(datasetOf(TRAIN).repeat())).toThrow(/never ends \(size Infinity.*batchesPerEpoch/);
    const endless = datasetOf(TRAIN).repeat();
    const iterators = vi.spyOn(endless, 'iterator');
    const learn = streamLearner(DataLoaders.fromDataset(endless, undefined, { batchesPerEpoch: 6 }));
    await learn.fit(2);
    expect(learn.recorder.rawLosses).toHaveLength(12);
    expect(iterators).toHaveBeenCalledTimes(2);
    expect(learn.recorder.history.every((h) => Number.isNaN(h.validLoss))).toBe(true);
    disposeStreamLearner(learn);
  });

  test('bad datasets and options are ConfigErrors naming the argument and the fix', () => {
    const train = datasetOf(TRAIN);
    expect(() => DataLoaders.fromDataset([] as never)).toThrow(/train must be a tf.data.Dataset .* received an array of length 0/);
    expect(() => DataLoaders.fromDataset(train, { batchesPerEpoch: 3 } as never)).toThrow(/pass undefined in its place/);
    expect(() => DataLoaders.fromDataset(train, datasetOf(VALID).repeat())).toThrow(/the valid dataset must end/);
    expect(() => DataLoaders.fromDataset(train, undefined, { batchesPerEpoch: 9 })).toThrow(
      /batchesPerEpoch 9 is more than the train dataset's 4 batches/,
    );
    expect(() => DataLoaders.fromDataset(train, undefined, { batchesPerEpoch: 0 })).toThrow(
      /batchesPerEpoch must be an integer >= 1; received 0/,
    );
    expect(() => DataLoaders.fromDataset(train, undefined, { prefetch: -1 })).toThrow(/prefetch must be an integer >= 0; received -1/);
  });
});

describe('DataLoaders.fromIterables', () => {
  test.each([
    ['async', (s: Instrumented) => s.asyncPass],
    ['sync', (s: Instrumented) => s.syncPass],
  ])('%s generators: a fresh pass of each per epoch, unknown length, validation on the valid one', async (_kind, pass) => {
    const warn = vi.spyOn(console, 'warn');
    const train = new Instrumented(TRAIN, 32);
    const valid = new Instrumented(VALID, 32);
    const data = DataLoaders.fromIterables(pass(train), pass(valid));
    const learn = streamLearner(data);
    await learn.fit(3, { lr: 1e-2 });
    expect(train.opened).toBe(3);
    expect(valid.opened).toBe(3);
    expect(train.read).toBe(12);
    expect(train.log.filter((e) => e === 'end')).toHaveLength(3);
    expect(learn.recorder.history.map((h) => h.validLoss > 0)).toEqual([true, true, true]);
    expect((await learn.validate()).validLoss).toBeGreaterThan(0);
    expect(warn).not.toHaveBeenCalled(); // a source of unknown length is never "short"
    disposeStreamLearner(learn);
  });

  test('a function returning a promise of an iterable (a source that must open something first)', async () => {
    const train = new Instrumented(TRAIN, 32);
    const data = DataLoaders.fromIterables(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return train.asyncPass();
    });
    const learn = streamLearner(data);
    await learn.fit(2);
    expect(train.opened).toBe(2);
    expect(learn.recorder.rawLosses).toHaveLength(8);
    disposeStreamLearner(learn);
  });

  test('an array of batches, made fresh per epoch, and batchesPerEpoch for fitOneCycle', async () => {
    let made = 0;
    const data = DataLoaders.fromIterables(
      () => {
        made++;
        return [0, 1, 2, 3].map((i) => batchAt(TRAIN, i, 32));
      },
      undefined,
      { batchesPerEpoch: 4 },
    );
    const learn = streamLearner(data);
    await learn.fitOneCycle(2, { lrMax: 1e-2 });
    expect(made).toBe(2);
    expect(learn.recorder.rawLosses).toHaveLength(8);
    disposeStreamLearner(learn);
  });

  test('without a validation set: no validation phase, valid_loss #na# in the table, validate() says what is missing', async () => {
    const train = new Instrumented(TRAIN, 32);
    const events = new EventRecorder();
    const learn = streamLearner(DataLoaders.fromIterables(train.asyncPass), [events]);
    await learn.fit(2);
    expect(events.names()).not.toContain('onValidateBegin');
    const history = learn.recorder.history;
    expect(history.map((h) => h.validLoss)).toEqual([Number.NaN, Number.NaN]);
    expect(history[0]?.trainLoss).toBeGreaterThan(0);
    expect(formatStatsTable(history, learn.metricNames).split('\n')[1]).toMatch(/^0\s+\d\.\d{6}\s+#na#\s+#na#/);
    await expect(learn.validate()).rejects.toThrow(/Learner.validate: the data has no validation set/);
    disposeStreamLearner(learn);
  });

  test('a source shorter than batchesPerEpoch ends its epochs early, says so once, and fitOneCycle still completes', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const train = new Instrumented(TRAIN, 32);
    const learn = streamLearner(DataLoaders.fromIterables(train.asyncPass, undefined, { batchesPerEpoch: 6 }));
    await learn.fitOneCycle(3, { lrMax: 1e-2 });
    expect(learn.state.status).toBe('completed');
    expect(learn.recorder.rawLosses).toHaveLength(12);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/training source ended after 4 batches in epoch 0, short of the 6/);
    disposeStreamLearner(learn);
  });

  test('the same generator object returned every epoch: the second, empty epoch is an error saying why', async () => {
    const once = new Instrumented(TRAIN, 32).asyncPass();
    const learn = streamLearner(DataLoaders.fromIterables(() => once));
    const error = await learn.fit(2).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).toMatch(/the training source yielded no batches in epoch 1\. .* must return a new iterable on each call/);
    expect(learn.state.status).toBe('failed');
    disposeStreamLearner(learn);
  });

  test('bad arguments are ConfigErrors naming the argument and the fix', async () => {
    const pass = new Instrumented(TRAIN, 32).asyncPass;
    expect(() => DataLoaders.fromIterables([batchAt(TRAIN, 0, 32)] as never)).toThrow(
      /makeTrain must be a function returning a fresh iterable/,
    );
    expect(() => DataLoaders.fromIterables(pass, { batchesPerEpoch: 4 } as never)).toThrow(
      /makeValid must be a function.*pass undefined in its place/,
    );
    expect(() => DataLoaders.fromIterables(pass, undefined, { batchesPerEpoch: 1.5 })).toThrow(
      /batchesPerEpoch must be an integer >= 1; received 1.5/,
    );
    const learn = streamLearner(DataLoaders.fromIterables(() => 42 as never));
    await expect(learn.fit(1)).rejects.toThrow(/makeTrain\(\) must return an iterable or async iterable .* it returned 42/);
    disposeStreamLearner(learn);
  });
});

describe('a source that fails or yields a wrong batch', () => {
  test('an error thrown mid-epoch fails the fit with that very error; onTrainEnd sees it; nothing leaks', async () => {
    const error = new Error('EIO: i/o error, read');
    const train = new Instrumented(TRAIN, 32, { batches: 4, throwAt: 2, error });
    const events = new EventRecorder();
    const learn = streamLearner(DataLoaders.fromIterables(train.asyncPass), [events]);
    const before = tf.memory().numTensors;
    await expect(learn.fit(2)).rejects.toBe(error);
    expect(learn.state.status).toBe('failed');
    expect(learn.state.error).toBe(error);
    expect(events.states.at(-1)).toMatchObject({ event: 'onTrainEnd', status: 'failed', error });
    expect(learn.recorder.rawLosses).toHaveLength(2);
    learn.dispose(); // the optimizer's state is the only thing the fit kept
    expect(tf.memory().numTensors).toBe(before);
    learn.model.dispose();
  });

  const wrong: [string, (i: number) => unknown, RegExp][] = [
    [
      'xs that do not fit the model',
      () => ({ xs: tf.zeros([32, 4]), ys: tf.zeros([32, 3]) }),
      /training batch 0 of epoch 0 \(counting from 0\): xs has per-sample shape \[4\] \(batch \[32,4\]\), but the model takes \[3\] \(input shape \[null,3\]\)/,
    ],
    [
      'single samples instead of batches',
      () => ({ xs: tf.zeros([3]), ys: tf.zeros([3]) }),
      /xs has per-sample shape \[\] \(batch \[3\]\), but the model takes \[3\].*single samples rather than batches.*\.batch\(32\)/,
    ],
    [
      'ys changing shape at batch 2',
      (i) => ({ xs: tf.zeros([32, 3]), ys: tf.zeros([32, i === 2 ? 2 : 3]) }),
      /training batch 2 of epoch 0 \(counting from 0\): ys has per-sample shape \[2\] float32 \(batch \[32,2\]\), but training batch 0 of epoch 0 had \[3\] float32/,
    ],
    [
      'xs changing dtype at batch 1',
      (i) => ({ xs: tf.zeros([32, 3], i === 1 ? 'int32' : 'float32'), ys: tf.zeros([32, 3]) }),
      /training batch 1 of epoch 0 .*: xs has per-sample shape \[3\] int32 \(batch \[32,3\]\), but training batch 0 of epoch 0 had \[3\] float32/,
    ],
    [
      'xs and ys of different lengths',
      () => ({ xs: tf.zeros([32, 3]), ys: tf.zeros([31, 3]) }),
      /xs and ys must hold the same number of samples.*\[32,3\].*\[31,3\]/,
    ],
    [
      'an array instead of { xs, ys }',
      () => [tf.zeros([32, 3]), tf.zeros([32, 3])],
      /training batch 0 of epoch 0 \(counting from 0\) is not a batch: expected \{ xs, ys \}; received an array of length 2/,
    ],
    ['numbers instead of tensors', () => ({ xs: [[1, 2, 3]], ys: [[1, 0, 0]] }), /xs must be a tf.Tensor; received an array of length 1/],
  ];
  test.each(wrong)('%s: an error naming the batch and the shapes, the tensors disposed', async (_name, make, message) => {
    const learn = streamLearner(
      DataLoaders.fromIterables(async function* () {
        for (let i = 0; i < 4; i++) yield make(i) as Batch;
      }),
    );
    const before = tf.memory().numTensors;
    const error = await learn.fit(1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).toMatch(message);
    learn.dispose();
    expect(tf.memory().numTensors).toBe(before);
    learn.model.dispose();
  });

  test('a validation batch must match the training batches too', async () => {
    const learn = streamLearner(
      DataLoaders.fromIterables(
        () => [batchAt(TRAIN, 0, 32)],
        () => [{ xs: tf.zeros([8, 3]), ys: tf.zeros([8, 5]) }],
      ),
    );
    await expect(learn.fit(1)).rejects.toThrow(
      /validation batch 0 of epoch 0 .*ys has per-sample shape \[5\].*training batch 0 of epoch 0 had \[3\]/,
    );
    disposeStreamLearner(learn);
  });
});
