import { Callback, ConfigError, Learner, type TrainingState } from '@epochcast/core';
import { startStreamSink, startWebhookServer } from '@epochcast/testkit';
import { toyLoaders, toyModel } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import {
  type AlertLevel,
  ConsoleCallback,
  jobNotification,
  jobRunInfo,
  type Notification,
  type Notifier,
  WebhookCallback,
  type WebhookPayload,
} from '../src/index.js';
import { ScriptedNotifier } from './scripted-notifier.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

afterEach(() => {
  delete process.env.RANK;
  delete process.env.EPOCHCAST_DISABLE;
});

function learnerWith(...callbacks: Callback[]) {
  return new Learner({ model: toyModel(), data: toyLoaders(64, 32), loss: 'categoricalCrossentropy', callbacks });
}

const warnings = () => {
  const lines: string[] = [];
  return { lines, logger: { warn: (line: string) => lines.push(line) } };
};

/** Raises an alert at the end of each listed epoch, after every other callback's work (as user code would). */
class AlertAt extends Callback {
  override order = 200;
  constructor(
    private readonly notifier: Notifier,
    private readonly epochs: number[],
    private readonly level: AlertLevel = 'warning',
  ) {
    super();
  }
  override onEpochEnd(state: TrainingState): void {
    if (this.epochs.includes(state.epoch)) this.notifier.alert(`valid_loss jumped at epoch ${state.epoch + 1}`, { level: this.level });
  }
}

const alertsOf = (n: ScriptedNotifier): Notification[] =>
  n.sent.map((s) => s.notification).filter((notification) => notification.event === 'alert');

describe('notifier.alert() during a fit', () => {
  test("names the fit's run, carries the epochs so far, and keeps its place among the epoch messages", async () => {
    const notifier = new ScriptedNotifier([{}], { runName: 'mnist' });
    await learnerWith(notifier, new AlertAt(notifier, [1], 'critical')).fit(4);
    const sent = notifier.sent.map((s) => s.notification);
    expect(sent.filter((n) => n.event !== 'epoch').map((n) => n.event)).toEqual(['start', 'alert', 'end']);
    const at = sent.findIndex((n) => n.event === 'alert');
    const alert = sent[at] as Notification;
    expect(alert.alert).toEqual({ text: 'valid_loss jumped at epoch 2', level: 'critical' });
    expect(alert.run.id).toBe(sent[0]?.run.id);
    expect(alert.run.name).toBe('mnist');
    expect(alert.status).toBe('running');
    expect(alert.history.map((h) => h.epoch)).toEqual([0, 1]);
    expect(alert.stats?.epoch).toBe(1);
    // Epoch messages of epochs 1 and 2 come before it, later ones after it.
    sent.forEach((n, i) => {
      if (n.event === 'epoch') expect(i < at).toBe((n.stats?.epoch ?? -1) <= 1);
    });
    // Only the alert carries `alert`.
    expect(sent.filter((n) => n.alert !== undefined)).toEqual([alert]);
  });

  test('alert() only queues: it returns at once while the service takes 300 ms per message', async () => {
    const notifier = new ScriptedNotifier([{ delayMs: 300 }], { on: ['alert'] });
    let longest = 0;
    class Timed extends Callback {
      override order = 200;
      override onEpochEnd() {
        const t = performance.now();
        notifier.alert('one');
        notifier.alert('two', { level: 'info' });
        longest = Math.max(longest, performance.now() - t);
      }
    }
    await learnerWith(notifier, new Timed()).fit(2);
    expect(longest).toBeLessThan(50);
    // The end of the fit waited for all four: none coalesced, none dropped.
    expect(alertsOf(notifier).map((n) => `${n.alert?.text}/${n.alert?.level}`)).toEqual([
      'one/warning',
      'two/info',
      'one/warning',
      'two/info',
    ]);
  });

  test('alerts behind a slow service are not coalesced with epochs nor dropped for the end, and keep their order', async () => {
    const notifier = new ScriptedNotifier([{ delayMs: 120 }]);
    await learnerWith(notifier, new AlertAt(notifier, [2, 5, 9])).fit(10);
    const events = notifier.events();
    expect(notifier.report.coalesced).toBeGreaterThan(0);
    expect(alertsOf(notifier).map((n) => n.alert?.text)).toEqual([
      'valid_loss jumped at epoch 3',
      'valid_loss jumped at epoch 6',
      'valid_loss jumped at epoch 10',
    ]);
    // The alert of the last epoch was queued right before the end, behind a busy service.
    expect(events.slice(-2)).toEqual(['alert', 'end']);
    // In the order things happened: the epochs messages and alerts are about never go back, and an
    // epoch message after an alert is about a later epoch than the alert.
    const order = notifier.sent
      .map(({ notification: n }) => ({ event: n.event, epoch: n.stats?.epoch ?? -1 }))
      .filter((m) => m.event === 'epoch' || m.event === 'alert');
    for (let i = 1; i < order.length; i++) {
      const [before, after] = [order[i - 1], order[i]];
      expect(after?.epoch).toBeGreaterThanOrEqual(before?.epoch ?? 0);
      if (before?.event === 'alert' && after?.event === 'epoch') expect(after.epoch).toBeGreaterThan(before.epoch);
    }
  });
});

describe('notifier.alert() outside a fit', () => {
  test('names this process as a job (runName), is delivered in the background, and flush() waits for it', async () => {
    const notifier = new ScriptedNotifier([{ delayMs: 100 }], { runName: 'nightly-etl' });
    expect(notifier.alert('disk 91% full', { level: 'info' })).toBeUndefined();
    notifier.alert('disk 97% full', { level: 'critical' });
    expect(notifier.sent).toHaveLength(0);
    const report = await notifier.flush(5000);
    expect(report.delivered).toEqual(['alert', 'alert']);
    const [first, second] = alertsOf(notifier);
    expect(first?.alert).toEqual({ text: 'disk 91% full', level: 'info' });
    expect(second?.alert).toEqual({ text: 'disk 97% full', level: 'critical' });
    expect(first?.run).toMatchObject({ name: 'nightly-etl', totalEpochs: 0, schedule: 'job' });
    expect(first?.history).toEqual([]);
    // One job per process: both alerts name the same run.
    expect(second?.run.id).toBe(first?.run.id);
    // The job is the process: started when it did.
    expect(first?.run.startedAt).toBe(Math.round(performance.timeOrigin));
  });

  test('only rank 0 sends alerts, and only when `on` has them', async () => {
    process.env.RANK = '1';
    const ranked = new ScriptedNotifier();
    ranked.alert('from rank 1');
    await ranked.flush(1000);
    expect(ranked.sent).toEqual([]);
    delete process.env.RANK;
    const narrowed = new ScriptedNotifier([{}], { on: ['end'] });
    narrowed.alert('not asked for');
    await narrowed.flush(1000);
    expect(narrowed.sent).toEqual([]);
    const off = new ScriptedNotifier([{}], { enabled: false });
    off.alert('switched off');
    await off.flush(1000);
    expect(off.sent).toEqual([]);
  });
});

describe('bad input to alert()', () => {
  test('is a ConfigError naming the problem and the fix, even on a switched-off notifier', () => {
    for (const notifier of [new ScriptedNotifier(), new ScriptedNotifier([{}], { enabled: false })]) {
      const bad = (run: () => void) => expect(run).toThrow(ConfigError);
      bad(() => notifier.alert(''));
      expect(() => notifier.alert('   ')).toThrow(
        `ScriptedNotifier.alert: the alert's text must be a non-empty string; received "   ". Pass what happened, e.g. alert('loss is NaN at epoch 3', { level: 'critical' }).`,
      );
      expect(() => notifier.alert(42 as unknown as string)).toThrow(/text must be a non-empty string; received 42/);
      expect(() => notifier.alert('x', { level: 'loud' as AlertLevel })).toThrow(
        `ScriptedNotifier.alert: the alert's level must be one of info, warning, critical; received "loud". Pass e.g. { level: 'critical' }, or leave it out for 'warning'.`,
      );
      expect(() => notifier.alert('x', 'critical' as unknown as { level: AlertLevel })).toThrow(
        /the alert's options must be an object such as \{ level: 'warning' \}; received "critical"/,
      );
    }
  });

  test('a long text is cut to 1000 characters; a secret in it is redacted, even one the cut would halve', async () => {
    const token = '123456789:AAE-alert-secret-token-value';
    const notifier = new ScriptedNotifier([{}], { secret: token });
    notifier.alert(`${'x'.repeat(980)} ${token} and more`);
    notifier.alert(`the token is ${token}\n${'y'.repeat(5000)}`);
    await notifier.flush(1000);
    const [acrossTheCut = '', long = ''] = alertsOf(notifier).map((n) => n.alert?.text ?? '');
    // Cut first, it would have kept the token's first 18 characters, which no redaction recognises.
    expect(acrossTheCut).toBe(`${'x'.repeat(980)} *** and more`);
    expect(long).toHaveLength(1000);
    expect(long.endsWith('…')).toBe(true);
    expect(long.startsWith('the token is ***\nyyy')).toBe(true);
  });
});

describe('the alert bound', () => {
  test('at most 20 alerts wait; later ones are dropped with one warning line saying how many', async () => {
    const { lines, logger } = warnings();
    const notifier = new ScriptedNotifier([{ delayMs: 15 }], { logger });
    // A script printing alert lines in a loop, far faster than the service takes them.
    for (let i = 0; i < 500; i++) notifier.alert(`line ${i}`);
    const report = await notifier.flush(10_000);
    // The first is in flight at once, 20 wait behind it, the other 479 are dropped.
    expect(alertsOf(notifier).map((n) => n.alert?.text)).toEqual(Array.from({ length: 21 }, (_, i) => `line ${i}`));
    expect(report.droppedAlerts).toBe(479);
    expect(lines).toEqual([
      'epochcast scripted: dropped 479 alerts: 20 were already waiting to be delivered (alerts came faster than the service took them); the waiting ones were kept',
    ]);
    // Once the backlog is gone, alerts go out again; a later burst gets a line of its own.
    notifier.alert('after the burst');
    await notifier.flush(1000);
    expect(alertsOf(notifier).at(-1)?.alert?.text).toBe('after the burst');
    expect(lines).toHaveLength(1);
  });

  test('the dropped count is told once the backlog is delivered, without waiting for a flush', async () => {
    const { lines, logger } = warnings();
    const notifier = new ScriptedNotifier([{ delayMs: 5 }], { logger });
    for (let i = 0; i < 25; i++) notifier.alert(`line ${i}`);
    const deadline = performance.now() + 5000;
    while (lines.length === 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(lines).toEqual([expect.stringMatching(/^epochcast scripted: dropped 4 alerts: 20 were already waiting/)]);
    expect(alertsOf(notifier)).toHaveLength(21);
  });
});

describe('jobNotification for alerts (epochcast run)', () => {
  test('an alert takes { text, level }, checked and bounded as alert() does; other events take none', () => {
    const run = jobRunInfo({ name: 'train.py' });
    const n = jobNotification('alert', run, 'running', { alert: { text: `stalled ${'.'.repeat(2000)}` } });
    expect(n.alert?.level).toBe('warning');
    expect(n.alert?.text).toHaveLength(1000);
    expect(jobNotification('alert', run, 'running', { alert: { text: 'ok', level: 'info' } }).alert).toEqual({ text: 'ok', level: 'info' });
    expect(() => jobNotification('alert', run, 'running')).toThrow(/an alert needs its text: pass \{ alert: \{ text, level \} \}/);
    expect(() => jobNotification('alert', run, 'running', { alert: { text: '' } })).toThrow(ConfigError);
    expect(() => jobNotification('end', run, 'completed', { alert: { text: 'x' } })).toThrow(
      /only an 'alert' notification carries alert; received event "end"/,
    );
  });
});

describe('alerts through the notify plugins', () => {
  test('WebhookCallback posts event "alert" with alert: { text, level } and the epochs so far', async () => {
    const server = await startWebhookServer({ secret: 'hmac-alert-9f1c' });
    try {
      const hook = new WebhookCallback({ url: `${server.url}/hook`, secret: 'hmac-alert-9f1c', on: ['alert'], runName: 'tiny' });
      await learnerWith(hook, new AlertAt(hook, [1], 'info')).fit(3);
      hook.alert('outside the fit', { level: 'critical' });
      await hook.flush(5000);
      const requests = server.received;
      expect(requests.map((r) => r.headers['x-epochcast-event'])).toEqual(['alert', 'alert']);
      expect(requests.every((r) => r.signatureValid === true)).toBe(true);
      const [during, outside] = requests.map((r) => r.body as WebhookPayload);
      expect(during?.event).toBe('alert');
      expect(during?.alert).toEqual({ text: 'valid_loss jumped at epoch 2', level: 'info' });
      expect(during?.history.map((h) => h.epoch)).toEqual([0, 1]);
      expect(outside?.alert).toEqual({ text: 'outside the fit', level: 'critical' });
      expect(outside?.history).toEqual([]);
    } finally {
      await server.close();
    }
  });

  test('ConsoleCallback writes an alert as one line: its headline', async () => {
    const sink = await startStreamSink();
    try {
      const console = new ConsoleCallback({ stream: sink.stream, on: ['alert'], runName: 'tiny' });
      console.alert('loss is NaN\nat epoch 3', { level: 'critical' });
      console.alert('checkpoint saved', { level: 'info' });
      await console.flush(1000);
      expect(sink.written()).toEqual(['🚨 tiny · loss is NaN at epoch 3\n', 'ℹ️ tiny · checkpoint saved\n']);
    } finally {
      await sink.close();
    }
  });
});
