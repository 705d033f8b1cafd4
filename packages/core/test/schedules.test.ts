import { accuracy, Callback, oneCycleSchedule, SmoothenValue, suggestLr, type TrainingState } from '@epochcast/core';
import { toyLearner } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('one-cycle', () => {
  const cos = (start: number, end: number, pct: number) => end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);

  test('start, peak and end values follow the formulas', () => {
    const lrMax = 3e-3;
    const total = 1000;
    const at = oneCycleSchedule(total, { lrMax });
    const warmup = Math.floor(total * 0.3);
    expect(at(0).lr).toBeCloseTo(lrMax / 25, 15);
    expect(at(0).mom).toBeCloseTo(0.95, 15);
    expect(at(warmup).lr).toBeCloseTo(lrMax, 15);
    expect(at(warmup).mom).toBeCloseTo(0.85, 15);
    expect(at(total).lr).toBeCloseTo(lrMax / 25e4, 15);
    expect(at(total).mom).toBeCloseTo(0.95, 15);
    // Halfway through each phase the cosine is at the midpoint.
    expect(at(warmup / 2).lr).toBeCloseTo(cos(lrMax / 25, lrMax, 0.5), 15);
    expect(at(warmup + (total - warmup) / 2).lr).toBeCloseTo(cos(lrMax, lrMax / 25e4, 0.5), 15);
    expect(at(warmup + (total - warmup) / 2).mom).toBeCloseTo(0.9, 15);
  });

  test('honours pctStart, divFactor, finalDiv and moms', () => {
    const at = oneCycleSchedule(100, { lrMax: 1, pctStart: 0.5, divFactor: 10, finalDiv: 100, moms: [0.9, 0.8] });
    expect(at(0).lr).toBeCloseTo(0.1, 12);
    expect(at(0).mom).toBeCloseTo(0.9, 12);
    expect(at(50).lr).toBeCloseTo(1, 12);
    expect(at(50).mom).toBeCloseTo(0.8, 12);
    expect(at(100).lr).toBeCloseTo(0.01, 12);
  });

  test('fitOneCycle sets exactly these values on every training batch (lr and Adam beta1)', async () => {
    const seen: { step: number; lr: number; mom: number; beta1: number }[] = [];
    class Spy extends Callback {
      override onBackwardBegin(s: TrainingState) {
        const beta1 = (s.learner.optimizer.getConfig() as { beta1: number }).beta1;
        seen.push({ step: s.step, lr: s.lr, mom: s.mom, beta1 });
      }
    }
    const learn = toyLearner([new Spy()], { samples: 256, batchSize: 32, metrics: [] });
    await learn.fitOneCycle(3, { lrMax: 1e-2 });
    const total = 3 * learn.data.train.numBatches;
    const at = oneCycleSchedule(total, { lrMax: 1e-2 });
    expect(seen).toHaveLength(total);
    for (const s of seen) {
      expect(s.lr).toBeCloseTo(at(s.step).lr, 12);
      expect(s.mom).toBeCloseTo(at(s.step).mom, 12);
      expect(s.beta1).toBeCloseTo(at(s.step).mom, 12);
    }
    expect(learn.recorder.lrs).toEqual(seen.map((s) => s.lr));
    expect(learn.state.schedule).toMatch(/^one-cycle lrMax=0.01/);
  });

  test('SGD with momentum follows the momentum schedule too', async () => {
    const learn = toyLearner([], { samples: 128, batchSize: 32, metrics: [], optimizer: (lr) => tf.train.momentum(lr, 0.9) });
    await learn.fitOneCycle(2, { lrMax: 0.05 });
    const at = oneCycleSchedule(2 * learn.data.train.numBatches, { lrMax: 0.05 });
    learn.recorder.moms.forEach((m, i) => {
      expect(m).toBeCloseTo(at(i).mom, 12);
    });
  });
});

describe('smoothing', () => {
  test("SmoothenValue is fastai's debiased moving average", () => {
    const sv = new SmoothenValue(0.98);
    const values = [2, 1.5, 1.2, 3, 0.7];
    let avg = 0;
    values.forEach((v, i) => {
      avg = 0.98 * avg + 0.02 * v;
      expect(sv.add(v)).toBeCloseTo(avg / (1 - 0.98 ** (i + 1)), 12);
    });
    expect(new SmoothenValue().add(5)).toBeCloseTo(5, 12);
  });

  test("the Recorder's losses are the smoothed raw losses, and train_loss is the last one of each epoch", async () => {
    const learn = toyLearner([], { samples: 256, batchSize: 32, metrics: [accuracy] });
    await learn.fit(3, { lr: 1e-2 });
    const sv = new SmoothenValue(0.98);
    const expected = learn.recorder.rawLosses.map((l) => sv.add(l));
    expect(learn.recorder.losses).toHaveLength(3 * learn.data.train.numBatches);
    learn.recorder.losses.forEach((l, i) => {
      expect(l).toBeCloseTo(expected[i] as number, 10);
    });
    learn.recorder.history.forEach((stats, epoch) => {
      expect(stats.trainLoss).toBe(learn.recorder.losses[(epoch + 1) * learn.data.train.numBatches - 1]);
    });
  });
});

describe('lrFind', () => {
  test('sweeps exponentially, restores the weights bit for bit and leaves the optimizer untouched', async () => {
    const learn = toyLearner([], { samples: 512, batchSize: 16, metrics: [] });
    await learn.fit(1, { lr: 1e-3 });
    const optimizerBefore = learn.optimizer;
    const optimizerState = (await optimizerBefore.getWeights()).map((w) => w.tensor.dataSync().slice());
    const before = learn.model.getWeights().map((w) => w.dataSync().slice());
    const history = learn.recorder.history;
    const tensors = tf.memory().numTensors;

    const found = await learn.lrFind({ numIt: 60, stopDiv: false });

    // No tensor of the sweep (its optimizer's state, the weight snapshot) is left behind.
    expect(tf.memory().numTensors).toBe(tensors);
    expect(learn.model.getWeights().map((w) => w.dataSync().slice())).toEqual(before);
    expect(learn.optimizer).toBe(optimizerBefore);
    expect((await learn.optimizer.getWeights()).map((w) => w.tensor.dataSync().slice())).toEqual(optimizerState);
    expect(found.lrs).toHaveLength(60);
    expect(found.lrs[0]).toBeCloseTo(1e-7, 15);
    expect(found.lrs.at(-1)).toBeCloseTo(10, 9);
    for (let i = 1; i < found.lrs.length; i++) {
      expect((found.lrs[i] as number) / (found.lrs[i - 1] as number)).toBeCloseTo((10 / 1e-7) ** (1 / 59), 9);
    }
    expect(found.suggestedLr).toBeGreaterThan(1e-5);
    expect(found.suggestedLr).toBeLessThan(10);
    // The fit's own record is kept; the sweep is stored apart.
    expect(learn.recorder.history).toBe(history);
    expect(learn.recorder.lrFindResult).toEqual(found);
  });

  test('stops early when the loss diverges (smoothed loss > 4 × best)', async () => {
    const learn = toyLearner([], { samples: 512, batchSize: 16, metrics: [], optimizer: 'sgd' });
    const found = await learn.lrFind({ startLr: 1e-3, endLr: 1e6, numIt: 100 });
    expect(found.lrs.length).toBeLessThan(100);
    const best = Math.min(...found.losses.filter(Number.isFinite));
    const last = found.losses.at(-1) as number;
    expect(Number.isNaN(last) || last > 4 * best).toBe(true);
  });

  test('the suggestion is the steepest descent of loss against log lr', () => {
    const lrs = Array.from({ length: 100 }, (_, i) => 1e-6 * 10 ** (i / 15));
    // A loss curve falling fastest around lr = 1e-3 (i = 45).
    const losses = lrs.map((lr) => 2 - Math.tanh((Math.log10(lr) + 3) * 2));
    const { suggestedLr, minLossLr } = suggestLr(lrs, losses);
    expect(Math.log10(suggestedLr)).toBeCloseTo(-3, 1);
    expect(minLossLr).toBeCloseTo((lrs.at(-1) as number) / 10, 9);
  });
});
