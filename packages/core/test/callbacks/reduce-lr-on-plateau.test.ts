import { ConfigError, ReduceLROnPlateau } from '@epochcast/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { scriptedLearner, TensorsAtEpoch1 } from '../helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const BATCHES = 6;

describe('ReduceLROnPlateau', () => {
  test('multiplies the lr by factor after `patience` epochs without improvement; the next epochs train at it', async () => {
    const reduce = new ReduceLROnPlateau({ monitor: 'score', mode: 'min', patience: 2, factor: 0.5 });
    const { learn } = scriptedLearner([1, 0.9, 0.95, 0.97, 0.85, 0.9, 0.91, 0.8], [reduce]);
    await learn.fit(8, { lr: 0.01 });
    expect(reduce.reductions).toEqual([
      { epoch: 3, lr: 0.005 },
      { epoch: 6, lr: 0.0025 },
    ]);
    const lrs = learn.recorder.lrs;
    expect(lrs.slice(3 * BATCHES, 4 * BATCHES).every((lr) => lr === 0.01)).toBe(true);
    expect(lrs.slice(4 * BATCHES, 7 * BATCHES).every((lr) => lr === 0.005)).toBe(true);
    expect(lrs.slice(7 * BATCHES).every((lr) => lr === 0.0025)).toBe(true);
    expect(learn.recorder.history.map((s) => s.lr)).toEqual([0.01, 0.01, 0.01, 0.01, 0.005, 0.005, 0.005, 0.0025]);
    expect(learn.hyperParams.lr).toBe(0.0025);
  });

  test('cooldown waits before counting again; minLr is a floor', async () => {
    const cooling = new ReduceLROnPlateau({ monitor: 'score', mode: 'min', patience: 1, cooldown: 2, factor: 0.5 });
    await scriptedLearner([1, 2, 3, 4, 5, 6], [cooling]).learn.fit(6, { lr: 0.01 });
    expect(cooling.reductions.map((r) => r.epoch)).toEqual([1, 3, 5]);

    const floored = new ReduceLROnPlateau({ monitor: 'score', mode: 'min', patience: 1, factor: 0.1, minLr: 5e-4 });
    const { learn } = scriptedLearner([1, 2, 3, 4, 5], [floored]);
    await learn.fit(5, { lr: 1e-2 });
    expect(floored.reductions).toEqual([
      { epoch: 1, lr: 1e-2 * 0.1 },
      { epoch: 2, lr: 5e-4 },
    ]);
    expect(learn.hyperParams.lr).toBe(5e-4);
  });

  test('the default minDelta (1e-4) ignores negligible improvements; defaults are documented values', async () => {
    const reduce = new ReduceLROnPlateau({ monitor: 'score', mode: 'min' });
    expect(reduce).toMatchObject({ factor: 0.2, patience: 2, minLr: 0, cooldown: 0 });
    expect(reduce.monitor.minDelta).toBe(1e-4);
    const creeping = [1, 0.99995, 0.99993, 0.99991];
    await scriptedLearner(creeping, [reduce]).learn.fit(4, { lr: 1e-2 });
    expect(reduce.reductions).toEqual([{ epoch: 2, lr: 1e-2 * 0.2 }]);
    const exact = new ReduceLROnPlateau({ monitor: 'score', mode: 'min', minDelta: 0 });
    await scriptedLearner(creeping, [exact]).learn.fit(4, { lr: 1e-2 });
    expect(exact.reductions).toEqual([]);
  });

  test('refuses to run under fitOneCycle, whose schedule would override it: a ConfigError before the first batch', async () => {
    const { learn } = scriptedLearner([1, 1], [new ReduceLROnPlateau()]);
    await expect(learn.fitOneCycle(2)).rejects.toThrow(ConfigError);
    await expect(learn.fitOneCycle(2)).rejects.toThrow(
      /^fitOneCycle: ReduceLROnPlateau \(attached to the learner\) and fitOneCycle's one-cycle schedule \(one-cycle lrMax=.*\) would both set lr; the schedule sets it before every batch, so one would silently override the other\. Use learn\.fit\(epochs, \{ lr \}\) with ReduceLROnPlateau, or fitOneCycle without it \(learn\.removeCallback\('ReduceLROnPlateau'\)\)\.$/,
    );
    expect(learn.recorder.history).toHaveLength(0);
    expect(learn.state.step).toBe(0);
  });

  test('an unknown monitor is a ConfigError before the first batch', async () => {
    const { learn } = scriptedLearner([1, 1], [new ReduceLROnPlateau({ monitor: 'val_acuracy' })]);
    const failure = learn.fit(2);
    await expect(failure).rejects.toThrow(ConfigError);
    await expect(failure).rejects.toThrow(
      /ReduceLROnPlateau: monitor "val_acuracy" is not a value this training reports; available: validLoss, trainLoss, score/,
    );
    expect(learn.state.step).toBe(0);
  });

  test('a reduction lasts into the next fit only if that fit does not set its own lr; no tensors leak', async () => {
    const probe = new TensorsAtEpoch1();
    const reduce = new ReduceLROnPlateau({ patience: 0 });
    const { learn } = scriptedLearner([], [reduce, probe]);
    await learn.fit(4, { lr: 0.5 });
    expect(tf.memory().numTensors).toBe(probe.count);
    await learn.fit(1, { lr: 1e-3 });
    expect(learn.recorder.history[0]?.lr).toBe(1e-3);
  });

  test('rejects bad options with a message naming the option', () => {
    expect(() => new ReduceLROnPlateau({ factor: 1.5 })).toThrow(/ReduceLROnPlateau: factor must be a number in \(0, 1\).* received 1.5/);
    expect(() => new ReduceLROnPlateau({ factor: 0 })).toThrow(/factor must be a number in \(0, 1\)/);
    expect(() => new ReduceLROnPlateau({ patience: -1 })).toThrow(/ReduceLROnPlateau: patience must be an integer >= 0 .* received -1/);
    expect(() => new ReduceLROnPlateau({ cooldown: 0.5 })).toThrow(/ReduceLROnPlateau: cooldown must be an integer >= 0 .* received 0.5/);
    expect(() => new ReduceLROnPlateau({ minLr: -1e-3 })).toThrow(/ReduceLROnPlateau: minLr must be a finite number >= 0; received -0.001/);
    expect(() => new ReduceLROnPlateau({ monitor: 3 as unknown as string })).toThrow(
      /ReduceLROnPlateau: monitor must be a non-empty string .* received 3/,
    );
  });
});
