/**
 * Issue 15, finding 4: printing a notifier printed its secrets — `console.log(telegramCallback)`
 * showed the token four times, and `JSON.stringify` too, for every notifier class. Now a notifier
 * prints as `TelegramCallback { service: 'telegram', enabled: true }`, and its clients and
 * credentials sit in #private fields that no listing of its properties reaches: checked at
 * construction, in the middle of a fit (clients and command sessions live) and after it.
 */
import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { format, inspect } from 'node:util';
import { Callback } from '@epochcast/core';
import { EmailCallback } from '@epochcast/email';
import { ConsoleCallback, type Notifier, WebhookCallback } from '@epochcast/notify';
import { NtfyCallback } from '@epochcast/ntfy';
import { SlackCallback } from '@epochcast/slack';
import { TelegramCallback } from '@epochcast/telegram';
import {
  type NtfyServer,
  type SlackServer,
  type SmtpSink,
  type StreamSink,
  startNtfyServer,
  startSlackServer,
  startSmtpSink,
  startStreamSink,
  startTelegramServer,
  startWebhookServer,
  type TelegramServer,
  type WebhookServer,
} from '@epochcast/testkit';
import { toyLearner } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const TG_TOKEN = '727272:AAH-print-SECRET-tg';
const SLACK_TOKEN = 'xoxb-print-SECRET-slack';
const SLACK_HOOK_SECRET = 'print-SECRET-slack-hook-path';
const SMTP_PASSWORD = 'print-SECRET-smtp-pw';
const HOOK_PATH = 'print-SECRET-hook-path';
const HOOK_SECRET = 'print-SECRET-hmac';
const HOOK_HEADER = 'Bearer print-SECRET-api-key';
const NTFY_TOKEN = 'tk_printSECRETntfy42';
const NTFY_PASSWORD = 'print-SECRET-ntfy-pw';

/** Every secret of every notifier below, and each one's secret part. */
const SECRETS = [
  TG_TOKEN,
  'AAH-print-SECRET-tg',
  SLACK_TOKEN,
  SLACK_HOOK_SECRET,
  SMTP_PASSWORD,
  HOOK_PATH,
  HOOK_SECRET,
  'print-SECRET-api-key',
  NTFY_TOKEN,
  NTFY_PASSWORD,
  Buffer.from(`trainer:${NTFY_PASSWORD}`).toString('base64'),
];

let telegram: TelegramServer;
let slack: SlackServer;
let smtp: SmtpSink;
let webhook: WebhookServer;
let sink: StreamSink;
let ntfy: NtfyServer;
let ntfyWithUser: NtfyServer;

beforeAll(async () => {
  await tf.setBackend('cpu');
  [telegram, slack, smtp, webhook, sink, ntfy, ntfyWithUser] = await Promise.all([
    startTelegramServer({ token: TG_TOKEN }),
    startSlackServer({ token: SLACK_TOKEN }),
    startSmtpSink({ auth: { user: 'trainer', pass: SMTP_PASSWORD } }),
    startWebhookServer({ secret: HOOK_SECRET, rejectInvalidSignature: false }),
    startStreamSink(),
    startNtfyServer({ token: NTFY_TOKEN }),
    startNtfyServer({ user: { username: 'trainer', password: NTFY_PASSWORD } }),
  ]);
});

afterAll(async () => {
  await Promise.all([telegram, slack, smtp, webhook, sink, ntfy, ntfyWithUser].map((s) => s.close()));
});

const common = { handleSignals: false, minSendIntervalMs: 0, on: ['start', 'epoch', 'end'] as const, logger: { warn: () => {} } };

/** The seven notifier classes, Slack, e-mail and ntfy in both their configurations. */
const notifiers: Record<string, () => Notifier> = {
  TelegramCallback: () => new TelegramCallback({ ...common, token: TG_TOKEN, chatId: 42, apiRoot: telegram.url }),
  'SlackCallback (bot token)': () => new SlackCallback({ ...common, token: SLACK_TOKEN, channel: '#training', slackApiUrl: slack.apiUrl }),
  'SlackCallback (webhook URL)': () =>
    new SlackCallback({ ...common, webhookUrl: `${slack.url}/services/T0PRINT00/B0PRINT00/${SLACK_HOOK_SECRET}` }),
  'EmailCallback (SMTP URL)': () =>
    new EmailCallback({
      ...common,
      smtpUrl: `smtp://trainer:${SMTP_PASSWORD}@${smtp.host}:${smtp.port}`,
      from: 'runs@example.test',
      to: 'me@example.test',
    }),
  'EmailCallback (transport options)': () =>
    new EmailCallback({
      ...common,
      transport: { host: smtp.host, port: smtp.port, auth: { user: 'trainer', pass: SMTP_PASSWORD } },
      from: 'runs@example.test',
      to: 'me@example.test',
    }),
  WebhookCallback: () =>
    new WebhookCallback({
      ...common,
      url: `${webhook.url}/hooks/${HOOK_PATH}`,
      secret: HOOK_SECRET,
      headers: { 'x-api-key': HOOK_HEADER },
    }),
  ConsoleCallback: () => new ConsoleCallback({ ...common, stream: sink.stream }),
  'NtfyCallback (token)': () => new NtfyCallback({ ...common, url: `${ntfy.url}/print-runs`, token: NTFY_TOKEN }),
  'NtfyCallback (user:password in the URL)': () =>
    new NtfyCallback({ ...common, url: `${ntfyWithUser.url.replace('://', `://trainer:${NTFY_PASSWORD}@`)}/print-runs` }),
};

/** The object as each way of printing it shows it. */
function printed(value: unknown): Record<string, string> {
  let logged = '';
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logged += chunk.toString();
      done();
    },
  });
  const console = new Console({ stdout: out, stderr: out });
  console.log(value);
  console.dir(value, { depth: Number.POSITIVE_INFINITY, showHidden: true });
  return {
    'util.inspect (depth Infinity, showHidden)': inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true, getters: true }),
    'console.log and console.dir': logged,
    'format %o and %O': format('%o %O', value, value),
    'JSON.stringify': JSON.stringify(value) ?? '',
  };
}

/** The notifier printed every way, and each of its own properties printed every way. */
function everyPrint(notifier: Notifier): string[] {
  const out = Object.entries(printed(notifier)).map(([how, text]) => `${how}: ${text}`);
  for (const key of Reflect.ownKeys(notifier)) {
    const value: unknown = Reflect.get(notifier, key);
    // The fit's session holds the learner (a tfjs model); not the notifier's own state.
    if (key === 'session') continue;
    out.push(`${String(key)}: ${inspect(value, { depth: 8, showHidden: true })}`);
  }
  return out;
}

function leaked(texts: readonly string[]): string[] {
  return SECRETS.filter((secret) => texts.some((t) => t.includes(secret) || t.includes(encodeURIComponent(secret))));
}

/** Prints every notifier of the fit while it runs, after its first epoch. */
class PrintDuringFit extends Callback {
  override order = 200;
  texts: string[] = [];
  constructor(private readonly targets: readonly Notifier[]) {
    super();
  }
  override onEpochEnd(): void {
    if (this.texts.length === 0) for (const n of this.targets) this.texts.push(...everyPrint(n));
  }
}

describe('finding 4: printing a notifier shows none of its secrets', () => {
  test.each(Object.keys(notifiers))(
    '%s: util.inspect, console.log, console.dir, util.format and JSON.stringify show no secret, before, during and after a fit',
    async (name) => {
      const notifier = (notifiers[name] as () => Notifier)();
      const before = everyPrint(notifier);
      const during = new PrintDuringFit([notifier]);
      await toyLearner([notifier, during]).fit(2);
      const after = everyPrint(notifier);
      expect(leaked(before), 'at construction').toEqual([]);
      expect(during.texts.length).toBeGreaterThan(0);
      expect(leaked(during.texts), 'during the fit').toEqual([]);
      expect(leaked(after), 'after the fit').toEqual([]);
      // What it does show: which notifier it is, as data that serialises without cycles.
      expect(JSON.parse(JSON.stringify(notifier))).toEqual({
        notifier: notifier.constructor.name,
        service: notifier.service,
        enabled: true,
      });
      expect(inspect(notifier)).toBe(`${notifier.constructor.name} { service: '${notifier.service}', enabled: true }`);
      await notifier.close();
    },
  );

  test('a configuration holding every notifier serialises and prints without a secret (the notifiers hold the learner, the queue and each other: no cycle reaches JSON.stringify)', async () => {
    const all = Object.values(notifiers).map((make) => make());
    // One fit with all of them: each is then tied to the others through the fit's session.
    await toyLearner(all).fit(1);
    const config = { callbacks: all, names: all.map((n) => n.name) };
    const text = JSON.stringify(config);
    expect(leaked([text, inspect(config, { depth: Number.POSITIVE_INFINITY, showHidden: true })])).toEqual([]);
    expect(JSON.parse(text).callbacks).toHaveLength(all.length);
    await Promise.all(all.map((n) => n.close()));
  });
});
