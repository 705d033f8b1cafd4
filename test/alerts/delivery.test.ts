// The Alerts callback end to end: a real Learner whose loss is scripted (it diverges, turns NaN,
// crosses a line, plateaus, has a slow epoch) watched by the five rules, with every service's
// notifier attached, each against its testkit server through its real client. Each rule fires once,
// and each service delivers the alerts loud — where it has loud and quiet — while the epoch updates
// stay quiet (Telegram sound, a top-level Slack message, ntfy priority high, an e-mail subject
// starting [alert]). A healthy run, with the same rules, alerts no one.
import { Callback, type LossFn, type TrainingState } from '@epochcast/core';
import { EmailCallback } from '@epochcast/email';
import { Alerts, divergence, type Notifier, nanLoss, plateau, slowEpoch, threshold, WebhookCallback } from '@epochcast/notify';
import { NtfyCallback } from '@epochcast/ntfy';
import { SlackCallback } from '@epochcast/slack';
import { TelegramCallback } from '@epochcast/telegram';
import {
  type NtfyServer,
  parseTelegramText,
  type SlackServer,
  type SmtpSink,
  startNtfyServer,
  startSlackServer,
  startSmtpSink,
  startTelegramServer,
  startWebhookServer,
  type TelegramServer,
  type WebhookServer,
} from '@epochcast/testkit';
import { disposeToyLearner, toyLearner } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const TELEGRAM_TOKEN = '123456:ALERTS-token-5e8d1b';
const CHAT = 4242;
const SLACK_TOKEN = 'xoxb-alerts-2c9f7a';

/** Per epoch (0-based): the training loss of every batch and the validation loss. */
interface EpochScript {
  train: number;
  valid: number;
  /** How long the epoch waits after its training batches, so that it takes at least that long. */
  extraMs?: number;
}

/**
 * A loss that ignores the model and returns the script's value for the phase and epoch the
 * Learner is in: the Learner's own loss path (the step, the Recorder's smoothing, validation's
 * average) carries it. Its gradient is zero, so the weights stay finite even when the loss is NaN.
 */
class ScriptedLoss extends Callback {
  override order = -100;
  #epoch = 0;
  #training = true;
  constructor(private readonly script: readonly EpochScript[]) {
    super();
  }
  readonly loss: LossFn = (_yTrue, yPred) => {
    const step = this.script[this.#epoch] ?? (this.script.at(-1) as EpochScript);
    return tf.add(tf.mul(tf.mean(yPred), 0), this.#training ? step.train : step.valid);
  };
  override onEpochBegin(state: TrainingState): void {
    this.#epoch = state.epoch;
    this.#training = true;
  }
  /** `tf.memory().numTensors` at the end of each epoch: flat once the optimizer holds its state. */
  readonly tensorsAtEpochEnd: number[] = [];
  // The wait is part of the epoch (its time is measured up to the epoch's end), before validation.
  override async onValidateBegin(state: TrainingState): Promise<void> {
    this.#training = false;
    const wait = this.script[state.epoch]?.extraMs ?? 0;
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  override onEpochEnd(): void {
    this.tensorsAtEpochEnd.push(tf.memory().numTensors);
  }
}

// Every epoch waits at least 150 ms, so that the toy's few-ms epochs do not make the slow-epoch rule a
// measure of scheduling noise on a loaded machine, and so that each epoch's update leaves before the
// next (a service's pacing would rightly coalesce them otherwise).
const FLOOR_MS = 150;

const TROUBLED: readonly EpochScript[] = [
  { train: 1, valid: 1, extraMs: FLOOR_MS },
  { train: 0.5, valid: 0.8, extraMs: FLOOR_MS },
  { train: 0.4, valid: 0.81, extraMs: FLOOR_MS },
  { train: 0.4, valid: 0.82, extraMs: FLOOR_MS }, // no better for 2 epochs: plateau
  { train: 50, valid: 3, extraMs: FLOOR_MS }, // diverges; valid_loss crosses 2
  { train: Number.NaN, valid: 3.5, extraMs: FLOOR_MS + 3000 }, // NaN, and an epoch far slower than the rest
];

const HEALTHY: readonly EpochScript[] = [1, 0.8, 0.6, 0.5, 0.45, 0.4].map((loss) => ({
  train: loss,
  valid: loss + 0.05,
  extraMs: FLOOR_MS,
}));

const rules = () => [
  nanLoss(),
  divergence({ factor: 4 }),
  threshold('valid_loss', '>', 2),
  plateau('valid_loss', { patience: 2 }),
  // 10× the median: the slow epoch above is ~20× the others, scheduling noise on a loaded machine is not.
  slowEpoch({ factor: 10 }),
];

/**
 * What each rule says about the troubled run, in the order they fire. Each service renders the text
 * in its own markup (Slack escapes `>` as `&gt;`), so these match the words that matter.
 */
const EXPECTED_ALERTS = [
  /valid_loss has not improved for 2 epochs at epoch 4\/6 \(best 0\.8000 at epoch 2\)/,
  /loss diverging at epoch 5\/6: smoothed loss \d+\.\d+ is \d+\.\d× its best \(0\.\d+\)/,
  /valid_loss 3\.000 at epoch 5\/6 \((>|&gt;) 2\.000\)/,
  /loss is NaN at epoch 6\/6, batch 1\/3/,
  /epoch 6\/6 took \d+s, \d+\.\d× the median epoch \(\S+\)/,
];

/** Expects `headlines` to be the five alerts, in order, each from the run and marked by its level. */
function expectTheFiveAlerts(headlines: readonly string[]): void {
  expect(headlines).toHaveLength(EXPECTED_ALERTS.length);
  headlines.forEach((headline, i) => {
    expect(headline).toMatch(EXPECTED_ALERTS[i] as RegExp);
    expect(headline).toMatch(i === 3 ? /🚨 scripted · /u : /🔔 scripted · /u);
  });
}

interface Services {
  telegram: TelegramServer;
  slack: SlackServer;
  smtp: SmtpSink;
  webhook: WebhookServer;
  ntfy: NtfyServer;
  warnings: string[];
  close(): Promise<void>;
}

async function startServices(): Promise<Services> {
  const [telegram, slack, smtp, webhook, ntfy] = await Promise.all([
    startTelegramServer({ token: TELEGRAM_TOKEN }),
    startSlackServer({ token: SLACK_TOKEN, channels: [{ id: 'C0TRAINING', name: 'training' }] }),
    startSmtpSink(),
    startWebhookServer(),
    startNtfyServer(),
  ]);
  return {
    telegram,
    slack,
    smtp,
    webhook,
    ntfy,
    warnings: [],
    close: async () => {
      await Promise.all([telegram.close(), slack.close(), smtp.close(), webhook.close(), ntfy.close()]);
    },
  };
}

/** One notifier per service, each with its defaults but the run's name, no plot and no signal handlers. */
function notifiers(s: Services): Notifier[] {
  const shared = { runName: 'scripted', plot: false, handleSignals: false, logger: { warn: (line: string) => s.warnings.push(line) } };
  return [
    new TelegramCallback({ ...shared, token: TELEGRAM_TOKEN, chatId: CHAT, apiRoot: s.telegram.url, commands: false }),
    new SlackCallback({ ...shared, token: SLACK_TOKEN, channel: '#training', slackApiUrl: s.slack.apiUrl }),
    new EmailCallback({ ...shared, smtpUrl: s.smtp.url, from: 'runs@example.com', to: 'ada@example.com' }),
    new WebhookCallback({ ...shared, url: `${s.webhook.url}/hooks/alerts` }),
    new NtfyCallback({ ...shared, url: `${s.ntfy.url}/training-runs` }),
  ];
}

async function fitScripted(script: readonly EpochScript[], s: Services): Promise<void> {
  const scripted = new ScriptedLoss(script);
  const all = notifiers(s);
  const learn = toyLearner([scripted, ...all, new Alerts(rules())], { loss: scripted.loss, hidden: 0 });
  await learn.fit(script.length, { lr: 1e-3 });
  expect(new Set(scripted.tensorsAtEpochEnd).size, `tensors at each epoch end: ${scripted.tensorsAtEpochEnd}`).toBe(1);
  await Promise.all(all.map((n) => n.flush(10_000)));
  disposeToyLearner(learn);
}

/** What a Telegram message shows, its HTML markup parsed as Telegram does. */
const shownOnTelegram = (text: unknown) => {
  const parsed = parseTelegramText(String(text), 'HTML');
  return parsed.ok ? parsed.text : '';
};
const telegramAlerts = (s: Services) =>
  s.telegram.received.filter((c) => c.method === 'sendMessage' && /^(🚨|🔔|ℹ️) scripted · /u.test(shownOnTelegram(c.params.text)));
const slackChannelMessages = (s: Services) => s.slack.messages('training').filter((m) => !m.thread_ts);
const webhookEvents = (s: Services) => s.webhook.received.map((r) => r.body as { event: string; alert?: { text: string; level: string } });

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('alert rules on a scripted Learner, delivered by every service', () => {
  let s: Services;
  beforeAll(async () => {
    s = await startServices();
    await fitScripted(TROUBLED, s);
  });
  afterAll(async () => {
    await s.close();
  });

  test('the webhook receives each rule once, in the order the training met them, with its level', () => {
    const alerts = webhookEvents(s)
      .filter((e) => e.event === 'alert')
      .map((e) => e.alert);
    expect(alerts.map((a) => a?.level)).toEqual(['warning', 'warning', 'warning', 'critical', 'warning']);
    expect(alerts.map((a) => a?.text)).toEqual(EXPECTED_ALERTS.map((pattern) => expect.stringMatching(new RegExp(`^${pattern.source}$`))));
    // The run still reported its epochs and its end around them.
    expect(webhookEvents(s).map((e) => e.event)).toEqual(expect.arrayContaining(['start', 'end']));
  });

  test('Telegram: each alert is its own message with sound, while the live epoch message stays silent', () => {
    const alerts = telegramAlerts(s);
    expectTheFiveAlerts(alerts.map((c) => shownOnTelegram(c.params.text).split('\n')[0] ?? ''));
    expect(alerts.map((c) => c.params.disable_notification)).toEqual(alerts.map(() => undefined));
    expect(alerts.every((c) => c.status === 200)).toBe(true);
    // The live epoch message: sent silently once (then edited as the service's pace allows).
    const live = s.telegram.received.filter((c) => c.method === 'sendMessage' && shownOnTelegram(c.params.text).startsWith('📈'));
    expect(live.map((c) => c.params.disable_notification)).toEqual(['true']);
    // With sound: the start, the five alerts and the end, nothing else.
    const loud = s.telegram.received.filter((c) => c.method === 'sendMessage' && c.params.disable_notification === undefined);
    expect(loud).toHaveLength(7);
  });

  test('Slack: each alert is a top-level channel message, while the epochs are replies in the run thread', () => {
    const [card, ...alerts] = slackChannelMessages(s);
    expect(card?.text).toMatch(/^❌ scripted|^✅ scripted/u);
    expectTheFiveAlerts(alerts.map((m) => m.text.split('\n')[0] ?? ''));
    const replies = s.slack.messages('training').filter((m) => m.thread_ts === card?.ts);
    expect(replies.filter((m) => m.text.startsWith('📈')).length).toBeGreaterThan(0);
    expect(replies.some((m) => /scripted · /.test(m.text))).toBe(false);
  });

  test('e-mail: each alert is a mail whose subject starts [alert]; epoch mails stay off', async () => {
    const mails = await s.smtp.waitForCount((m) => m.subject.startsWith('[alert]'), 5, 10_000);
    expect(mails.map((m) => m.subject)).toEqual(mails.map(() => expect.stringMatching(/^\[alert\] /)));
    expectTheFiveAlerts(mails.map((m) => m.subject));
    expect(s.smtp.received.map((m) => m.headers['x-epochcast-event'])).toEqual(['alert', 'alert', 'alert', 'alert', 'alert', 'end']);
  });

  test('ntfy: each alert is a high-priority push (urgent when critical), while the epochs are low', () => {
    const pushes = s.ntfy.received.filter((r) => r.status === 200);
    const alerts = pushes.filter((r) => r.title === 'scripted · alert');
    // The Markdown escapes (`valid\_loss`) as the phone shows them: without the backslashes.
    expectTheFiveAlerts(alerts.map((r) => r.message.split('\n')[0]?.replace(/\\(.)/g, '$1') ?? ''));
    expect(alerts.map((r) => r.priority)).toEqual([4, 4, 4, 5, 4]);
    expect(alerts.map((r) => r.tags)).toEqual([['warning'], ['warning'], ['warning'], ['rotating_light'], ['warning']]);
    const epochs = pushes.filter((r) => r.title?.startsWith('scripted · epoch'));
    expect(epochs.length).toBeGreaterThan(0);
    expect(epochs.every((r) => r.priority === 2)).toBe(true);
  });

  test('nothing was refused or warned about', () => {
    expect(s.warnings).toEqual([]);
    expect(s.telegram.received.filter((c) => c.status !== 200)).toEqual([]);
    expect(s.slack.received.filter((c) => c.error)).toEqual([]);
  });
});

describe('a healthy run under the same rules', () => {
  test('alerts no one, on any service', async () => {
    const s = await startServices();
    try {
      await fitScripted(HEALTHY, s);
      expect(webhookEvents(s).map((e) => e.event)).toEqual(expect.arrayContaining(['start', 'end']));
      expect(webhookEvents(s).filter((e) => e.event === 'alert')).toEqual([]);
      expect(telegramAlerts(s)).toEqual([]);
      expect(slackChannelMessages(s)).toHaveLength(1);
      expect(s.smtp.received.map((m) => m.headers['x-epochcast-event'])).toEqual(['end']);
      expect(s.ntfy.received.filter((r) => r.title === 'scripted · alert' || r.priority > 3)).toEqual([]);
      expect(s.warnings).toEqual([]);
    } finally {
      await s.close();
    }
  });
});
