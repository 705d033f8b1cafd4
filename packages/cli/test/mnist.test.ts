import { selectBackend } from '@epochcast/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, test } from 'vitest';
import { loadMnist } from '../src/mnist/digits.js';
import { DEMO_CONFIG, trainMnist } from '../src/mnist/train.js';

// Real digits from the `mnist` package on the backend the demo uses (wasm; cpu if wasm cannot
// load). A loop that never steps, steps with the wrong sign or mixes up batches stays near 10%.
beforeAll(async () => {
  await selectBackend({ log: false });
});

test('loads real, balanced, repeatable MNIST digits', () => {
  const a = loadMnist(500, 3);
  const b = loadMnist(500, 3);
  try {
    expect(a.x.shape).toEqual([500, 784]);
    expect(a.y.shape).toEqual([500, 10]);
    expect(a.classCounts.every((n) => n > 25)).toBe(true);
    const [min, max] = [a.x.min().dataSync()[0], a.x.max().dataSync()[0]];
    expect(min).toBe(0);
    expect(max).toBeLessThanOrEqual(1);
    expect(max).toBeGreaterThan(0.9);
    expect(tf.sum(tf.sub(a.x, b.x).abs()).dataSync()[0]).toBe(0);
    expect(
      tf
        .sum(a.y, 1)
        .dataSync()
        .every((v) => v === 1),
    ).toBe(true);
  } finally {
    tf.dispose([a.x, a.y, b.x, b.y]);
  }
});

test('a 3,000-digit subset trains past 85% in 2 epochs and leaks no tensors', async () => {
  const before = tf.memory().numTensors;
  const run = await trainMnist({ samples: 3000, epochs: 2, lrMax: 1e-2 });
  try {
    expect(run.history).toHaveLength(2);
    expect(run.trainSamples).toBe(2400);
    expect(run.validSamples).toBe(600);
    expect(run.validAccuracy).toBeGreaterThan(0.85);
    const [first, last] = [run.history[0], run.history[1]];
    expect(last?.validLoss).toBeLessThan(first?.validLoss ?? 0);
    // The demo's loss plot renders to a real PNG.
    const png = await (await run.learn.recorder.plotLosses()).png();
    expect(Buffer.from(png.subarray(0, 8)).toString('hex')).toBe('89504e470d0a1a0a');
  } finally {
    run.dispose();
  }
  expect(tf.memory().numTensors).toBe(before);
});

test('the demo configuration reaches at least 93% validation accuracy', async () => {
  const run = await trainMnist(DEMO_CONFIG);
  try {
    expect(run.trainSamples).toBe(8000);
    expect(run.validSamples).toBe(2000);
    expect(run.history).toHaveLength(DEMO_CONFIG.epochs);
    expect(run.validAccuracy).toBeGreaterThanOrEqual(0.93);
    expect(run.learn.recorder.formatStats()).toMatch(/^epoch\s+train_loss\s+valid_loss\s+accuracy\s+time/);
  } finally {
    run.dispose();
  }
});
