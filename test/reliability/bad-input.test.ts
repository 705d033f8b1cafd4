/**
 * Issue 8, bad input: each row is an input, what must happen (a ConfigError naming the problem, or
 * "handled": training runs to a clean end), and a check that no secret appears in anything printed
 * or sent (the error message, captured warnings, delivered messages).
 *
 * Rows already covered exactly elsewhere, not repeated:
 * - a Slack token that is no xox* token, a token with a space, a webhook URL that is no URL:
 *   packages/slack/test/config.test.ts; an https:// SMTP URL, a bad `from`: packages/email/test/email.test.ts;
 *   the `my chat` chat id and a missing token: packages/telegram/test/messages.test.ts.
 * - empty data (`x and y are empty (0 samples)`): packages/core/test/data.test.ts "empty data".
 * - TerminateOnNaN stopping at the first NaN/infinite batch: packages/core/test/callbacks (TerminateOnNaN).
 * - /lr junk answered with an example, a stranger's /stop ignored: packages/telegram/test/commands.test.ts.
 *   Here instead: junk and strangers together, and the training result is bit-for-bit unaffected.
 */
import { Callback, ConfigError, TerminateOnNaN, type TrainingState } from '@epochcast/core';
import { EmailCallback } from '@epochcast/email';
import { type Notifier, WebhookCallback } from '@epochcast/notify';
import { SlackCallback } from '@epochcast/slack';
import { TelegramCallback } from '@epochcast/telegram';
import {
  type SlackServer,
  type SmtpSink,
  startSlackServer,
  startSmtpSink,
  startTelegramServer,
  startWebhookServer,
  type TelegramServer,
  type WebhookServer,
} from '@epochcast/testkit';
import { SlowEpochs, toyLearner } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { leakedSecrets, type RunResult, SEEDED, trainSeeded } from './helpers.js';

const TG_TOKEN = '626262:badinput-SECRET-token';
const CHAT = 8080;
const SLACK_TOKEN = 'xoxb-badinput-SECRET-1';
const SMTP_PASSWORD = 'badinput-SECRET-pw';
const SMTP_URL = (host = 'smtp.example.test', port: number | string = 25) => `smtp://trainer:${SMTP_PASSWORD}@${host}:${port}`;
const SECRETS = [TG_TOKEN, 'badinput-SECRET-token', SLACK_TOKEN, SMTP_PASSWORD, 'junk SECRET token', 'xapp-SECRET-9'];

function configError(build: () => unknown): ConfigError {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('no ConfigError was thrown');
}

const email = (o: { smtpUrl?: string; from?: string; to?: string | string[] }) =>
  new EmailCallback({ smtpUrl: SMTP_URL(), from: 'runs@example.test', to: 'me@example.test', ...o });

describe('bad settings: a ConfigError at construction that says what is wrong, never quoting a secret', () => {
  const rows: [string, () => unknown, RegExp][] = [
    ['Telegram: empty token', () => new TelegramCallback({ token: '', chatId: CHAT }), /TELEGRAM_BOT_TOKEN/],
    ['Telegram: token with spaces', () => new TelegramCallback({ token: '626262:junk SECRET token', chatId: CHAT }), /token is malformed/],
    ['Telegram: token without the bot id', () => new TelegramCallback({ token: 'junk SECRET token', chatId: CHAT }), /token is malformed/],
    ['Telegram: chat id "abc"', () => new TelegramCallback({ token: TG_TOKEN, chatId: 'abc' }), /chatId must be a chat id/],
    ['Telegram: chat id NaN', () => new TelegramCallback({ token: TG_TOKEN, chatId: Number.NaN }), /chatId/],
    [
      'Slack: an app-level token (xapp-), not a bot token',
      () => new SlackCallback({ token: 'xapp-SECRET-9', channel: '#training' }),
      /malformed|xoxb/,
    ],
    [
      'Slack: channel "#bad name"',
      () => new SlackCallback({ token: SLACK_TOKEN, channel: '#bad name' }),
      /channel \(SLACK_CHANNEL\) must be/,
    ],
    ['Slack: empty channel', () => new SlackCallback({ token: SLACK_TOKEN, channel: '' }), /channel/],
    ['webhook: ftp:// URL', () => new WebhookCallback({ url: 'ftp://example.test/hook' }), /url must be http:\/\/ or https:\/\//],
    ['webhook: not a URL', () => new WebhookCallback({ url: 'example.test/hook' }), /url/],
    ['SMTP: smtpx:// scheme', () => email({ smtpUrl: `smtpx://trainer:${SMTP_PASSWORD}@host:25` }), /smtp:\/\/ or smtps:\/\//],
    ['SMTP: port 99999', () => email({ smtpUrl: SMTP_URL('host', 99999) }), /smtpUrl|port/],
    ['SMTP: port "abc"', () => email({ smtpUrl: SMTP_URL('host', 'abc') }), /smtpUrl|port/],
    ['e-mail: to "me@"', () => email({ to: 'me@' }), /to has an invalid e-mail address/],
    ['e-mail: one bad address in a list', () => email({ to: ['ok@example.test', 'not an address'] }), /to has an invalid e-mail address/],
    ['e-mail: from with two @', () => email({ from: 'a@@example.test' }), /from/],
    [
      'any notifier: empty run name',
      () => new WebhookCallback({ url: 'https://example.test/h', runName: '   ' }),
      /runName must be a non-empty string/,
    ],
  ];
  test.each(rows)('%s', (_, build, pattern) => {
    const error = configError(build);
    expect(error.message).toMatch(pattern);
    expect(leakedSecrets(`${error.message}\n${error.stack ?? ''}`, SECRETS)).toEqual([]);
  });
});

// ---- handled at run time ----------------------------------------------------------------------

let telegram: TelegramServer;
let slack: SlackServer;
let smtp: SmtpSink;
let hook: WebhookServer;
let warnings: string[] = [];
let baseline: RunResult;

beforeAll(async () => {
  await tf.setBackend('cpu');
  [telegram, slack, smtp, hook] = await Promise.all([
    startTelegramServer({ token: TG_TOKEN }),
    startSlackServer({ token: SLACK_TOKEN }),
    startSmtpSink(),
    startWebhookServer(),
  ]);
  baseline = await trainSeeded([]);
});
afterAll(async () => {
  await Promise.all([telegram.close(), slack.close(), smtp.close(), hook.close()]);
});
afterEach(() => {
  warnings = [];
  for (const s of [telegram, slack, smtp, hook]) s.clearReceived();
});

/** All four plugins against the local servers, every event on, warnings captured. */
function allFour(runName = 'bad-input', extra: { commands?: boolean } = {}): Notifier[] {
  const base = {
    runName,
    on: ['start', 'epoch', 'end', 'error'] as const,
    handleSignals: false,
    retries: 0,
    logger: { warn: (line: string) => warnings.push(line) },
  };
  return [
    new TelegramCallback({
      ...base,
      on: [...base.on],
      token: TG_TOKEN,
      chatId: CHAT,
      apiRoot: telegram.url,
      minSendIntervalMs: 0,
      commands: extra.commands ?? false,
    }),
    new SlackCallback({
      ...base,
      on: [...base.on],
      token: SLACK_TOKEN,
      channel: '#training',
      slackApiUrl: slack.apiUrl,
      minSendIntervalMs: 0,
    }),
    new EmailCallback({
      ...base,
      on: [...base.on],
      smtpUrl: SMTP_URL(smtp.host, smtp.port),
      from: 'runs@example.test',
      to: 'me@example.test',
    }),
    new WebhookCallback({ ...base, on: [...base.on], url: `${hook.url}/h` }),
  ];
}

/** What the services accepted and refused: every refusal is a limit or format violation. */
function deliveries() {
  const tg = telegram.received.filter((c) => ['sendMessage', 'editMessageText', 'sendPhoto'].includes(c.method));
  const sl = slack.received.filter((c) => c.method.startsWith('chat.') || c.method.startsWith('files.'));
  return {
    refused: [
      ...tg.filter((c) => c.status !== 200).map((c) => `telegram ${c.method}: ${c.description}`),
      ...sl.filter((c) => c.status !== 200 || c.error).map((c) => `slack ${c.method}: ${c.error}`),
      ...smtp.received.filter((m) => m.status !== 250).map((m) => `smtp ${m.status}`),
      ...hook.received.filter((r) => r.status !== 200).map((r) => `webhook ${r.status}`),
    ],
    texts: [
      ...tg.map((c) => String(c.params.text ?? c.params.caption ?? '')),
      ...sl.map((c) => `${String(c.params.text ?? '')}${String(c.params.blocks ?? '')}`),
      ...smtp.received.map((m) => m.raw),
      ...hook.received.map((r) => r.rawBody),
    ],
    counts: { telegram: tg.length, slack: sl.length, email: smtp.received.length, webhook: hook.received.length },
  };
}

function expectCleanDelivery(notifiers: Notifier[], events: string[]) {
  const { refused, texts, counts } = deliveries();
  expect(refused).toEqual([]);
  expect(warnings).toEqual([]);
  for (const n of notifiers) for (const e of events) expect(n.report.delivered, `${n.constructor.name}`).toContain(e);
  expect(Object.values(counts).every((c) => c > 0)).toBe(true);
  expect(leakedSecrets([...texts, ...warnings].join('\n'), SECRETS)).toEqual([]);
  return texts;
}

/** Multiplies the real loss by `factor` from the second batch on (NaN or Infinity). */
function poisonedLoss(factor: number) {
  let calls = 0;
  return (yTrue: tf.Tensor, yPred: tf.Tensor) => {
    calls += 1;
    const loss = tf.losses.softmaxCrossEntropy(yTrue, yPred);
    return calls > 1 ? tf.mul(loss, factor) : loss;
  };
}

describe('bad values at run time are handled: training ends cleanly, every service accepts what it gets', () => {
  test.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
  ])('%s loss: TerminateOnNaN stops the run cleanly (status stopped), the end message says so', async (_, factor) => {
    const notifiers = allFour();
    const learn = toyLearner([new TerminateOnNaN(), ...notifiers], { ...SEEDED, loss: poisonedLoss(factor), metrics: [] });
    await learn.fit(3, { lr: 1e-2 });
    expect(learn.state.status).toBe('stopped');
    expectCleanDelivery(notifiers, ['start', 'end']);
  });

  test.each([
    ['NaN', Number.NaN, /NaN/],
    ['Infinity', Number.POSITIVE_INFINITY, /NaN|Infinity|∞|inf/],
  ])('%s loss without TerminateOnNaN: training completes; the numbers render in every format', async (_, factor, shown) => {
    const notifiers = allFour();
    const learn = toyLearner([...notifiers, new SlowEpochs(100)], { ...SEEDED, loss: poisonedLoss(factor), metrics: [] });
    await learn.fit(2, { lr: 1e-2 });
    expect(learn.state.status).toBe('completed');
    const texts = expectCleanDelivery(notifiers, ['start', 'end']);
    for (const n of notifiers.filter((x) => !(x instanceof EmailCallback))) expect(n.report.delivered).toContain('epoch');
    expect(texts.join('\n')).toMatch(shown);
  });

  test('a 100,000-character run name: every message stays within its service limits (validated by the servers)', async () => {
    const name = `run-<b>&_*[${'x'.repeat(100_000)}`;
    const notifiers = allFour(name);
    const result = await trainSeeded([...notifiers, new SlowEpochs(100)], 2);
    expect(result).toEqual({ ...baseline, history: baseline.history.slice(0, 2), weights: result.weights });
    const texts = expectCleanDelivery(notifiers, ['start', 'end']);
    for (const n of notifiers.filter((x) => !(x instanceof EmailCallback))) expect(n.report.delivered).toContain('epoch');
    const tg = telegram.received.filter((c) => c.method === 'sendMessage').map((c) => String(c.params.text));
    for (const t of tg) expect(t.length).toBeLessThan(10_000);
    expect(texts.some((t) => t.includes('x'.repeat(20)))).toBe(true);
  });

  test('a 10,000-line stack trace: the error message reaches every service within its limits; fit rejects with the error', async () => {
    class DeepCrash extends Callback {
      override onEpochEnd(state: TrainingState) {
        if (state.epoch !== 1) return;
        const error = new Error('deep recursion blew up');
        error.stack = [
          `Error: deep recursion blew up`,
          ...Array.from({ length: 10_000 }, (_, i) => `    at frame${i} (file:///app/deep.js:${i + 1}:7)`),
        ].join('\n');
        throw error;
      }
    }
    const notifiers = allFour('deep-stack');
    await expect(trainSeeded([...notifiers, new DeepCrash()], 3)).rejects.toThrow('deep recursion blew up');
    const texts = expectCleanDelivery(notifiers, ['error']);
    // Head and tail of the stack survive the trimming.
    expect(texts.some((t) => t.includes('frame0') && t.includes('frame9999'))).toBe(true);
  });

  test('/lr junk and commands from strangers during a fit: junk gets an answer, strangers none; the result is bit-for-bit unchanged', async () => {
    const STRANGER = 666;
    class Pester extends Callback {
      override async onEpochEnd(state: TrainingState) {
        if (state.epoch !== 0) return;
        for (const text of ['/lr banana', '/lr -1', '/lr 1e999', '/lr 0.001 0.002']) telegram.pushUpdate({ chatId: CHAT, text });
        for (const text of ['/lr 0.5', '/stop', '/quiet']) telegram.pushUpdate({ chatId: STRANGER, text });
        await telegram.waitForCount(
          (c) => c.method === 'sendMessage' && c.params.chat_id === String(CHAT) && /lr/i.test(String(c.params.text)),
          4,
          8000,
        );
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    }
    const notifiers = allFour('pestered', { commands: true });
    const result = await trainSeeded([...notifiers, new Pester()]);
    expect(result).toEqual(baseline);
    expect(telegram.received.filter((c) => String(c.params.chat_id) === String(STRANGER))).toEqual([]);
    expect(warnings.filter((w) => !/stranger|not allowed|ignored/i.test(w))).toEqual([]);
    expect(leakedSecrets(warnings.join('\n'), SECRETS)).toEqual([]);
  });
});
