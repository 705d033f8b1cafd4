import { Callback, CancelBatchError, type Learner, type LossFn, TerminateOnNaN, type TrainingState } from '@epochcast/core';
import { toyLearner } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { TensorsAtEpoch1 } from '../helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A learner whose loss turns into `poison` (NaN, Infinity) from a given training batch on. */
function poisoned(at: { epoch: number; batch: number } | undefined, poison: number, callbacks: Callback[]): Learner {
  let bad = false;
  const loss: LossFn = (yTrue, yPred) => {
    const base = tf.losses.softmaxCrossEntropy(yTrue, yPred);
    return bad ? tf.mul(base, poison) : base;
  };
  class Poison extends Callback {
    override order = -20;
    override onBatchBegin(s: TrainingState) {
      if (at && s.training && s.epoch === at.epoch && s.batch === at.batch) bad = true;
    }
  }
  return toyLearner([new Poison(), ...callbacks], { samples: 256, batchSize: 32, metrics: [], loss });
}

describe('TerminateOnNaN', () => {
  test('stops at the end of the first batch with a NaN loss, naming epoch and batch', async () => {
    const learn = poisoned({ epoch: 1, batch: 3 }, Number.NaN, [new TerminateOnNaN()]);
    await learn.fit(5, { lr: 1e-2 });
    expect(learn.state.status).toBe('stopped');
    expect(learn.state.stopReason).toBe('loss is NaN at epoch 1, batch 3 (step 10); the training diverged, try a lower learning rate');
    expect(learn.recorder.history).toHaveLength(1);
    // The Recorder (order −10) saw the bad batch before the stop.
    expect(learn.recorder.rawLosses).toHaveLength(10);
    expect(learn.recorder.rawLosses.at(-1)).toBeNaN();
  });

  test('an infinite loss stops too', async () => {
    const learn = poisoned({ epoch: 0, batch: 2 }, Number.POSITIVE_INFINITY, [new TerminateOnNaN()]);
    await learn.fit(3, { lr: 1e-2 });
    expect(learn.state.stopReason).toMatch(/^loss is Infinity at epoch 0, batch 2 \(step 3\)/);
  });

  test('without it, a NaN run goes on to the end', async () => {
    const learn = poisoned({ epoch: 1, batch: 3 }, Number.NaN, []);
    await learn.fit(3, { lr: 1e-2 });
    expect(learn.state.status).toBe('completed');
    expect(learn.recorder.history.at(-1)?.trainLoss).toBeNaN();
  });

  test('a healthy run completes; a batch cancelled before its forward pass is not judged; no leaks', async () => {
    class SkipFirst extends Callback {
      private skipped = false;
      override onBatchBegin(s: TrainingState) {
        if (!s.training || this.skipped) return;
        this.skipped = true;
        // The state's loss is still NaN here: no batch has run its forward pass yet.
        expect(s.loss).toBeNaN();
        throw new CancelBatchError('warm-up');
      }
    }
    const probe = new TensorsAtEpoch1();
    const learn = poisoned(undefined, Number.NaN, [new SkipFirst(), new TerminateOnNaN(), probe]);
    await learn.fit(4, { lr: 1e-2 });
    expect(learn.state.status).toBe('completed');
    expect(learn.recorder.history).toHaveLength(4);
    expect(learn.state.step).toBe(4 * 6 - 1);
    expect(tf.memory().numTensors).toBe(probe.count);
  });

  test('runs between the Recorder and the trackers', () => {
    expect(new TerminateOnNaN().order).toBe(50);
  });
});
