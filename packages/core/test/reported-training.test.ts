import { Callback, type CallbackError, CancelFitError, ConfigError, ReportedTraining, type TrainingState } from '@epochcast/core';
import { describe, expect, test, vi } from 'vitest';

/** Records each hook with what the state said then. */
class Seen extends Callback {
  readonly events: { event: string; epoch: number; total: number; status: string; stats?: number }[] = [];
  private note(event: string, s: TrainingState) {
    this.events.push({ event, epoch: s.epoch, total: s.totalEpochs, status: s.status, ...(s.stats ? { stats: s.stats.epoch } : {}) });
  }
  override onTrainBegin(s: TrainingState) {
    this.note('onTrainBegin', s);
  }
  override onEpochBegin(s: TrainingState) {
    this.note('onEpochBegin', s);
  }
  override onEpochEnd(s: TrainingState) {
    this.note('onEpochEnd', s);
  }
  override onTrainEnd(s: TrainingState) {
    this.note('onTrainEnd', s);
  }
}

describe('ReportedTraining', () => {
  test('hooks see a Learner-like run: begin, an epoch per report, end; the Recorder keeps the table', async () => {
    const seen = new Seen();
    const run = new ReportedTraining([seen], { schedule: '$ python train.py' });
    await run.begin({ totalEpochs: 2 });
    expect(run.state.schedule).toBe('$ python train.py');
    await run.batch(0.9);
    await run.batch(0.7);
    expect(await run.epoch({ trainLoss: 0.6, validLoss: 0.5, metrics: { val_accuracy: 0.8, accuracy: 0.75 } })).toBe(true);
    await run.epoch({ epoch: 2, validLoss: 0.4, metrics: { val_accuracy: 0.9 } });
    await run.end({ status: 'completed' });
    expect(seen.events.map((e) => e.event)).toEqual([
      'onTrainBegin',
      'onEpochBegin',
      'onEpochEnd',
      'onEpochBegin',
      'onEpochEnd',
      'onTrainEnd',
    ]);
    expect(seen.events.at(-1)?.status).toBe('completed');
    const [first, second] = run.recorder.history;
    expect(first).toMatchObject({
      epoch: 0,
      totalEpochs: 2,
      trainLoss: 0.6,
      validLoss: 0.5,
      metrics: { val_accuracy: 0.8, accuracy: 0.75 },
    });
    // No train loss in the second report and no batch since: NaN, not the previous epoch's.
    expect(second?.trainLoss).toBeNaN();
    expect(run.metricNames).toEqual(['val_accuracy', 'accuracy']);
    expect(run.recorder.formatStats()).toMatch(/epoch\s+train_loss\s+valid_loss\s+val_accuracy\s+accuracy\s+time/);
    expect(run.recorder.losses).toEqual([0.9, 0.7]);
    expect(run.recorder.epochEndSteps).toEqual([2, 2]);
  });

  test('epochs reported without batch losses still draw the loss plot, a point per epoch', async () => {
    const run = new ReportedTraining([]);
    await run.begin({ totalEpochs: 3 });
    await run.epoch({ trainLoss: 0.9, validLoss: 0.8 });
    await run.epoch({ trainLoss: 0.5, validLoss: 0.6 });
    await run.epoch({ validLoss: 0.5 });
    expect(run.recorder.losses).toEqual([0.9, 0.5]);
    expect(run.recorder.epochEndSteps).toEqual([1, 2, 2]);
  });

  test("the first epoch's time counts from its first sign of work, not from the start of the script", async () => {
    vi.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
    try {
      const run = new ReportedTraining([]);
      await run.begin();
      vi.setSystemTime(1_030_000);
      run.markFirstEpochStart();
      vi.setSystemTime(1_035_000);
      run.markFirstEpochStart();
      vi.setSystemTime(1_040_000);
      await run.epoch();
      run.markFirstEpochStart();
      vi.setSystemTime(1_052_000);
      await run.epoch();
      expect(run.recorder.history.map((s) => s.timeMs)).toEqual([10_000, 12_000]);
    } finally {
      vi.useRealTimers();
    }
  });

  test('the train loss defaults to the last batch loss of the epoch', async () => {
    const run = new ReportedTraining([]);
    await run.begin();
    await run.batch(0.5);
    await run.batch(0.25);
    await run.epoch({});
    expect(run.recorder.history[0]?.trainLoss).toBe(0.25);
  });

  test('an epoch reported again is ignored; a skipped count is taken as is; the total is learned later and grows when passed', async () => {
    const seen = new Seen();
    const run = new ReportedTraining([seen]);
    await run.begin();
    expect(run.state.totalEpochs).toBe(0);
    await run.epoch({ epoch: 1 });
    expect(await run.epoch({ epoch: 1 })).toBe(false);
    run.setTotalEpochs(5);
    await run.epoch({ epoch: 3 });
    expect(run.recorder.history.map((s) => [s.epoch, s.totalEpochs])).toEqual([
      [0, 0],
      [2, 5],
    ]);
    await run.epoch({ epoch: 7 });
    expect(run.state.totalEpochs).toBe(7);
    // The last planned epoch has no next epoch to begin.
    expect(seen.events.filter((e) => e.event === 'onEpochBegin').map((e) => e.epoch)).toEqual([0, 1, 3]);
  });

  test('stop() calls onStop once; end reports its reason and status whatever the command did', async () => {
    const onStop = vi.fn();
    const seen = new Seen();
    const run = new ReportedTraining([seen], { onStop });
    await run.begin({ totalEpochs: 3 });
    run.stop('stopped from Telegram by Ada (@ada)');
    run.stop('again');
    expect(onStop).toHaveBeenCalledTimes(1);
    expect(onStop).toHaveBeenCalledWith({ reason: 'stopped from Telegram by Ada (@ada)', status: 'stopped' });
    await run.end({ status: 'failed', outcome: 'exit code 130' });
    expect(run.state.status).toBe('stopped');
    expect(run.state.stopReason).toBe('stopped from Telegram by Ada (@ada)');
    expect(run.state.error).toBeUndefined();
    expect(run.state.schedule).toBe('reported training → exit code 130');
  });

  test("a callback's CancelFitError (EarlyStopping) asks for a stop; another error is reported and the run goes on", async () => {
    const onStop = vi.fn();
    const errors: CallbackError[] = [];
    class Stopper extends Callback {
      override onEpochEnd(s: TrainingState) {
        if (s.epoch === 1) throw new CancelFitError('no improvement');
      }
    }
    class Broken extends Callback {
      override onEpochEnd(s: TrainingState) {
        if (s.epoch === 0) throw new Error('boom');
      }
    }
    const run = new ReportedTraining([new Broken(), new Stopper()], { onStop, onCallbackError: (e) => errors.push(e) });
    await run.begin();
    await run.epoch();
    await run.epoch();
    expect(errors.map((e) => e.message)).toEqual(['callback Broken.onEpochEnd threw: boom']);
    expect(onStop).toHaveBeenCalledWith({ reason: 'no improvement', status: 'stopped' });
    await run.end({ status: 'completed' });
    expect(run.state.status).toBe('stopped');
    expect(run.recorder.history).toHaveLength(2);
  });

  test('a hook failing at the start fails the report: onTrainEnd runs with status failed, begin rejects', async () => {
    const seen = new Seen();
    class Refuses extends Callback {
      override onTrainBegin() {
        throw new Error('the service rejected the token');
      }
    }
    const run = new ReportedTraining([new Refuses(), seen]);
    await expect(run.begin()).rejects.toThrow(/Refuses.onTrainBegin threw: the service rejected the token/);
    expect(seen.events.at(-1)).toMatchObject({ event: 'onTrainEnd', status: 'failed' });
    expect(await run.epoch()).toBe(false);
  });

  test('the loss plot keeps at most maxLossPoints, averaging neighbours, over any number of losses', async () => {
    const run = new ReportedTraining([], { maxLossPoints: 200 });
    await run.begin();
    for (let i = 0; i < 20_000; i++) {
      await run.batch(i < 10_000 ? 1 : 0);
      if ((i + 1) % 2_000 === 0) await run.epoch();
    }
    const losses = run.recorder.losses;
    expect(losses.length).toBeLessThanOrEqual(200);
    expect(losses.length).toBeGreaterThan(50);
    // The shape survives: the first half is all 1, the last half all 0.
    expect(losses[0]).toBe(1);
    expect(losses.at(-1)).toBe(0);
    const mean = losses.reduce((a, b) => a + b, 0) / losses.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
    // Each epoch's end lands where its losses end: epoch 5 of 10 at the middle of the plot.
    const steps = run.recorder.epochEndSteps;
    expect(steps).toHaveLength(10);
    expect(steps.at(-1)).toBeLessThanOrEqual(losses.length);
    expect(Math.abs((steps[4] as number) / losses.length - 0.5)).toBeLessThan(0.02);
  });

  test('no model, optimizer or lr here: each says so', async () => {
    const run = new ReportedTraining([]);
    expect(() => run.model).toThrow(ConfigError);
    expect(() => run.optimizer).toThrow(/runs elsewhere/);
    expect(() => run.setLr(1e-3)).toThrow(/set by the program that trains/);
    await expect(run.begin({ totalEpochs: -1 })).rejects.toThrow(/totalEpochs must be a whole number/);
    expect(() => new ReportedTraining([], { maxLossPoints: 1 })).toThrow(/maxLossPoints/);
  });
});
