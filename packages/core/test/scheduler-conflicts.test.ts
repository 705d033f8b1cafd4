// Two setters of one hyper-parameter in one fit (issue 20 item 8): a ConfigError naming both, the
// hyper-parameter and the fix, before any batch; setters of different hyper-parameters still train.
import {
  Callback,
  ConfigError,
  fitWithCallbacks,
  type HyperParamName,
  type Learner,
  oneCycleSchedule,
  ParamScheduler,
  ReduceLROnPlateau,
  type TrainingState,
  tfjsCallback,
} from '@epochcast/core';
import { toyData, toyLearner, toyModel } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { weightsOf } from './helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Counts the hooks it sees: a refused fit runs none of them, and no batch. */
class HookCounter extends Callback {
  trainBegins = 0;
  batches = 0;
  trainEnds = 0;
  override onTrainBegin() {
    this.trainBegins++;
  }
  override onBatchBegin() {
    this.batches++;
  }
  override onTrainEnd() {
    this.trainEnds++;
  }
}

/** A callback of the user's own that sets something other than lr and mom, and says so. */
class WeightDecaySchedule extends Callback {
  override setsHyperParams: readonly HyperParamName[] = ['wd'];
  batches = 0;
  override onBatchBegin(s: TrainingState) {
    if (s.training) this.batches++;
  }
}

const constant = (value: number) => () => value;

/** Runs `start` on `learn` and expects it refused before the first batch, with a message matching every pattern. */
async function expectRefused(learn: Learner, counter: HookCounter, start: () => Promise<unknown>, ...patterns: RegExp[]) {
  const before = weightsOf(learn.model);
  const lrBefore = learn.lr;
  const failure = start();
  await expect(failure).rejects.toBeInstanceOf(ConfigError);
  const message = await failure.then(
    () => '',
    (error: Error) => error.message,
  );
  for (const pattern of patterns) expect(message).toMatch(pattern);
  expect({ trainBegins: counter.trainBegins, batches: counter.batches, trainEnds: counter.trainEnds }).toEqual({
    trainBegins: 0,
    batches: 0,
    trainEnds: 0,
  });
  expect(weightsOf(learn.model)).toEqual(before);
  expect(learn.lr).toBe(lrBefore);
  expect(learn.state.step).toBe(0);
  expect(learn.recorder.history).toHaveLength(0);
  return message;
}

describe('two setters of one hyper-parameter are refused before the first batch', () => {
  test('two ParamSchedulers on lr: one attached to the learner, one passed to fit', async () => {
    const counter = new HookCounter();
    const learn = toyLearner([counter, new ParamScheduler({ lr: constant(1e-2) })]);
    const message = await expectRefused(
      learn,
      counter,
      () => learn.fit(2, { callbacks: [new ParamScheduler({ lr: constant(1e-3) })] }),
      /^fit: ParamScheduler \(attached to the learner\) and another ParamScheduler \(passed to this fit\) would both set lr during this fit, so one would silently override the other\./,
      /Keep one of them \(learn\.removeCallback\('ParamScheduler'\) or leave ParamScheduler out of this fit's callbacks\)/,
      /or give each its own hyper-parameter: new ParamScheduler\(\{ lr \}\) and new ParamScheduler\(\{ mom \}\)\.$/,
    );
    expect(message).not.toMatch(/mom during/);
  });

  test('two ParamSchedulers on mom, both attached; a step => { lr, mom } schedule sets both', async () => {
    const counter = new HookCounter();
    const learn = toyLearner([counter, new ParamScheduler({ mom: constant(0.9) }), new ParamScheduler({ mom: constant(0.8) })]);
    await expectRefused(
      learn,
      counter,
      () => learn.fit(1),
      /^fit: ParamScheduler \(attached to the learner\) and another ParamScheduler \(attached to the learner\) would both set mom during this fit/,
      /Keep one of them \(learn\.removeCallback\('ParamScheduler'\)\), or give each its own hyper-parameter/,
    );
    const both = toyLearner([counter, new ParamScheduler(() => ({ lr: 1e-3, mom: 0.9 }))]);
    await expectRefused(
      both,
      counter,
      () => both.fit(1, { callbacks: [new ParamScheduler({ mom: constant(0.8) })] }),
      /would both set mom during this fit/,
    );
  });

  test('fitOneCycle and a ParamScheduler on lr passed to it: the fix is fit() or fitOneCycle without it', async () => {
    const counter = new HookCounter();
    const learn = toyLearner([counter]);
    await expectRefused(
      learn,
      counter,
      () => learn.fitOneCycle(2, { lrMax: 1e-2, callbacks: [new ParamScheduler({ lr: constant(1e-3) })] }),
      /^fitOneCycle: ParamScheduler \(passed to this fit\) and fitOneCycle's one-cycle schedule \(one-cycle lrMax=0\.01 pctStart=0\.3 divFactor=25\) would both set lr; the schedule sets it before every batch, so one would silently override the other\./,
      /Use learn\.fit\(epochs, \{ lr \}\) with ParamScheduler, or fitOneCycle without it \(leave ParamScheduler out of this fit's callbacks\)\.$/,
    );
  });

  test('fitOneCycle and a ParamScheduler on mom attached to the learner', async () => {
    const counter = new HookCounter();
    const learn = toyLearner([counter, new ParamScheduler({ mom: constant(0.9) })]);
    await expectRefused(
      learn,
      counter,
      () => learn.fitOneCycle(1),
      /^fitOneCycle: ParamScheduler \(attached to the learner\) and fitOneCycle's one-cycle schedule \(one-cycle lrMax=0\.003.*\) would both set mom;/,
      /or fitOneCycle without it \(learn\.removeCallback\('ParamScheduler'\)\)\.$/,
    );
  });

  test('ReduceLROnPlateau and a ParamScheduler on lr under plain fit, in either order', async () => {
    const counter = new HookCounter();
    const learn = toyLearner([counter, new ReduceLROnPlateau()]);
    await expectRefused(
      learn,
      counter,
      () => learn.fit(2, { lr: 1e-2, callbacks: [new ParamScheduler({ lr: constant(1e-3) })] }),
      /^fit: ReduceLROnPlateau \(attached to the learner\) and ParamScheduler \(passed to this fit\) would both set lr during this fit/,
      /Keep one of them \(learn\.removeCallback\('ReduceLROnPlateau'\) or leave ParamScheduler out of this fit's callbacks\)\.$/,
    );
    const reversed = toyLearner([counter, new ParamScheduler({ lr: constant(1e-3) })]);
    await expectRefused(
      reversed,
      counter,
      () => reversed.fit(2, { callbacks: [new ReduceLROnPlateau()] }),
      /^fit: ParamScheduler \(attached to the learner\) and ReduceLROnPlateau \(passed to this fit\) would both set lr/,
    );
  });

  test('a scheduler on lr that runs during lrFind is refused: the sweep sets the lr', async () => {
    const counter = new HookCounter();
    counter.runDuringLrFind = true;
    const scheduler = new ParamScheduler({ lr: constant(1e-3) });
    scheduler.runDuringLrFind = true;
    const learn = toyLearner([counter, scheduler]);
    await expectRefused(
      learn,
      counter,
      () => learn.lrFind({ numIt: 5 }),
      /^lrFind: ParamScheduler \(attached to the learner\) and lrFind's sweep \(lr sweep 1e-7→10\) would both set lr;/,
      /Set runDuringLrFind = false on ParamScheduler so it sits out the sweep, or learn\.removeCallback\('ParamScheduler'\) before lrFind\(\)\.$/,
    );
  });

  test('under model.fit: tfjsCallback refuses two setters of lr when it is made, and fitWithCallbacks before training', async () => {
    expect(() => tfjsCallback([new ParamScheduler({ lr: constant(1e-3) }), new ReduceLROnPlateau()])).toThrow(
      /^tfjsCallback: ParamScheduler \(given to tfjsCallback\) and ReduceLROnPlateau \(given to tfjsCallback\) would both set lr during this fit, so one would silently override the other\. Keep one of them \(leave ParamScheduler out of the callbacks given to tfjsCallback or leave ReduceLROnPlateau out of the callbacks given to tfjsCallback\)\.$/,
    );
    const model = toyModel();
    model.compile({ optimizer: tf.train.adam(1e-2), loss: 'categoricalCrossentropy' });
    const { x, y } = toyData(64);
    const before = weightsOf(model);
    const counter = new HookCounter();
    const failure = fitWithCallbacks(model, x, y, { epochs: 1, batchSize: 32 }, [
      counter,
      new ParamScheduler(() => ({ lr: 1e-3, mom: 0.9 })),
      new ParamScheduler({ mom: constant(0.8) }),
    ]);
    await expect(failure).rejects.toBeInstanceOf(ConfigError);
    await expect(failure).rejects.toThrow(/would both set mom/);
    expect(counter.trainBegins + counter.batches + counter.trainEnds).toBe(0);
    expect(weightsOf(model)).toEqual(before);
    tf.dispose([x, y]);
    model.dispose();
  });
});

describe('setters of different hyper-parameters train', () => {
  test('ParamSchedulers on lr and on mom side by side: each value is set on every training batch', async () => {
    const lrAt = (step: number) => 1e-3 * (step + 1);
    const momAt = (step: number) => 0.8 + step / 1000;
    const learn = toyLearner([new ParamScheduler({ mom: momAt })], { samples: 128 });
    await learn.fit(2, { callbacks: [new ParamScheduler({ lr: lrAt })] });
    const steps = 2 * learn.data.train.numBatches;
    expect(learn.recorder.lrs).toHaveLength(steps);
    learn.recorder.lrs.forEach((lr, step) => {
      expect(lr).toBeCloseTo(lrAt(step), 12);
    });
    learn.recorder.moms.forEach((mom, step) => {
      expect(mom).toBeCloseTo(momAt(step), 6);
    });
  });

  test('ReduceLROnPlateau with a ParamScheduler on mom under fit', async () => {
    const reduce = new ReduceLROnPlateau({ monitor: 'trainLoss', patience: 0, factor: 0.5, minDelta: 10 });
    const learn = toyLearner([reduce], { samples: 128 });
    await learn.fit(3, { lr: 1e-2, callbacks: [new ParamScheduler({ mom: constant(0.7) })] });
    // minDelta 10: after the first epoch (which sets the best), no epoch improves: the lr halves after each.
    expect(reduce.reductions.map((r) => r.lr)).toEqual([5e-3, 2.5e-3]);
    const perEpoch = learn.data.train.numBatches;
    // The last epoch trains at the first reduction: nothing overrode it.
    expect(new Set(learn.recorder.lrs.slice(2 * perEpoch))).toEqual(new Set([5e-3]));
    expect(new Set(learn.recorder.moms)).toEqual(new Set([0.7]));
  });

  test('fitOneCycle with a callback that sets another hyper-parameter of its own (wd)', async () => {
    const decay = new WeightDecaySchedule();
    const learn = toyLearner([decay], { samples: 128 });
    await learn.fitOneCycle(2, { lrMax: 1e-2 });
    const steps = 2 * learn.data.train.numBatches;
    expect(decay.batches).toBe(steps);
    const at = oneCycleSchedule(steps, { lrMax: 1e-2 });
    learn.recorder.lrs.forEach((lr, step) => {
      expect(lr).toBeCloseTo(at(step).lr, 12);
    });
  });

  test('a ParamScheduler attached to the learner sits out lrFind (the sweep is untouched), then schedules the next fit', async () => {
    let calls = 0;
    const scheduler = new ParamScheduler({
      lr: () => {
        calls++;
        return 2e-3;
      },
    });
    const learn = toyLearner([scheduler], { samples: 128 });
    const { lrs } = await learn.lrFind({ startLr: 1e-5, endLr: 1, numIt: 8, stopDiv: false });
    expect(calls).toBe(0);
    expect(lrs).toHaveLength(8);
    lrs.forEach((lr, i) => {
      expect(lr).toBeCloseTo(1e-5 * (1 / 1e-5) ** (i / 7), 12);
    });
    await learn.fit(1);
    expect(calls).toBe(learn.data.train.numBatches);
    expect(new Set(learn.recorder.lrs)).toEqual(new Set([2e-3]));
  });

  test('the same scheduler attached and passed to the fit is one setter, and its hooks run once a batch', async () => {
    let calls = 0;
    const scheduler = new ParamScheduler({
      lr: () => {
        calls++;
        return 1e-3;
      },
    });
    const learn = toyLearner([scheduler], { samples: 128 });
    await learn.fit(1, { callbacks: [scheduler] });
    expect(calls).toBe(learn.data.train.numBatches);
  });

  test('under model.fit, a ParamScheduler on lr sets the compiled optimizer’s lr', async () => {
    const model = toyModel();
    const optimizer = tf.train.adam(1e-2);
    model.compile({ optimizer, loss: 'categoricalCrossentropy' });
    const { x, y } = toyData(64);
    const adapter = tfjsCallback([new ParamScheduler({ lr: (step) => 1e-3 * (step + 1) })]);
    await model.fit(x, y, { epochs: 1, batchSize: 32, callbacks: [adapter] });
    expect(adapter.recorder.lrs).toEqual([1e-3, 2e-3]);
    tf.dispose([x, y]);
    model.dispose();
  });
});

describe('ParamScheduler({ lr?, mom? })', () => {
  test('checks its schedules when made, naming what it received and what it takes', () => {
    expect(() => new ParamScheduler({ wd: constant(1e-4) } as never)).toThrow(
      /^ParamScheduler: it schedules lr and mom; received a schedule for "wd"\. For another hyper-parameter, write a callback that sets it and declares it in setsHyperParams\.$/,
    );
    expect(() => new ParamScheduler({ lr: 1e-3 } as never)).toThrow(
      /^ParamScheduler: lr must be a function step => \(\{ lr, mom \}\), or an object of functions/,
    );
    expect(() => new ParamScheduler({})).toThrow(
      /^ParamScheduler: received an empty object of schedules; give lr, mom or both, e.g. \{ lr: \(step\) => 1e-3 \}\.$/,
    );
    expect(() => new ParamScheduler(null as never)).toThrow(/^ParamScheduler: schedule must be a function step => .*; received null\.$/);
    expect(new ParamScheduler({ mom: constant(0.9) }).setsHyperParams).toEqual(['mom']);
    expect(new ParamScheduler(() => ({ lr: 1e-3, mom: 0.9 })).setsHyperParams).toEqual(['lr', 'mom']);
  });

  test('a schedule of mom on an optimizer without momentum is a ConfigError before the first batch', async () => {
    const counter = new HookCounter();
    const learn = toyLearner([counter, new ParamScheduler({ mom: constant(0.9) })], { optimizer: 'sgd' });
    const before = weightsOf(learn.model);
    const failure = learn.fit(1);
    await expect(failure).rejects.toBeInstanceOf(ConfigError);
    await expect(failure).rejects.toThrow(/^ParamScheduler\(\{ mom \}\): .*tf\.train\.momentum/);
    expect(counter.batches).toBe(0);
    expect(weightsOf(learn.model)).toEqual(before);
  });
});
