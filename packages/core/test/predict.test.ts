import { ConfigError, type DataLoader, DataLoaders, Learner } from '@epochcast/core';
import { disposeToyLearner, toyData, toyLearner, toyModel } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const made: Learner[] = [];
afterEach(() => {
  for (const learn of made.splice(0)) disposeToyLearner(learn);
});

async function trained(): Promise<Learner> {
  const learn = toyLearner([], { samples: 200, batchSize: 16 });
  made.push(learn);
  await learn.fit(1, { lr: 1e-2 });
  return learn;
}

/** `model.predict`, tfjs's own inference, as the reference. */
function reference(learn: Learner, x: tf.Tensor): number[] {
  return tf.tidy(() => Array.from((learn.model.predict(x) as tf.Tensor).dataSync()));
}

/** Equal to float32 rounding: the batches of a forward pass may sum in another order than model.predict's. */
function expectClose(actual: tf.Tensor, expected: number[]): void {
  const values = Array.from(actual.dataSync());
  expect(values).toHaveLength(expected.length);
  for (let i = 0; i < values.length; i++) expect(values[i]).toBeCloseTo(expected[i] as number, 6);
}

describe('learn.predict', () => {
  test('gives model.predict’s outputs, batch by batch whatever the batch size, and leaves one tensor: the result', async () => {
    const learn = await trained();
    const { x, y } = toyData(37, 5);
    const expected = reference(learn, x);
    for (const batchSize of [undefined, 1, 10, 64]) {
      const before = tf.memory().numTensors;
      const preds = await learn.predict(x, batchSize === undefined ? undefined : { batchSize });
      expect(tf.memory().numTensors).toBe(before + 1);
      expect(preds.shape).toEqual([37, 3]);
      expectClose(preds, expected);
      preds.dispose();
    }
    tf.dispose([x, y]);
  });

  test('runs the model in inference mode: dropout is off', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [3], units: 32, activation: 'relu' }),
        tf.layers.dropout({ rate: 0.5 }),
        tf.layers.dense({ units: 3 }),
      ],
    });
    const { x, y } = toyData(40, 2);
    const learn = new Learner({ model, data: DataLoaders.fromTensors(x, y), loss: 'meanSquaredError' });
    const [a, b] = [await learn.predict(x), await learn.predict(x)];
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    const expected = reference(learn, x);
    expectClose(a, expected);
    tf.dispose([a, b, x, y]);
    learn.data.dispose();
    model.dispose();
  });

  test('bad input: a clear error', async () => {
    const learn = await trained();
    await expect(learn.predict([[1, 2, 3]] as unknown as tf.Tensor)).rejects.toThrow(/learn\.predict: x must be a tf\.Tensor/);
    const empty = tf.zeros([0, 3]);
    await expect(learn.predict(empty)).rejects.toThrow(/x must hold at least one sample .* received shape \[0,3\]/);
    empty.dispose();
    const x = tf.ones([2, 3]);
    await expect(learn.predict(x, { batchSize: 0 })).rejects.toBeInstanceOf(ConfigError);
    x.dispose();
  });
});

describe('learn.getPreds', () => {
  test('over a streamed source: one fresh pass in the source’s own batches, matching the model; two tensors left', async () => {
    const { x, y } = toyData(40, 2);
    const passes: number[] = [];
    // An async generator of 16-sample batches, as a reader of files would be; each call is a new pass.
    const batches = async function* () {
      passes.push(passes.length);
      for (let start = 0; start < 40; start += 16) {
        const size = Math.min(16, 40 - start);
        yield { xs: x.slice(start, size), ys: y.slice(start, size) };
      }
    };
    const learn = new Learner({ model: toyModel(), data: DataLoaders.fromIterables(batches, batches), loss: 'categoricalCrossentropy' });
    const before = tf.memory().numTensors;
    const { preds, targets } = await learn.getPreds();
    expect(tf.memory().numTensors).toBe(before + 2);
    expect(passes).toHaveLength(1);
    expect(preds.shape).toEqual([40, 3]);
    expect(Array.from(targets.dataSync())).toEqual(Array.from(y.dataSync()));
    expectClose(preds, reference(learn, x));
    tf.dispose([preds, targets, x, y]);
    learn.dispose();
    learn.model.dispose();
  });

  test('over the validation set: predictions and the targets, in the loader’s order; two tensors left, the results', async () => {
    const learn = await trained();
    const before = tf.memory().numTensors;
    const { preds, targets } = await learn.getPreds();
    expect(tf.memory().numTensors).toBe(before + 2);
    // The toy learner's data is in memory: its loaders hold the tensors.
    const valid = learn.data.valid as DataLoader;
    expect(preds.shape).toEqual([valid.size, 3]);
    expect(Array.from(targets.dataSync())).toEqual(Array.from(valid.ys.dataSync()));
    const expected = reference(learn, valid.xs);
    expectClose(preds, expected);
    tf.dispose([preds, targets]);
  });

  test('{ valid: false }: over the training set in its stored order, not shuffled, and the training shuffle untouched', async () => {
    const learn = await trained();
    const train = learn.data.train as DataLoader;
    const { preds, targets } = await learn.getPreds({ valid: false, batchSize: 7 });
    expect(preds.shape).toEqual([train.size, 3]);
    expect(Array.from(targets.dataSync())).toEqual(Array.from(train.ys.dataSync()));
    const expected = reference(learn, train.xs);
    expectClose(preds, expected);
    tf.dispose([preds, targets]);
    await expect(learn.getPreds({ valid: 'yes' as unknown as boolean })).rejects.toThrow(/learn\.getPreds: valid must be true/);
    // The training order of the next epoch is what it would have been without getPreds.
    const twin = await trained();
    await learn.fit(1, { lr: 1e-2 });
    await twin.fit(1, { lr: 1e-2 });
    expect(learn.recorder.rawLosses).toEqual(twin.recorder.rawLosses);
  });
});
