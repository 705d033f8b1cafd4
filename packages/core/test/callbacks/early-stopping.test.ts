import { Callback, ConfigError, EarlyStopping, type TrainingState } from '@epochcast/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { scriptedLearner, TensorsAtEpoch1 } from '../helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const f32 = (x: number) => Math.fround(x);

describe('EarlyStopping', () => {
  test('stops once the monitored value has not improved for `patience` epochs, saying why', async () => {
    const stop = new EarlyStopping({ monitor: 'score', mode: 'min', patience: 2 });
    const { learn } = scriptedLearner([1, 0.9, 0.95, 0.92, 0.5, 0.4], [stop]);
    await learn.fit(6, { lr: 1e-2 });
    expect(learn.recorder.history).toHaveLength(4);
    expect(learn.state.status).toBe('stopped');
    expect(learn.state.stopReason).toBe('early stopping: score 0.92 has not improved for 2 epochs (best 0.9 at epoch 1)');
    expect(stop.best).toBe(f32(0.9));
    expect(stop.bestEpoch).toBe(1);
  });

  test('the default patience stops at the first epoch that does not improve; an improving run completes', async () => {
    const { learn } = scriptedLearner([1, 0.9, 0.95, 0.8], [new EarlyStopping({ monitor: 'score', mode: 'min' })]);
    await learn.fit(4, { lr: 1e-2 });
    expect(learn.recorder.history).toHaveLength(3);

    const improving = scriptedLearner([1, 0.9, 0.8, 0.7], [new EarlyStopping({ monitor: 'score', mode: 'min' })]);
    await improving.learn.fit(4, { lr: 1e-2 });
    expect(improving.learn.state.status).toBe('completed');
    expect(improving.learn.recorder.history).toHaveLength(4);
  });

  test('minDelta: a smaller change is not an improvement', async () => {
    const strict = scriptedLearner([1, 0.95, 0.9, 0.85], [new EarlyStopping({ monitor: 'score', mode: 'min', minDelta: 0.1 })]);
    await strict.learn.fit(4, { lr: 1e-2 });
    expect(strict.learn.recorder.history).toHaveLength(2);

    const lenient = scriptedLearner([1, 0.95, 0.9, 0.85], [new EarlyStopping({ monitor: 'score', mode: 'min', minDelta: 0.01 })]);
    await lenient.learn.fit(4, { lr: 1e-2 });
    expect(lenient.learn.recorder.history).toHaveLength(4);
  });

  test('mode max, and auto mode from the name', async () => {
    const { learn } = scriptedLearner([0.5, 0.7, 0.6, 0.9], [new EarlyStopping({ monitor: 'score', mode: 'max' })]);
    await learn.fit(4, { lr: 1e-2 });
    expect(learn.recorder.history).toHaveLength(3);
    expect(new EarlyStopping().monitor).toMatchObject({ name: 'validLoss', mode: 'min' });
    expect(new EarlyStopping({ monitor: 'valid_loss' }).monitor).toMatchObject({ name: 'validLoss', mode: 'min' });
    expect(new EarlyStopping({ monitor: 'train_loss' }).monitor).toMatchObject({ name: 'trainLoss', mode: 'min' });
    expect(new EarlyStopping({ monitor: 'accuracy' }).monitor.mode).toBe('max');
    expect(new EarlyStopping({ monitor: 'mae' }).monitor.mode).toBe('min');
    expect(new EarlyStopping({ monitor: 'errorRate' }).monitor.mode).toBe('min');
  });

  test('baseline: the patience counter only resets once the baseline is beaten', async () => {
    const withBaseline = scriptedLearner(
      [1, 0.9, 0.95, 0.4],
      [new EarlyStopping({ monitor: 'score', mode: 'min', patience: 2, baseline: 0.5 })],
    );
    await withBaseline.learn.fit(4, { lr: 1e-2 });
    expect(withBaseline.learn.recorder.history).toHaveLength(3);

    const without = scriptedLearner([1, 0.9, 0.95, 0.4], [new EarlyStopping({ monitor: 'score', mode: 'min', patience: 2 })]);
    await without.learn.fit(4, { lr: 1e-2 });
    expect(without.learn.recorder.history).toHaveLength(4);
  });

  test('restoreBest puts the best epoch’s weights back, and frees its copies', async () => {
    const { learn, snapshots, weights } = scriptedLearner(
      [1, 0.5, 0.7, 0.8, 0.9],
      [new EarlyStopping({ monitor: 'score', mode: 'min', patience: 3, restoreBest: true })],
    );
    const numWeights = learn.model.getWeights().length;
    const probe = new TensorsAtEpoch1(66);
    learn.addCallbacks(probe);
    await learn.fit(5, { lr: 5e-2 });
    expect(learn.state.stopReason).toMatch(/has not improved for 3 epochs \(best 0.5 at epoch 1\)/);
    expect(snapshots[1]).not.toEqual(snapshots[4]);
    expect(weights()).toEqual(snapshots[1]);
    // At epoch 1's end it held a copy of epoch 0's weights; after the run it holds none.
    expect(tf.memory().numTensors).toBe(probe.count - numWeights);

    const plain = scriptedLearner([1, 0.5, 0.7, 0.8, 0.9], [new EarlyStopping({ monitor: 'score', mode: 'min', patience: 3 })]);
    await plain.learn.fit(5, { lr: 5e-2 });
    expect(plain.weights()).toEqual(plain.snapshots[4]);
  });

  test('restoreBest restores even when the run fails, and a second fit starts afresh', async () => {
    class Crash extends Callback {
      override onEpochBegin(s: TrainingState) {
        if (s.epoch === 3) throw new Error('crash');
      }
    }
    const stop = new EarlyStopping({ monitor: 'score', mode: 'min', patience: 5, restoreBest: true });
    const { learn, snapshots, weights } = scriptedLearner([1, 0.5, 0.7, 0.8], [stop]);
    await expect(learn.fit(4, { lr: 5e-2, callbacks: [new Crash()] })).rejects.toThrow(/crash/);
    expect(weights()).toEqual(snapshots[1]);
    const before = tf.memory().numTensors;
    await learn.fit(2, { lr: 5e-2 });
    expect(stop.bestEpoch).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('an unknown monitor is a ConfigError before the first batch, listing the available names', async () => {
    const { learn } = scriptedLearner([1, 1], [new EarlyStopping({ monitor: 'acuracy' })]);
    const failure = learn.fit(2);
    await expect(failure).rejects.toThrow(ConfigError);
    await expect(failure).rejects.toThrow(
      'EarlyStopping: monitor "acuracy" is not a value this training reports; available: validLoss, trainLoss, score, accuracy. Pass one of these as monitor.',
    );
    expect(learn.state.step).toBe(0);
    expect(learn.recorder.history).toHaveLength(0);
  });

  test('monitors the real validation loss by default, and never leaks tensors', async () => {
    const probe = new TensorsAtEpoch1();
    const stop = new EarlyStopping({ patience: 2 });
    const { learn } = scriptedLearner([], [stop, probe]);
    await learn.fit(5, { lr: 1e-2 });
    const losses = learn.recorder.history.map((s) => s.validLoss);
    expect(stop.best).toBe(Math.min(...losses));
    expect(tf.memory().numTensors).toBe(probe.count);
  });

  test('sits out lrFind', async () => {
    const stop = new EarlyStopping({ minDelta: 100 });
    const { learn } = scriptedLearner([], [stop]);
    await learn.lrFind({ numIt: 20 });
    expect(stop.bestEpoch).toBe(-1);
  });

  test('rejects bad options with a message naming the option', () => {
    expect(() => new EarlyStopping({ patience: 1.5 })).toThrow(/EarlyStopping: patience must be an integer >= 0 .* received 1.5/);
    expect(() => new EarlyStopping({ minDelta: -0.1 })).toThrow(/EarlyStopping: minDelta must be a finite number >= 0; received -0.1/);
    expect(() => new EarlyStopping({ mode: 'down' as 'min' })).toThrow(
      /EarlyStopping: mode must be 'auto', 'min' or 'max'; received "down"/,
    );
    expect(() => new EarlyStopping({ monitor: '' })).toThrow(/EarlyStopping: monitor must be a non-empty string/);
    expect(() => new EarlyStopping({ restoreBest: 1 as unknown as boolean })).toThrow(
      /EarlyStopping: restoreBest must be true or false; received 1/,
    );
    expect(() => new EarlyStopping({ baseline: Number.NaN })).toThrow(
      /EarlyStopping: baseline must be a finite number or omitted; received NaN/,
    );
    expect(() => new EarlyStopping('validLoss' as never)).toThrow(/EarlyStopping: options must be an object .* received "validLoss"/);
  });
});
