import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import {
  accuracy,
  Callback,
  CallbackError,
  CSVLogger,
  EarlyStopping,
  fitDatasetWithCallbacks,
  fitWithCallbacks,
  hyperParams,
  ProgressCallback,
  ReduceLROnPlateau,
  SaveModel,
  SmoothenValue,
  TerminateOnNaN,
  TfjsCallbackAdapter,
  type TrainingState,
  tfjsCallback,
} from '@epochcast/core';
import { toyData, toyLearner, toyModel } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { EventRecorder } from '../helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'epochcast-tfjs-'));

/** A compiled toy model and 256 samples; with validationSplit 0.25 and batchSize 32: 6 training batches per epoch. */
function compiled(lr = 0.01) {
  const model = toyModel();
  model.compile({ optimizer: tf.train.adam(lr), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const { x, y } = toyData(256);
  return { model, x, y };
}

const FIT = { epochs: 2, batchSize: 32, validationSplit: 0.25 } as const;

describe('tfjsCallback under model.fit', () => {
  test('fires the Learner’s events in the Learner’s order (validation without batch events)', async () => {
    const { model, x, y } = compiled();
    const underFit = new EventRecorder();
    await model.fit(x, y, { ...FIT, callbacks: [tfjsCallback([underFit])] });

    const underLearner = new EventRecorder();
    const learn = toyLearner([underLearner], { samples: 256, batchSize: 32, metrics: [] });
    await learn.fit(2);
    // Where each event happens: its epoch, and for batch events the batch index.
    const batchEvents = ['onBatchBegin', 'onLossBegin', 'onBackwardBegin', 'onStepEnd', 'onBatchEnd'];
    const where = (events: typeof underFit.events) =>
      events.map((e) => (batchEvents.includes(e.event) ? `${e.event} ${e.epoch}/${e.batch}` : `${e.event} ${e.epoch}`));
    const trainingOnly = underLearner.events.filter((e) => e.training || !batchEvents.includes(e.event));
    expect(where(underFit.events)).toEqual(where(trainingOnly));

    const perBatch = ['onBatchBegin', 'onLossBegin', 'onBackwardBegin', 'onStepEnd', 'onBatchEnd'];
    const epoch = ['onEpochBegin', ...Array.from({ length: 6 }, () => perBatch).flat(), 'onValidateBegin', 'onValidateEnd', 'onEpochEnd'];
    expect(underFit.names()).toEqual(['onTrainBegin', ...epoch, ...epoch, 'onTrainEnd']);
    expect(underFit.states.at(-1)).toMatchObject({ event: 'onTrainEnd', status: 'completed' });
    tf.dispose([x, y]);
  });

  test('keeps a Recorder: history from tfjs’s logs, fastai’s smoothed train loss, lr, step counts', async () => {
    const { model, x, y } = compiled(0.02);
    const adapter = tfjsCallback([]);
    const h = await model.fit(x, y, { ...FIT, epochs: 3, callbacks: [adapter] });
    const { history, rawLosses, losses, lrs } = adapter.recorder;
    expect(history).toHaveLength(3);
    expect(rawLosses).toHaveLength(18);
    expect(lrs.every((lr) => lr === 0.02)).toBe(true);
    const smooth = new SmoothenValue(0.98);
    const expected = rawLosses.map((l) => smooth.add(l));
    expect(losses).toEqual(expected);
    history.forEach((s, e) => {
      expect(s).toMatchObject({ epoch: e, totalEpochs: 3, lr: 0.02, trainLoss: expected[6 * e + 5] });
      expect(s.validLoss).toBe(h.history.val_loss?.[e]);
      expect(s.metrics).toEqual({ acc: h.history.val_acc?.[e] });
      expect(s.timeMs).toBeGreaterThan(0);
    });
    expect(adapter.recorder.formatStats().split('\n')[0]).toMatch(/^epoch\s+train_loss\s+valid_loss\s+acc\s+time$/);
    expect(adapter.state).toMatchObject({ status: 'completed', step: 18, numBatches: 6, totalSteps: 18, schedule: 'tfjs model.fit' });
    tf.dispose([x, y]);
  });

  test('without validation data: NaN validation loss and metrics', async () => {
    const { model, x, y } = compiled();
    const adapter = tfjsCallback([]);
    await model.fit(x, y, { epochs: 1, batchSize: 64, callbacks: [adapter] });
    expect(adapter.recorder.history[0]?.validLoss).toBeNaN();
    expect(adapter.recorder.history[0]?.metrics.acc).toBeNaN();
    expect(adapter.recorder.rawLosses).toHaveLength(4);
    tf.dispose([x, y]);
  });

  test('CSVLogger writes a row per epoch under model.fit', async () => {
    const { model, x, y } = compiled();
    const file = path.join(tmp(), 'log.csv');
    const adapter = tfjsCallback([new CSVLogger(file)]);
    await model.fit(x, y, { ...FIT, epochs: 3, callbacks: [adapter] });
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines[0]).toBe('epoch,train_loss,valid_loss,acc,time');
    expect(lines.slice(1).map((l) => Number(l.split(',')[2]))).toEqual(adapter.recorder.history.map((s) => s.validLoss));
    tf.dispose([x, y]);
  });

  test('EarlyStopping stops model.fit; tfjs’s History ends there too', async () => {
    const { model, x, y } = compiled();
    const events = new EventRecorder();
    const adapter = tfjsCallback([new EarlyStopping({ monitor: 'val_loss', minDelta: 100 }), events]);
    const h = await model.fit(x, y, { ...FIT, epochs: 10, callbacks: [adapter] });
    expect(h.epoch).toEqual([0, 1]);
    expect(adapter.recorder.history).toHaveLength(2);
    expect(adapter.state.status).toBe('stopped');
    expect(adapter.state.stopReason).toMatch(/^early stopping: validLoss .* has not improved for 1 epoch \(best .* at epoch 0\)$/);
    // Events after the stop (thrown at epoch 1's onEpochEnd): none but onTrainEnd, which sees the reason.
    expect(events.events.at(-2)).toMatchObject({ event: 'onEpochEnd', epoch: 1 });
    expect(events.states.at(-1)).toMatchObject({ event: 'onTrainEnd', status: 'stopped' });
    tf.dispose([x, y]);
  });

  test('ReduceLROnPlateau changes the lr of the model’s optimizer', async () => {
    const { model, x, y } = compiled(0.01);
    const reduce = new ReduceLROnPlateau({ monitor: 'val_loss', patience: 0, minDelta: 100 });
    const adapter = tfjsCallback([reduce]);
    await model.fit(x, y, { ...FIT, epochs: 3, callbacks: [adapter] });
    expect(reduce.reductions.map((r) => r.epoch)).toEqual([1, 2]);
    expect(hyperParams(model.optimizer).lr).toBeCloseTo(0.01 * 0.2 * 0.2, 12);
    expect(adapter.recorder.history.map((s) => s.lr)).toEqual([0.01, 0.01, 0.01 * 0.2]);
    tf.dispose([x, y]);
  });

  test('state.learner.stop() ends model.fit after the current batch', async () => {
    const { model, x, y } = compiled();
    class StopAt extends Callback {
      override onBatchEnd(s: TrainingState) {
        if (s.epoch === 1 && s.batch === 2) s.learner.stop('user asked', 'interrupted');
      }
    }
    const events = new EventRecorder();
    const adapter = tfjsCallback([new StopAt(), events]);
    const h = await model.fit(x, y, { ...FIT, epochs: 5, callbacks: [adapter] });
    expect(adapter.state).toMatchObject({ status: 'interrupted', stopReason: 'user asked', step: 9 });
    expect(adapter.recorder.history).toHaveLength(1);
    expect(h.epoch).toEqual([0, 1]);
    expect(events.names().slice(-2)).toEqual(['onBatchEnd', 'onTrainEnd']);
    tf.dispose([x, y]);
  });

  test('a callback that throws fails model.fit, after onTrainEnd has run with status failed', async () => {
    const { model, x, y } = compiled();
    class Boom extends Callback {
      override onEpochEnd(s: TrainingState) {
        if (s.epoch === 1) throw new Error('disk full');
      }
    }
    const events = new EventRecorder();
    const adapter = tfjsCallback([new Boom(), events]);
    const fit = model.fit(x, y, { ...FIT, epochs: 4, callbacks: [adapter] });
    await expect(fit).rejects.toThrow(CallbackError);
    await expect(fit).rejects.toThrow('callback Boom.onEpochEnd threw: disk full');
    expect(events.states.at(-1)).toMatchObject({ event: 'onTrainEnd', status: 'failed' });
    expect(events.states.at(-1)?.error?.message).toBe('callback Boom.onEpochEnd threw: disk full');
    tf.dispose([x, y]);
  });

  test('fitWithCallbacks runs onTrainEnd (failed) when tfjs itself throws; plain model.fit cannot', async () => {
    const { model, x, y } = compiled();
    const crash = { onEpochEnd: async (epoch: number) => (epoch === 1 ? Promise.reject(new Error('tfjs callback crashed')) : undefined) };

    const bare = new EventRecorder();
    const adapter = tfjsCallback([bare]);
    await expect(model.fit(x, y, { ...FIT, epochs: 3, callbacks: [new tf.CustomCallback(crash), adapter] })).rejects.toThrow(
      'tfjs callback crashed',
    );
    expect(bare.names()).not.toContain('onTrainEnd');
    await adapter.finish(new Error('tfjs callback crashed'));
    expect(bare.states.at(-1)).toMatchObject({ event: 'onTrainEnd', status: 'failed' });

    const wrapped = new EventRecorder();
    await expect(fitWithCallbacks(model, x, y, { ...FIT, epochs: 3, callbacks: crash }, [wrapped])).rejects.toThrow(
      'tfjs callback crashed',
    );
    expect(wrapped.states.at(-1)).toMatchObject({ event: 'onTrainEnd', status: 'failed' });
    expect(wrapped.states.at(-1)?.error?.message).toBe('tfjs callback crashed');
    tf.dispose([x, y]);
  });

  test('model.fitDataset works too', async () => {
    const { model, x, y } = compiled();
    const train = tf.data.zip({ xs: tf.data.array(x.arraySync()), ys: tf.data.array(y.arraySync()) }).batch(64);
    const adapter = tfjsCallback([new TerminateOnNaN()]);
    const h = await fitDatasetWithCallbacks(model, train, { epochs: 2, validationData: [x, y] }, adapter);
    expect(h.epoch).toEqual([0, 1]);
    expect(adapter.recorder.history).toHaveLength(2);
    expect(adapter.recorder.rawLosses).toHaveLength(8);
    expect(adapter.state.numBatches).toBe(4);
    expect(adapter.recorder.history[1]?.validLoss).toBe(h.history.val_loss?.[1]);
    tf.dispose([x, y]);
  });

  test('every standard callback together under model.fit: no tensors leak from one fit to the next', async () => {
    const { model, x, y } = compiled();
    const dir = tmp();
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => {
      text += c.toString();
    });
    const adapter = tfjsCallback([
      new ProgressCallback({ stream: out, tty: false }),
      new CSVLogger(path.join(dir, 'log.csv')),
      new EarlyStopping({ monitor: 'acc', patience: 5, restoreBest: true }),
      new SaveModel(path.join(dir, 'best'), { loadBestAtEnd: true }),
      new ReduceLROnPlateau({ patience: 1 }),
      new TerminateOnNaN(),
    ]);
    await fitWithCallbacks(model, x, y, { ...FIT, epochs: 3 }, adapter);
    const after1 = tf.memory().numTensors;
    await fitWithCallbacks(model, x, y, { ...FIT, epochs: 3 }, adapter);
    expect(tf.memory().numTensors).toBe(after1);
    expect(text.trimEnd().split('\n')).toHaveLength(2 * 4);
    expect(text.split('\n')[0]).toMatch(/^epoch\s+train_loss\s+valid_loss\s+acc\s+time$/);
    tf.dispose([x, y]);
  });

  test('yields to the event loop during a long fit', async () => {
    const model = toyModel();
    model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
    const { x, y } = toyData(8192);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    await model.fit(x, y, { epochs: 1, batchSize: 32, callbacks: [tfjsCallback([], { yieldEveryMs: 20 })] });
    const elapsed = performance.now() - started;
    clearInterval(timer);
    expect(elapsed).toBeGreaterThan(100);
    expect(ticks).toBeGreaterThanOrEqual(2);
    tf.dispose([x, y]);
  });

  test('rejects what is not an epochcast callback', () => {
    expect(() => tfjsCallback([{ onEpochEnd() {} } as unknown as Callback])).toThrow(
      /tfjsCallback: callbacks must be an array of epochcast callbacks .* containing a Object/,
    );
    expect(() => tfjsCallback(new CSVLogger('x.csv') as unknown as Callback[])).toThrow(
      /tfjsCallback: callbacks must be an array .* received a CSVLogger/,
    );
    expect(() => tfjsCallback([], { yieldEveryMs: -5 })).toThrow(/tfjsCallback: yieldEveryMs must be a number >= 0; received -5/);
    expect(tfjsCallback([])).toBeInstanceOf(TfjsCallbackAdapter);
    expect(tfjsCallback([])).toBeInstanceOf(tf.Callback);
    void accuracy;
  });
});
