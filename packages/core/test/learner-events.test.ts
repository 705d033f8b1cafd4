import {
  Callback,
  CallbackError,
  CancelBatchError,
  CancelEpochError,
  CancelFitError,
  ConfigError,
  Learner,
  type TrainingState,
} from '@epochcast/core';
import { toyLearner, toyLoaders, toyModel } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { EventRecorder } from './helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function learnerWith(...callbacks: Callback[]) {
  // 64 samples, validPct 0.25 → 48 train (2 batches of 32: 32 + 16), 16 valid (1 batch).
  return toyLearner(callbacks, { samples: 64, batchSize: 32, metrics: [] });
}

const TRAIN_BATCH = ['onBatchBegin', 'onLossBegin', 'onBackwardBegin', 'onStepEnd', 'onBatchEnd'];
const VALID_BATCH = ['onBatchBegin', 'onLossBegin', 'onBatchEnd'];
const EPOCH = ['onEpochBegin', ...TRAIN_BATCH, ...TRAIN_BATCH, 'onValidateBegin', ...VALID_BATCH, 'onValidateEnd', 'onEpochEnd'];

describe('event order', () => {
  test('every event fires in DESIGN.md order, training batches then validation batches', async () => {
    const rec = new EventRecorder();
    await learnerWith(rec).fit(2, { lr: 1e-2 });
    expect(rec.names()).toEqual(['onTrainBegin', ...EPOCH, ...EPOCH, 'onTrainEnd']);
    const validBatches = rec.events.filter((e) => e.event === 'onBatchBegin' && !e.training);
    expect(validBatches.map((e) => e.epoch)).toEqual([0, 1]);
    const trainBatches = rec.events.filter((e) => e.event === 'onStepEnd');
    expect(trainBatches.map((e) => [e.epoch, e.batch])).toEqual([
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ]);
  });

  test('async hooks are awaited before the loop goes on', async () => {
    const log: string[] = [];
    class Slow extends Callback {
      override async onEpochEnd(s: TrainingState) {
        await new Promise((r) => setTimeout(r, 30));
        log.push(`slow end ${s.epoch}`);
      }
      override onEpochBegin(s: TrainingState) {
        log.push(`begin ${s.epoch}`);
      }
    }
    await learnerWith(new Slow()).fit(2);
    expect(log).toEqual(['begin 0', 'slow end 0', 'begin 1', 'slow end 1']);
  });

  test('callbacks run by order, ties in the order they were added; the Recorder runs first', async () => {
    const seen: string[] = [];
    class Named extends Callback {
      constructor(
        readonly label: string,
        order: number,
      ) {
        super();
        this.order = order;
      }
      override onTrainBegin(s: TrainingState) {
        seen.push(`${this.label}:${s.learner.recorder.history.length}`);
      }
      override onEpochEnd(s: TrainingState) {
        // The Recorder (order -10) has already stored this epoch.
        seen.push(`${this.label}@${s.learner.recorder.history.length}`);
      }
    }
    const learn = learnerWith(new Named('late', 100), new Named('a', 0), new Named('early', -5), new Named('b', 0));
    await learn.fit(1);
    expect(seen).toEqual(['early:0', 'a:0', 'b:0', 'late:0', 'early@1', 'a@1', 'b@1', 'late@1']);
    expect(learn.callbacks[0]).toBe(learn.recorder);
  });
});

describe('what hooks see', () => {
  test('each phase starts with its own training flag and batch 0; the last epoch index stays at train end', async () => {
    const rec = new EventRecorder();
    await learnerWith(rec).fit(2);
    const at = (event: string) => rec.events.filter((e) => e.event === event);
    expect(at('onEpochBegin')).toEqual([
      { event: 'onEpochBegin', epoch: 0, batch: 0, training: true },
      { event: 'onEpochBegin', epoch: 1, batch: 0, training: true },
    ]);
    expect(at('onValidateBegin').map((e) => [e.epoch, e.batch, e.training])).toEqual([
      [0, 0, false],
      [1, 0, false],
    ]);
    expect(at('onTrainEnd')[0]?.epoch).toBe(1);
  });
});

describe('cancellation', () => {
  test('CancelBatchError in onBackwardBegin skips that optimizer step and goes to onBatchEnd', async () => {
    class SkipFirstStep extends Callback {
      override onBackwardBegin(s: TrainingState) {
        if (s.epoch === 0 && s.batch === 0) throw new CancelBatchError();
      }
    }
    const rec = new EventRecorder();
    const learn = learnerWith(new SkipFirstStep(), rec);
    const before = learn.model.getWeights().map((w) => w.dataSync().slice());
    // Make the second batch a no-op too, so any weight change must come from the first batch.
    learn.addCallbacks(
      new (class extends Callback {
        override onBackwardBegin(s: TrainingState) {
          if (s.batch === 1) throw new CancelBatchError();
        }
      })(),
    );
    await learn.fit(1);
    const after = learn.model.getWeights().map((w) => w.dataSync().slice());
    expect(after).toEqual(before);
    expect(rec.names().filter((e) => e === 'onStepEnd')).toHaveLength(0);
    expect(rec.names().filter((e) => e === 'onBatchEnd')).toHaveLength(3);
    expect(learn.state.step).toBe(0);
  });

  test('CancelEpochError skips the rest of the epoch (and its validation) but runs onEpochEnd; the fit goes on', async () => {
    class CancelFirstEpoch extends Callback {
      override onBatchEnd(s: TrainingState) {
        if (s.epoch === 0 && s.training) throw new CancelEpochError();
      }
    }
    const rec = new EventRecorder();
    rec.order = -5; // sees onBatchEnd before the canceller interrupts that event's chain
    const learn = learnerWith(new CancelFirstEpoch(), rec);
    await learn.fit(2);
    const epoch0 = rec.events.filter((e) => e.epoch === 0).map((e) => e.event);
    expect(epoch0).toEqual(['onTrainBegin', 'onEpochBegin', ...TRAIN_BATCH, 'onEpochEnd']);
    expect(learn.recorder.history).toHaveLength(2);
    expect(learn.recorder.history[0]?.validLoss).toBeNaN();
    expect(learn.recorder.history[1]?.validLoss).toBeGreaterThan(0);
    expect(learn.state.status).toBe('completed');
  });

  test('CancelFitError ends the fit: no more epochs, onTrainEnd sees status stopped and the reason', async () => {
    class StopAtSecondEpoch extends Callback {
      override onEpochBegin(s: TrainingState) {
        if (s.epoch === 1) throw new CancelFitError('enough');
      }
    }
    const rec = new EventRecorder();
    const learn = learnerWith(new StopAtSecondEpoch(), rec);
    await learn.fit(5);
    expect(rec.names().filter((e) => e === 'onEpochEnd')).toHaveLength(1);
    expect(rec.states.at(-1)).toMatchObject({ event: 'onTrainEnd', status: 'stopped', stopReason: 'enough' });
    expect(learn.recorder.history).toHaveLength(1);
  });

  test('a CancelEpochError from onEpochEnd has nothing left to cancel: the run fails saying what to throw instead', async () => {
    class Misplaced extends Callback {
      override onEpochEnd() {
        throw new CancelEpochError();
      }
    }
    await expect(learnerWith(new Misplaced()).fit(2)).rejects.toThrow(
      'CancelEpochError was thrown where there is no epoch left to cancel (from an end hook such as onEpochEnd); throw CancelFitError to end the fit.',
    );
  });

  test('learn.stop() from outside stops at the end of the current batch', async () => {
    const rec = new EventRecorder();
    const learn = learnerWith(rec);
    learn.addCallbacks(
      new (class extends Callback {
        override onStepEnd(s: TrainingState) {
          // Simulates a command arriving from a chat in the middle of epoch 1.
          if (s.epoch === 1 && s.batch === 0) s.learner.stop('stopped from Telegram by @ada');
        }
      })(),
    );
    await learn.fit(10);
    const last = rec.events.filter((e) => e.event === 'onBatchEnd').at(-1);
    expect(last).toMatchObject({ epoch: 1, batch: 0, training: true });
    expect(rec.states.at(-1)).toMatchObject({ status: 'stopped', stopReason: 'stopped from Telegram by @ada' });
  });
});

describe('onTrainEnd always runs', () => {
  test('on success, with status completed and the last stats', async () => {
    let end: { status: string; epochs: number; stats?: number } | undefined;
    class End extends Callback {
      override onTrainEnd(s: TrainingState) {
        end = { status: s.status, epochs: s.learner.recorder.history.length, stats: s.stats?.epoch };
      }
    }
    await learnerWith(new End()).fit(3);
    expect(end).toEqual({ status: 'completed', epochs: 3, stats: 2 });
  });

  test('on an exception from the model: status failed, the same error is passed and then rethrown', async () => {
    const rec = new EventRecorder();
    let explode = false;
    const boom = new Error('shapes [2,3] and [2,3] are incompatible');
    const learn = toyLearner([rec], {
      samples: 64,
      batchSize: 32,
      metrics: [],
      loss: (yTrue, yPred) => {
        if (explode) throw boom;
        return tf.metrics.categoricalCrossentropy(yTrue, yPred);
      },
    });
    learn.addCallbacks(
      new (class extends Callback {
        override onEpochBegin(s: TrainingState) {
          explode = s.epoch === 1;
        }
      })(),
    );
    await expect(learn.fit(3)).rejects.toBe(boom);
    const end = rec.states.at(-1);
    expect(end).toMatchObject({ event: 'onTrainEnd', status: 'failed', error: boom });
    expect(learn.recorder.history).toHaveLength(1);
  });

  test('a throwing hook fails the run with a CallbackError naming the callback and event', async () => {
    class Broken extends Callback {
      override onEpochEnd() {
        throw new TypeError('cannot read x of undefined');
      }
    }
    const rec = new EventRecorder();
    const learn = learnerWith(new Broken(), rec);
    const error = await learn.fit(2).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CallbackError);
    expect((error as Error).message).toBe('callback Broken.onEpochEnd threw: cannot read x of undefined');
    expect((error as CallbackError).cause).toBeInstanceOf(TypeError);
    expect(rec.states.at(-1)).toMatchObject({ event: 'onTrainEnd', status: 'failed' });
    expect(learn.recorder.history).toHaveLength(1);
  });

  test('every onTrainEnd hook runs even if an earlier one throws; the run can be started again', async () => {
    const ran: string[] = [];
    class ThrowsAtEnd extends Callback {
      override order = -1;
      override onTrainEnd() {
        ran.push('first');
        throw new Error('flush failed');
      }
    }
    class AlsoEnds extends Callback {
      override onTrainEnd() {
        ran.push('second');
      }
    }
    const learn = learnerWith(new ThrowsAtEnd(), new AlsoEnds());
    await expect(learn.fit(1)).rejects.toThrow('callback ThrowsAtEnd.onTrainEnd threw: flush failed');
    expect(ran).toEqual(['first', 'second']);
    learn.removeCallback('ThrowsAtEnd');
    await learn.fit(1);
    expect(learn.state.status).toBe('completed');
  });

  test('a second fit while one is running is refused with a clear error', async () => {
    const learn = learnerWith();
    const first = learn.fit(2);
    await expect(learn.fit(1)).rejects.toThrow(/already running/);
    await first;
  });
});

describe('bad input', () => {
  test.each([
    [{ model: {} }, /model must be a tfjs LayersModel/],
    [{ data: [1, 2] }, /data must be a DataLoaders.*received an array of length 2/],
    [{ loss: 'crossEntropy' }, /loss must be one of categoricalCrossentropy, .* received "crossEntropy"/],
    [{ optimizer: 'adamw' }, /optimizer must be one of adam, sgd or a factory .* received "adamw"/],
    [{ metrics: ['accuracy'] }, /metrics must be an array of functions/],
    [{ callbacks: [{ onEpochEnd() {} }] }, /callbacks must extend Callback/],
  ])('Learner(%o) → ConfigError', (override, message) => {
    const options = { model: toyModel(), data: toyLoaders(16, 4), loss: 'categoricalCrossentropy', ...override };
    expect(() => new Learner(options as never)).toThrow(ConfigError);
    expect(() => new Learner(options as never)).toThrow(message);
  });

  test.each([
    [() => learnerWith().fit(0), /fit: epochs must be an integer >= 1; received 0/],
    [() => learnerWith().fit(2.5), /received 2.5/],
    [() => learnerWith().fit(1, { lr: -1 }), /fit: lr must be a finite number > 0; received -1/],
    [() => learnerWith().fit(1, { lr: Number.NaN }), /received NaN/],
    [() => learnerWith().fitOneCycle(1, { pctStart: 1.5 }), /pctStart must be a number in \[0, 1\); received 1.5/],
    [() => learnerWith().fitOneCycle(1, { moms: [0.95] as never }), /moms must be two numbers/],
    [() => learnerWith().lrFind({ startLr: 1, endLr: 0.1 }), /endLr must be greater than startLr/],
    [() => learnerWith().lrFind({ numIt: 1 }), /numIt must be an integer >= 2/],
  ])('%# rejects with a message that names the argument', async (call, message) => {
    await expect(call()).rejects.toThrow(message);
  });
});
