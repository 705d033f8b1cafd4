// Reading ahead: an async source is at most `prefetch` batches ahead of the batch training, the next
// read starts before the current batch ends (so reading overlaps training), and however a pass ends
// — its length, batchesPerEpoch, a stop, an error — the source's return() runs and nothing leaks.
import { Callback, DataLoaders, type TrainingState } from '@epochcast/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { disposeStreamLearner, Instrumented, streamLearner, TensorsPerEpoch, toyArrays } from './sources-helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const TRAIN = toyArrays(256, 1); // 8 batches of 32
const VALID = toyArrays(64, 2);

/** Index of `entry` in the log, failing loudly when it is missing. */
function at(log: readonly string[], entry: string): number {
  const i = log.indexOf(entry);
  if (i < 0) throw new Error(`"${entry}" is not in the log: ${log.join(', ')}`);
  return i;
}

describe('reading ahead', () => {
  test('the source is never more than 2 batches ahead of the one training, and is 2 ahead once it can be', async () => {
    const train = new Instrumented(TRAIN, 32);
    const learn = streamLearner(DataLoaders.fromIterables(train.asyncPass), [train.loopLog()]);
    await learn.fit(2);
    expect(Math.max(...train.aheadAtBatchBegin)).toBe(2);
    expect(Math.min(...train.aheadAtBatchBegin)).toBeGreaterThanOrEqual(0);
    // By the second batch of an epoch the two after it have been read (the last two batches have fewer left).
    expect(train.aheadAtBatchBegin.slice(1, 6)).toEqual([2, 2, 2, 2, 2]);
    disposeStreamLearner(learn);
  });

  test.each([0, 1, 3])('prefetch: %i bounds it to that many', async (prefetch) => {
    const train = new Instrumented(TRAIN, 32);
    const learn = streamLearner(DataLoaders.fromIterables(train.asyncPass, undefined, { prefetch }), [train.loopLog()]);
    await learn.fit(1);
    expect(Math.max(...train.aheadAtBatchBegin)).toBe(prefetch);
    expect(learn.recorder.rawLosses).toHaveLength(8);
    disposeStreamLearner(learn);
  });

  test('the next batch is requested before the current one ends (overlap); with prefetch 0 only after it', async () => {
    const ahead = new Instrumented(TRAIN, 32, { waitMs: 1 });
    const learn = streamLearner(DataLoaders.fromIterables(ahead.asyncPass), [ahead.loopLog()]);
    await learn.fit(1);
    for (let i = 0; i < 7; i++) expect(at(ahead.log, `request ${i + 1}`)).toBeLessThan(at(ahead.log, `batchEnd ${i}`));
    disposeStreamLearner(learn);

    const onDemand = new Instrumented(TRAIN, 32, { waitMs: 1 });
    const learn0 = streamLearner(DataLoaders.fromIterables(onDemand.asyncPass, undefined, { prefetch: 0 }), [onDemand.loopLog()]);
    await learn0.fit(1);
    for (let i = 0; i < 7; i++) expect(at(onDemand.log, `request ${i + 1}`)).toBeGreaterThan(at(onDemand.log, `batchEnd ${i}`));
    disposeStreamLearner(learn0);
  });

  test('reads that wait on I/O progress while batches train: by each batch, the two after it have been read', async () => {
    // Each read needs a turn of the event loop and no time, as a file read's callbacks do. A
    // training step never gives the event loop a turn, so without the loop's own turns while a read
    // is under way, reads would progress only when the loop waits for one: it would never be ahead.
    const train = new Instrumented(TRAIN, 32, { ioTurns: 1 });
    const learn = streamLearner(DataLoaders.fromIterables(train.asyncPass), [train.loopLog()]);
    await learn.fit(2);
    // Ahead of the training batch: in the middle of each epoch, two (without the loop's turns: none, always).
    expect(train.aheadAtBatchBegin.slice(2, 6)).toEqual([2, 2, 2, 2]);
    expect(train.aheadAtBatchBegin.slice(10, 14)).toEqual([2, 2, 2, 2]);
    disposeStreamLearner(learn);
  });
});

describe('ending a pass', () => {
  test('batchesPerEpoch on a longer source: that many are read each epoch, no more, and return() closes each pass', async () => {
    const train = new Instrumented(TRAIN, 32);
    const learn = streamLearner(DataLoaders.fromIterables(train.asyncPass, undefined, { batchesPerEpoch: 3 }));
    await learn.fit(2);
    expect(train.read).toBe(6);
    expect(train.returned).toBe(2);
    const pass = ['open', 'request 0', 'read 0', 'request 1', 'read 1', 'request 2', 'read 2', 'return'];
    expect(train.log).toEqual([...pass, ...pass]);
    disposeStreamLearner(learn);
  });

  test('stop() mid-epoch: the batches read ahead are disposed and the source is closed by return()', async () => {
    const train = new Instrumented(TRAIN, 32, { waitMs: 2 });
    class StopAtBatch2 extends Callback {
      override onBatchEnd(s: TrainingState) {
        if (s.training && s.batch === 2) s.learner.stop('enough');
      }
    }
    const learn = streamLearner(DataLoaders.fromIterables(train.asyncPass, VALIDATION), [new StopAtBatch2()]);
    const before = tf.memory().numTensors;
    await learn.fit(3);
    expect(learn.state.status).toBe('stopped');
    expect(learn.recorder.rawLosses).toHaveLength(3);
    expect(train.returned).toBe(1);
    expect(train.log.at(-1)).toBe('return');
    expect(train.read).toBeLessThanOrEqual(5); // the 3 trained and at most 2 ahead
    learn.dispose();
    expect(tf.memory().numTensors).toBe(before);
    learn.model.dispose();
  });

  test('an error mid-epoch with batches read ahead: they are disposed too', async () => {
    const error = new Error('corrupt record 5');
    const train = new Instrumented(TRAIN, 32, { throwAt: 5, error });
    const learn = streamLearner(DataLoaders.fromIterables(train.asyncPass));
    const before = tf.memory().numTensors;
    await expect(learn.fit(1)).rejects.toBe(error);
    expect(learn.recorder.rawLosses).toHaveLength(5);
    learn.dispose();
    expect(tf.memory().numTensors).toBe(before);
    learn.model.dispose();
  });
});

const VALIDATION = () => new Instrumented(VALID, 32).asyncPass();

describe('no tensor leaks across epochs', () => {
  const sources: [string, () => DataLoaders][] = [
    ['an async iterable, read ahead', () => DataLoaders.fromIterables(new Instrumented(TRAIN, 32).asyncPass, VALIDATION)],
    [
      'a sync iterable',
      () => DataLoaders.fromIterables(new Instrumented(TRAIN, 32).syncPass, () => new Instrumented(VALID, 32).syncPass()),
    ],
    [
      'a tf.data.Dataset, read ahead, cut by batchesPerEpoch',
      () =>
        DataLoaders.fromDataset(
          tf.data.zip({ xs: tf.data.array(TRAIN.x), ys: tf.data.array(TRAIN.y) }).batch(32),
          tf.data.zip({ xs: tf.data.array(VALID.x), ys: tf.data.array(VALID.y) }).batch(32),
          { batchesPerEpoch: 5 },
        ),
    ],
  ];
  test.each(sources)('%s: tf.memory().numTensors is the same at the end of every epoch', async (_name, make) => {
    const tensors = new TensorsPerEpoch();
    const learn = streamLearner(make(), [tensors]);
    await learn.fit(4);
    // Epoch 0 creates the optimizer's state; from then on nothing may grow.
    expect(tensors.counts.slice(1)).toEqual([tensors.counts[1], tensors.counts[1], tensors.counts[1]]);
    disposeStreamLearner(learn);
  });
});
