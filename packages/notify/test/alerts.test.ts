// The Alerts callback and its rules, on a scripted training: ReportedTraining runs the same hooks
// as a Learner, from losses and epochs the test chooses.
import { ReportedTraining } from '@epochcast/core';
import { toyLearner } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { type AlertRule, Alerts, divergence, nanLoss, plateau, slowEpoch, threshold } from '../src/index.js';
import { ScriptedNotifier } from './scripted-notifier.js';

/** A run whose notifier records only alerts, watched by `rules`. */
async function watched(rules: AlertRule[]) {
  const notifier = new ScriptedNotifier([{}], { on: ['alert'], handleSignals: false, plot: false });
  const run = new ReportedTraining([notifier, new Alerts(rules)]);
  await run.begin({ totalEpochs: 10 });
  return {
    run,
    async alerts() {
      await notifier.flush(5000);
      return notifier.sent.map((s) => [s.notification.alert?.level, s.notification.alert?.text]);
    },
    async end() {
      await run.end({ status: 'completed' });
    },
  };
}

/** An epoch of `losses` then its end, `timeMs` long. */
async function epoch(run: ReportedTraining, losses: readonly number[], report: Parameters<ReportedTraining['epoch']>[0] = {}) {
  for (const loss of losses) await run.batch(loss);
  await run.epoch(report);
}

const HEALTHY = [1, 0.8, 0.6, 0.5, 0.45, 0.4, 0.38, 0.36, 0.35, 0.34];

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('Alerts on a Learner', () => {
  test("the notifiers attached to the learner send the alert during the fit, named with the fit's run", async () => {
    const notifier = new ScriptedNotifier([{}], { on: ['start', 'alert', 'end'], handleSignals: false, plot: false, runName: 'toy' });
    const learn = toyLearner([notifier, new Alerts([threshold('accuracy', '>=', 0), nanLoss()])]);
    await learn.fit(2, { lr: 1e-2 });
    expect(notifier.events()).toEqual(['start', 'alert', 'end']);
    const alert = notifier.sent[1]?.notification;
    expect(alert).toMatchObject({ run: { name: 'toy', totalEpochs: 2 }, alert: { level: 'warning' } });
    expect(alert?.alert?.text).toMatch(/^accuracy \d+\.\d\d% at epoch 1\/2 \(≥ 0\.00%\)$/);
    expect(alert?.history).toHaveLength(1);
  });
});

describe('Alerts rules', () => {
  test('a healthy run raises none', async () => {
    const w = await watched([nanLoss(), divergence(), threshold('valid_loss', '>', 5), plateau('valid_loss'), slowEpoch()]);
    for (let e = 0; e < 8; e++) await epoch(w.run, HEALTHY, { validLoss: 0.5 - e * 0.02, timeMs: 1000 + (e % 2) * 100 });
    await w.end();
    expect(await w.alerts()).toEqual([]);
  });

  test('nanLoss: once, critical, where it happened; again only after a finite loss', async () => {
    const w = await watched([nanLoss()]);
    await epoch(w.run, [0.5, Number.NaN, Number.NaN, Number.NaN]);
    await epoch(w.run, [0.4, Number.POSITIVE_INFINITY]);
    expect(await w.alerts()).toEqual([
      ['critical', 'loss is NaN at epoch 1/10'],
      ['critical', 'loss is Infinity at epoch 2/10'],
    ]);
  });

  test('divergence: the loss above factor × its best fires once, and re-arms only once it is back under', async () => {
    const w = await watched([divergence({ factor: 4 })]);
    await epoch(w.run, [1, 0.5, 0.25, 0.9, 1.01, 2, 3]);
    await epoch(w.run, [0.3, 1.2]);
    expect(await w.alerts()).toEqual([
      ['warning', 'loss diverging at epoch 1/10: smoothed loss 1.010 is 4.0× its best (0.2500)'],
      ['warning', 'loss diverging at epoch 2/10: smoothed loss 1.200 is 4.8× its best (0.2500)'],
    ]);
  });

  test('threshold: fires when the epoch crosses the line, not again while it stays across', async () => {
    const w = await watched([threshold('accuracy', '>=', 0.95, { level: 'info' })]);
    for (const accuracy of [0.9, 0.951, 0.96, 0.94, 0.97]) await epoch(w.run, [0.5], { metrics: { accuracy } });
    expect(await w.alerts()).toEqual([
      ['info', 'accuracy 95.10% at epoch 2/10 (≥ 95.00%)'],
      ['info', 'accuracy 97.00% at epoch 5/10 (≥ 95.00%)'],
    ]);
  });

  test("plateau: no improvement (in the metric's own direction) for patience epochs", async () => {
    const w = await watched([plateau('valid_loss', { patience: 2, minDelta: 0.01 }), plateau('accuracy', { patience: 2 })]);
    const epochs = [
      [0.5, 0.8],
      [0.4, 0.85],
      [0.395, 0.84], // valid_loss better by less than minDelta: no improvement
      [0.41, 0.84],
      [0.3, 0.9],
    ] as const;
    for (const [validLoss, accuracy] of epochs) await epoch(w.run, [0.5], { validLoss, metrics: { accuracy } });
    expect(await w.alerts()).toEqual([
      ['warning', 'valid_loss has not improved for 2 epochs at epoch 4/10 (best 0.4000 at epoch 2)'],
      ['warning', 'accuracy has not improved for 2 epochs at epoch 4/10 (best 85.00% at epoch 2)'],
    ]);
  });

  test('slowEpoch: an epoch slower than factor × the median of the ones before', async () => {
    const w = await watched([slowEpoch({ factor: 2 })]);
    for (const timeMs of [30_000, 1000, 1100, 1000, 2500, 900]) await epoch(w.run, [0.5], { timeMs });
    // The first epochs have no median to compare with; 2.5 s is 2.4× the median of the four before (1.05 s),
    // the slow first one (compilation, warm-up) included.
    expect(await w.alerts()).toEqual([['warning', 'epoch 5/10 took 3s, 2.4× the median epoch (1s)']]);
  });

  test('each rule starts afresh with each fit', async () => {
    const notifier = new ScriptedNotifier([{}], { on: ['alert'], handleSignals: false, plot: false });
    const alerts = new Alerts([nanLoss()]);
    for (let fit = 0; fit < 2; fit++) {
      const run = new ReportedTraining([notifier, alerts]);
      await run.begin();
      await epoch(run, [Number.NaN, Number.NaN]);
      await run.end({ status: 'failed' });
    }
    await notifier.flush(5000);
    expect(notifier.sent.map((s) => s.notification.alert?.level)).toEqual(['critical', 'critical']);
  });

  test('bad rules and options are a clear error', () => {
    expect(() => new Alerts([])).toThrow(/rules must be a non-empty list of rules such as \[nanLoss\(\)/);
    expect(() => new Alerts([{} as AlertRule])).toThrow(/rules must be a non-empty list/);
    expect(() => divergence({ factor: 1 })).toThrow(/factor must be above 1/);
    expect(() => threshold('accuracy', '=>' as never, 0.9)).toThrow(/op must be one of > >= < <=/);
    expect(() => threshold('accuracy', '>=', Number.NaN)).toThrow(/value must be a finite number/);
    expect(() => plateau('valid_loss', { patience: 0 })).toThrow(/patience must be a whole number of epochs >= 1/);
    expect(() => nanLoss({ level: 'loud' as never })).toThrow(/level must be one of info, warning, critical/);
  });
});
