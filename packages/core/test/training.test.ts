import { accuracy, Callback, errorRate, formatStatsTable, formatTime, Learner, mae, mse, type TrainingState } from '@epochcast/core';
import { toyLearner, toyModel } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('training', () => {
  test('learns the toy task; metrics are named by function name and consistent', async () => {
    const learn = toyLearner([], { samples: 1024, batchSize: 32, metrics: [accuracy, errorRate] });
    await learn.fitOneCycle(6, { lrMax: 3e-2 });
    const last = learn.recorder.history.at(-1);
    expect(last?.metrics.accuracy).toBeGreaterThan(0.9);
    expect((last?.metrics.accuracy ?? 0) + (last?.metrics.errorRate ?? 0)).toBeCloseTo(1, 6);
    expect(last?.validLoss).toBeLessThan(learn.recorder.history[0]?.validLoss ?? 0);
    const check = await learn.validate();
    expect(check.validLoss).toBeCloseTo(last?.validLoss ?? 0, 5);
    expect(check.metrics.accuracy).toBeCloseTo(last?.metrics.accuracy ?? 0, 6);
  });

  test('sparse labels and regression losses/metrics work', async () => {
    const { x } = { x: tf.randomUniform([200, 3], 0, 1, 'float32', 5) };
    const sparse = tf.argMax(x, 1).reshape([200, 1]).toFloat();
    const { DataLoaders } = await import('@epochcast/core');
    const dls = DataLoaders.fromTensors(x, sparse, { batchSize: 20 });
    const learn = new Learner({ model: toyModel(), data: dls, loss: 'sparseCategoricalCrossentropy', metrics: [accuracy] });
    await learn.fit(8, { lr: 2e-2 });
    expect(learn.recorder.history.at(-1)?.metrics.accuracy).toBeGreaterThan(0.7);

    const target = x.sum(1, true);
    const reg = DataLoaders.fromTensors(x, target, { batchSize: 20 });
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 1, kernelInitializer: 'zeros' })] });
    const r = new Learner({ model, data: reg, loss: 'meanSquaredError', metrics: [mse, mae] });
    await r.fit(20, { lr: 5e-2 });
    const stats = r.recorder.history.at(-1);
    expect(stats?.metrics.mse).toBeCloseTo(stats?.validLoss ?? -1, 5);
    expect(stats?.metrics.mse).toBeLessThan(0.01);
    tf.dispose([x, sparse, target]);
    dls.dispose();
    reg.dispose();
  });

  test('no tensor leaks: tf.memory().numTensors is the same after epoch 1 and after epoch 5', async () => {
    const counts: number[] = [];
    class Count extends Callback {
      override onEpochEnd(_s: TrainingState) {
        counts.push(tf.memory().numTensors);
      }
    }
    const learn = toyLearner([new Count()], { samples: 300, batchSize: 32, metrics: [accuracy, errorRate] });
    await learn.fitOneCycle(5, { lrMax: 1e-2 });
    expect(counts).toHaveLength(5);
    expect(counts[4]).toBe(counts[0]);
    const after = tf.memory().numTensors;
    await learn.fit(3);
    await learn.lrFind({ numIt: 20 });
    expect(tf.memory().numTensors).toBe(after);
  });

  test('the loop yields to the event loop: timers fire during a fit', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const learn = toyLearner([], { samples: 4096, batchSize: 16, metrics: [], yieldEveryMs: 20 });
    const started = process.cpuUsage();
    await learn.fit(2);
    const { user, system } = process.cpuUsage(started);
    const cpuMs = (user + system) / 1000;
    clearInterval(timer);
    // At least one tick per ~50 ms of training (yield every 20 ms, timer every 5 ms). Counted
    // against the process's CPU time, not the wall clock: on a loaded machine the process waits
    // for a core, and no timer of its own can fire while it waits.
    expect(cpuMs).toBeGreaterThan(200);
    expect(ticks).toBeGreaterThan(cpuMs / 50);
  });

  test('hooks get numbers, not tensors', async () => {
    const types = new Set<string>();
    class Types extends Callback {
      override onBatchEnd(s: TrainingState) {
        for (const key of ['loss', 'smoothLoss', 'lr', 'mom', 'epoch', 'batch', 'step'] as const) types.add(typeof s[key]);
      }
    }
    await toyLearner([new Types()], { samples: 64, batchSize: 16, metrics: [] }).fit(1);
    expect([...types]).toEqual(['number']);
  });
});

describe('the fastai table', () => {
  test('formatStats prints epoch, losses with 6 decimals, metrics and mm:ss', async () => {
    const learn = toyLearner([], { samples: 128, batchSize: 32, metrics: [accuracy] });
    await learn.fit(2);
    const lines = learn.recorder.formatStats().split('\n');
    expect(lines[0]).toMatch(/^epoch\s+train_loss\s+valid_loss\s+accuracy\s+time$/);
    expect(lines[1]).toMatch(/^0\s+\d\.\d{6}\s+\d\.\d{6}\s+\d\.\d{6}\s+00:0\d$/);
    expect(lines[2]).toMatch(/^1\s/);
    // Columns line up: every value starts where its header starts.
    const col = (line: string, n: number) => [...line.matchAll(/\S+/g)][n]?.index;
    for (let c = 0; c < 5; c++) expect(col(lines[1] as string, c)).toBe(col(lines[0] as string, c));
  });

  test('formatTime and #na# for a missing value', () => {
    expect(formatTime(0)).toBe('00:00');
    expect(formatTime(61_400)).toBe('01:01');
    expect(formatTime(3_725_000)).toBe('1:02:05');
    const table = formatStatsTable([
      { epoch: 0, totalEpochs: 1, trainLoss: 0.5, validLoss: Number.NaN, metrics: { accuracy: 0.91 }, lr: 1e-3, timeMs: 5_000 },
    ]);
    expect(table).toBe('epoch  train_loss  valid_loss  accuracy  time\n0      0.500000    #na#        0.910000  00:05');
  });
});
