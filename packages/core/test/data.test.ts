import { ConfigError, type DataLoader, DataLoaders } from '@epochcast/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** x = sample index, y = 10 × index: lets a test see which samples a batch holds and that x/y stay paired. */
function indexed(n: number) {
  return { x: tf.range(0, n).reshape([n, 1]), y: tf.range(0, n).mul(10).reshape([n, 1]) };
}

function epochOrder(dls: DataLoaders<DataLoader, DataLoader>): { xs: number[]; ys: number[]; sizes: number[] } {
  const xs: number[] = [];
  const ys: number[] = [];
  const sizes: number[] = [];
  for (const b of dls.train.batches()) {
    xs.push(...b.xs.dataSync());
    ys.push(...b.ys.dataSync());
    sizes.push(b.xs.shape[0] as number);
    tf.dispose([b.xs, b.ys]);
  }
  return { xs, ys, sizes };
}

describe('DataLoaders.fromTensors', () => {
  test('splits by validPct, batches with a final partial batch, keeps x and y paired', () => {
    const { x, y } = indexed(100);
    const dls = DataLoaders.fromTensors(x, y, { validPct: 0.2, batchSize: 32, seed: 1 });
    expect(dls.train.size).toBe(80);
    expect(dls.valid.size).toBe(20);
    expect(dls.train.numBatches).toBe(3);
    const epoch = epochOrder(dls);
    expect(epoch.sizes).toEqual([32, 32, 16]);
    expect(epoch.ys).toEqual(epoch.xs.map((v) => v * 10));
    const valid = [...dls.valid.xs.dataSync()];
    // Train and valid are disjoint and together are every sample.
    expect(new Set([...epoch.xs, ...valid]).size).toBe(100);
    dls.dispose();
    tf.dispose([x, y]);
  });

  test('the same seed gives the same split and the same shuffles; each epoch is shuffled anew', () => {
    const { x, y } = indexed(50);
    const a = DataLoaders.fromTensors(x, y, { batchSize: 8, seed: 7 });
    const b = DataLoaders.fromTensors(x, y, { batchSize: 8, seed: 7 });
    const c = DataLoaders.fromTensors(x, y, { batchSize: 8, seed: 8 });
    expect([...a.valid.xs.dataSync()]).toEqual([...b.valid.xs.dataSync()]);
    expect([...a.valid.xs.dataSync()]).not.toEqual([...c.valid.xs.dataSync()]);
    const a1 = epochOrder(a).xs;
    const a2 = epochOrder(a).xs;
    expect(a1).toEqual(epochOrder(b).xs);
    expect(a2).toEqual(epochOrder(b).xs);
    expect(a2).not.toEqual(a1);
    expect([...a2].sort((p, q) => p - q)).toEqual([...a1].sort((p, q) => p - q));
    for (const d of [a, b, c]) d.dispose();
    tf.dispose([x, y]);
  });

  test('shuffle: false keeps the order; an explicit valid set is used as given', () => {
    const { x, y } = indexed(10);
    const v = indexed(4);
    const dls = DataLoaders.fromTensors(x, y, { valid: [v.x, v.y], batchSize: 4, shuffle: false });
    expect(epochOrder(dls).xs).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(epochOrder(dls).sizes).toEqual([4, 4, 2]);
    expect([...dls.valid.xs.dataSync()]).toEqual([0, 1, 2, 3]);
    dls.dispose();
    tf.dispose([x, y, v.x, v.y]);
  });

  test('leaks no tensors: the caller keeps its tensors, dispose() frees the copies, batches are the consumer’s', () => {
    const { x, y } = indexed(64);
    const start = tf.memory().numTensors;
    const dls = DataLoaders.fromTensors(x, y, { batchSize: 10 });
    expect(tf.memory().numTensors).toBe(start + 4);
    for (let i = 0; i < 3; i++) epochOrder(dls);
    expect(tf.memory().numTensors).toBe(start + 4);
    dls.dispose();
    expect(tf.memory().numTensors).toBe(start);
    expect(x.isDisposed).toBe(false);
    tf.dispose([x, y]);
  });

  const bad: [string, () => unknown, RegExp][] = [
    [
      'mismatched lengths',
      () => DataLoaders.fromTensors(tf.zeros([10, 2]), tf.zeros([9, 1])),
      /x and y must have the same number of samples; received 10 and 9/,
    ],
    ['empty data', () => DataLoaders.fromTensors(tf.zeros([0, 2]), tf.zeros([0, 1])), /x and y are empty \(0 samples\)/],
    [
      'batchSize 0',
      () => DataLoaders.fromTensors(tf.zeros([10, 2]), tf.zeros([10, 1]), { batchSize: 0 }),
      /batchSize must be an integer >= 1; received 0/,
    ],
    ['batchSize 2.5', () => DataLoaders.fromTensors(tf.zeros([10, 2]), tf.zeros([10, 1]), { batchSize: 2.5 }), /batchSize .* received 2.5/],
    [
      'validPct 0',
      () => DataLoaders.fromTensors(tf.zeros([10, 2]), tf.zeros([10, 1]), { validPct: 0 }),
      /validPct must be a number between 0 and 1 \(exclusive\); received 0/,
    ],
    ['validPct 1.5', () => DataLoaders.fromTensors(tf.zeros([10, 2]), tf.zeros([10, 1]), { validPct: 1.5 }), /validPct .* received 1.5/],
    [
      'validPct "0.2"',
      () => DataLoaders.fromTensors(tf.zeros([10, 2]), tf.zeros([10, 1]), { validPct: '0.2' as never }),
      /validPct .* received "0.2"/,
    ],
    [
      'validPct leaving nothing',
      () => DataLoaders.fromTensors(tf.zeros([2, 2]), tf.zeros([2, 1]), { validPct: 0.1 }),
      /leaves 0 for validation/,
    ],
    [
      'x not a tensor',
      () => DataLoaders.fromTensors([[1, 2]] as never, tf.zeros([1, 1])),
      /x must be a tf.Tensor; received an array of length 1/,
    ],
    [
      'valid and validPct',
      () => DataLoaders.fromTensors(tf.zeros([4, 2]), tf.zeros([4, 1]), { validPct: 0.5, valid: [tf.zeros([2, 2]), tf.zeros([2, 1])] }),
      /either validPct or valid, not both/,
    ],
    [
      'valid shape',
      () => DataLoaders.fromTensors(tf.zeros([4, 2]), tf.zeros([4, 1]), { valid: [tf.zeros([2, 3]), tf.zeros([2, 1])] }),
      /valid\[0\] must have the same per-sample shape as x/,
    ],
  ];
  test.each(bad)('%s → a ConfigError naming the argument and the value', (_name, call, message) => {
    expect(call).toThrow(ConfigError);
    expect(call).toThrow(message);
  });
});
