/**
 * Issue 15, finding 1: one service's secret must never reach another service. A run notifies
 * Telegram, Slack, e-mail, ntfy and a webhook (the testkit's real servers); its training error — or a
 * wrapped command's output and command line — quotes every service's credentials, as a script that
 * prints its configuration and fails does. Before the process-wide registry each notifier redacted
 * only its own secrets, so the Slack token, the SMTP password and the webhook secret went to
 * Telegram, and the Telegram token to Slack, e-mail and the webhook.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EmailCallback } from '@epochcast/email';
import { type Notifier, notifyRun, WebhookCallback } from '@epochcast/notify';
import { NtfyCallback } from '@epochcast/ntfy';
import { SlackCallback } from '@epochcast/slack';
import { TelegramCallback } from '@epochcast/telegram';
import {
  type NtfyServer,
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
import { CrashAt, toyLearner } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';

const CLI = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));

const TG_TOKEN = '616161:AAH-cross-SECRET-tg-token';
const SLACK_TOKEN = 'xoxb-cross-SECRET-slack-7c1d';
const SMTP_PASSWORD = 'cross-SECRET-smtp-pw';
const HOOK_SECRET = 'cross-SECRET-hmac-91';
const HOOK_PATH = 'PATHSECRET-cross-42';
const NTFY_TOKEN = 'tk_crossSECRETntfy0a1b2c';

/** Every secret and the forms it is recognised by: whole, by its secret part, URL-encoded. */
const SECRETS = [
  TG_TOKEN,
  'AAH-cross-SECRET-tg-token',
  encodeURIComponent(TG_TOKEN),
  SLACK_TOKEN,
  SMTP_PASSWORD,
  HOOK_SECRET,
  HOOK_PATH,
  NTFY_TOKEN,
];

interface Servers {
  telegram: TelegramServer;
  slack: SlackServer;
  smtp: SmtpSink;
  webhook: WebhookServer;
  ntfy: NtfyServer;
}

let servers: Servers;
let warnings: string[];

beforeAll(async () => {
  await tf.setBackend('cpu');
});

beforeEach(async () => {
  warnings = [];
  const [telegram, slack, smtp, webhook, ntfy] = await Promise.all([
    startTelegramServer({ token: TG_TOKEN }),
    startSlackServer({ token: SLACK_TOKEN }),
    startSmtpSink({ auth: { user: 'trainer', pass: SMTP_PASSWORD } }),
    // The signature scheme is not under test here: every request is recorded and answered 200.
    startWebhookServer({ secret: HOOK_SECRET, rejectInvalidSignature: false }),
    startNtfyServer({ token: NTFY_TOKEN }),
  ]);
  servers = { telegram, slack, smtp, webhook, ntfy };
});

afterEach(async () => {
  await Promise.all(Object.values(servers).map((s) => s.close()));
});

const hookUrl = (s: Servers) => `${s.webhook.url}/hooks/${HOOK_PATH}`;
const ntfyUrl = (s: Servers) => `${s.ntfy.url}/cross-runs`;
const smtpUrl = (s: Servers) => `smtp://trainer:${SMTP_PASSWORD}@${s.smtp.host}:${s.smtp.port}`;

/** What a script that prints its configuration and then fails would print. */
function configDump(s: Servers): string {
  return [
    `config dump: TELEGRAM_BOT_TOKEN=${TG_TOKEN} (secret part AAH-cross-SECRET-tg-token, encoded ${encodeURIComponent(TG_TOKEN)})`,
    `SLACK_BOT_TOKEN=${SLACK_TOKEN}`,
    `SMTP_URL=${smtpUrl(s)} password=${SMTP_PASSWORD}`,
    `EPOCHCAST_WEBHOOK_URL=${hookUrl(s)} EPOCHCAST_WEBHOOK_SECRET=${HOOK_SECRET}`,
    `NTFY_URL=${ntfyUrl(s)} NTFY_TOKEN=${NTFY_TOKEN}`,
  ].join('\n');
}

function notifiers(s: Servers, runName?: string): Notifier[] {
  const common = {
    handleSignals: false,
    minSendIntervalMs: 0,
    logger: { warn: (line: string) => warnings.push(line) },
    ...(runName ? { runName } : {}),
  };
  return [
    new TelegramCallback({ ...common, token: TG_TOKEN, chatId: 4242, apiRoot: s.telegram.url, commands: false }),
    new SlackCallback({ ...common, token: SLACK_TOKEN, channel: '#training', slackApiUrl: s.slack.apiUrl }),
    new EmailCallback({ ...common, smtpUrl: smtpUrl(s), from: 'runs@example.test', to: 'me@example.test' }),
    new WebhookCallback({ ...common, url: hookUrl(s), secret: HOOK_SECRET }),
    new NtfyCallback({ ...common, url: ntfyUrl(s), token: NTFY_TOKEN }),
  ];
}

/** Everything each service received as content: texts, bodies, e-mails with their attachments decoded. */
function received(s: Servers): Record<keyof Servers, string> {
  return {
    telegram: JSON.stringify(s.telegram.received.map((c) => ({ params: c.params, files: c.files.map((f) => f.filename) }))),
    slack: JSON.stringify(s.slack.received.map((c) => ({ params: c.params, files: c.files.map((f) => f.filename) }))),
    smtp: s.smtp.received
      .map((m) =>
        [
          m.subject,
          m.text,
          m.html,
          JSON.stringify(m.headers),
          m.raw,
          ...m.attachments.map((a) => `${a.filename}\n${a.contentType.startsWith('image/') ? '' : a.content.toString('utf8')}`),
        ].join('\n'),
      )
      .join('\n'),
    webhook: s.webhook.received.map((r) => `${JSON.stringify(r.headers)}\n${r.rawBody}`).join('\n'),
    // Its headers carry its own token, as they must: what a reader sees is the title, the text, the tags and the file's name.
    ntfy: JSON.stringify(s.ntfy.received.map((r) => ({ title: r.title, message: r.message, tags: r.tags, file: r.attachment?.name }))),
  };
}

function leaked(text: string): string[] {
  return SECRETS.filter((secret) => text.includes(secret));
}

/** No service received any secret, each did receive the (redacted) failure, and no warning leaked. */
function expectNoSecretCrossed(s: Servers): void {
  const got = received(s);
  for (const [service, text] of Object.entries(got)) {
    expect(leaked(text), `secrets that reached ${service}`).toEqual([]);
    expect(text, `${service} got the failure`).toContain('config dump');
    expect(text, `${service} got the failure redacted`).toContain('***');
  }
  expect(leaked(warnings.join('\n'))).toEqual([]);
}

describe('finding 1: no service receives another service’s secret', () => {
  test('a fit notifying Telegram, Slack, e-mail, ntfy and a webhook fails with an error quoting all their credentials: no server receives any of them, e-mail attachments included', async () => {
    const s = servers;
    // The run's name carries a secret too: it names every message, and the e-mail's CSV attachment.
    const learn = toyLearner([...notifiers(s, `sweep-${SLACK_TOKEN}`), new CrashAt(2, new Error(configDump(s)))]);
    await expect(learn.fit(4)).rejects.toThrow('config dump');
    const csv = s.smtp.received.flatMap((m) => m.attachments).find((a) => a.contentType.startsWith('text/csv'));
    expect(csv?.filename).toMatch(/history\.csv$/);
    expectNoSecretCrossed(s);
  });

  test('notifyRun: a job whose error quotes every credential, named with the Telegram token, sends none of them anywhere', async () => {
    const s = servers;
    const failure = new Error(configDump(s));
    await expect(notifyRun(() => Promise.reject(failure), { notifiers: notifiers(s), name: `job ${TG_TOKEN}` })).rejects.toBe(failure);
    expectNoSecretCrossed(s);
  });

  test('`epochcast run --telegram --slack --email --ntfy --webhook`: a command that prints every credential and fails sends none of them in its command line or last output lines', async () => {
    const s = servers;
    const script = `console.log(${JSON.stringify(configDump(s))}); process.exit(3)`;
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      TELEGRAM_BOT_TOKEN: TG_TOKEN,
      TELEGRAM_CHAT_ID: '4242',
      TELEGRAM_API_ROOT: s.telegram.url,
      SLACK_BOT_TOKEN: SLACK_TOKEN,
      SLACK_CHANNEL: '#training',
      SLACK_API_URL: s.slack.apiUrl,
      SMTP_URL: smtpUrl(s),
      EMAIL_FROM: 'runs@example.test',
      EMAIL_TO: 'me@example.test',
      EPOCHCAST_WEBHOOK_SECRET: HOOK_SECRET,
      NTFY_URL: ntfyUrl(s),
      NTFY_TOKEN: NTFY_TOKEN,
    };
    const args = ['run', '--telegram', '--slack', '--email', '--ntfy', '--webhook', hookUrl(s), '--', process.execPath, '-e', script];
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(3);
    // epochcast's own lines (its warnings) carry no secret either; the command's output is the user's.
    expect(leaked(stderr)).toEqual([]);
    expectNoSecretCrossed(s);
  });
});
