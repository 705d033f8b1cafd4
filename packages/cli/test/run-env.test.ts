// Issue 15, finding 1 (the CLI half): `epochcast run` gave the command every credential in its
// environment, and the command's last output lines went into every message — one service's secret
// reached the others. The command now starts without epochcast's own credentials unless
// `--pass-env` names them.
import type { Notification } from '@epochcast/notify';
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
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';
import { cli, nodeScript } from './helpers.js';

const TG_TOKEN = '717171:env-SECRET-telegram-token';
const SLACK_TOKEN = 'xoxb-env-SECRET-slack-token';
const SMTP_PASSWORD = 'env-SECRET-smtp-password';
const WEBHOOK_SECRET = 'env-SECRET-webhook-signing-key';
const NTFY_TOKEN = 'tk_envSECRETntfytoken';
const REDIS_PASSWORD = 'env-SECRET-redis-password';
const SLACK_WEBHOOK = 'https://hooks.slack.example/services/T0/B0/env-SECRET-slack-webhook';
const SECRETS = [
  TG_TOKEN,
  TG_TOKEN.split(':')[1] ?? '',
  SLACK_TOKEN,
  SMTP_PASSWORD,
  WEBHOOK_SECRET,
  NTFY_TOKEN,
  REDIS_PASSWORD,
  SLACK_WEBHOOK,
];
const CHAT = 4711;

let telegram: TelegramServer;
let slack: SlackServer;
let smtp: SmtpSink;
let hook: WebhookServer;

beforeAll(async () => {
  [telegram, slack, smtp, hook] = await Promise.all([
    startTelegramServer({ token: TG_TOKEN }),
    startSlackServer({ token: SLACK_TOKEN }),
    startSmtpSink(),
    // No secret here: the signature's format is not under test, only that the key does not leak.
    startWebhookServer({ rejectInvalidSignature: false }),
  ]);
});
afterAll(async () => {
  await Promise.all([telegram.close(), slack.close(), smtp.close(), hook.close()]);
});
beforeEach(() => {
  for (const server of [telegram, slack, smtp, hook]) server.clearReceived();
});

/** Every credential epochcast reads, as a user with all four services configured has them. */
function credentials(): Record<string, string> {
  return {
    TELEGRAM_BOT_TOKEN: TG_TOKEN,
    TELEGRAM_CHAT_ID: String(CHAT),
    TELEGRAM_API_ROOT: telegram.url,
    SLACK_BOT_TOKEN: SLACK_TOKEN,
    SLACK_CHANNEL: '#training',
    SLACK_API_URL: slack.apiUrl,
    SLACK_WEBHOOK_URL: SLACK_WEBHOOK,
    SMTP_URL: `smtp://trainer:${SMTP_PASSWORD}@${smtp.host}:${smtp.port}`,
    EMAIL_FROM: 'runs@example.test',
    EMAIL_TO: 'me@example.test',
    EPOCHCAST_WEBHOOK_SECRET: WEBHOOK_SECRET,
    EPOCHCAST_REDIS_URL: `redis://:${REDIS_PASSWORD}@127.0.0.1:1/0`,
    NTFY_URL: 'https://ntfy.example/runs',
    NTFY_TOKEN,
    // Settings, not secrets: a command that itself uses epochcast needs them to meet its sibling runs.
    EPOCHCAST_SOCKET_DIR: '/tmp/epochcast-env-test-sockets',
    EPOCHCAST_BACKEND: 'cpu',
  };
}

/** A command that prints the variables of the services it can see, then fails: its output is the end message's tail. */
const PRINT_ENV_AND_FAIL = nodeScript(
  "for (const [k, v] of Object.entries(process.env)) if (/^(TELEGRAM|SLACK|SMTP|NTFY|EPOCHCAST|EMAIL)_/.test(k)) console.log('seen ' + k + '=' + v);" +
    "console.error('Error: config check failed'); process.exit(3)",
);

function seen(stdout: string): Record<string, string> {
  const lines = stdout.split('\n').filter((l) => l.startsWith('seen '));
  return Object.fromEntries(lines.map((l) => l.slice(5).split(/=(.*)/s, 2) as [string, string]));
}

const leaked = (text: string): string[] =>
  SECRETS.filter(
    (s) => text.includes(s) || text.includes(encodeURIComponent(s)) || text.includes(encodeURIComponent(s).replaceAll('%3A', ':')),
  );

test('a command that prints its environment and fails, with all four services: it saw no credential, and no message, e-mail or webhook carries one', async () => {
  const r = await cli(['run', '--telegram', '--slack', '--email', '--webhook', `${hook.url}/hook`, '--', ...PRINT_ENV_AND_FAIL], {
    env: credentials(),
  });
  expect(r.code, r.stderr).toBe(3);

  const visible = seen(r.stdout);
  // None of epochcast's credentials (nor the rest of the services' variables) reached the command…
  expect(Object.keys(visible).sort()).toEqual(['EMAIL_FROM', 'EMAIL_TO', 'EPOCHCAST_BACKEND', 'EPOCHCAST_SOCKET_DIR']);
  expect(leaked(r.stdout + r.stderr)).toEqual([]);
  // …the settings a nested epochcast run needs did, unchanged.
  expect(visible.EPOCHCAST_SOCKET_DIR).toBe('/tmp/epochcast-env-test-sockets');

  // Every service still got the end, with the output tail, and none of the secrets.
  const end = (await hook.waitForCount(undefined, 2))[1]?.body as Notification;
  expect(end).toMatchObject({ event: 'error', error: { name: 'exit code 3', message: 'Error: config check failed' } });
  expect(end.error?.stack).toContain('seen EPOCHCAST_SOCKET_DIR=');
  const tg = telegram.messages(CHAT).map((m) => m.text ?? '');
  const sl = slack.received.filter((c) => c.method === 'chat.postMessage').map((c) => JSON.stringify(c.params));
  const mail = (await smtp.waitFor()).raw;
  expect(tg.at(-1)).toContain('config check failed');
  expect(sl.at(-1)).toContain('config check failed');
  expect(mail).toContain('config check failed');
  const everything = [...tg, ...sl, mail, ...hook.received.map((h) => JSON.stringify(h.body))].join('\n');
  expect(leaked(everything)).toEqual([]);
});

test('--pass-env hands the named variables (and NAME_* prefixes) to the command, and nothing else of epochcast', async () => {
  const r = await cli(
    ['run', '--webhook', hook.url, '--pass-env', 'SLACK_CHANNEL,TELEGRAM_CHAT_ID', '--pass-env', 'NTFY_*', '--', ...PRINT_ENV_AND_FAIL],
    {
      env: credentials(),
    },
  );
  expect(r.code, r.stderr).toBe(3);
  const visible = seen(r.stdout);
  expect(visible).toMatchObject({
    SLACK_CHANNEL: '#training',
    TELEGRAM_CHAT_ID: String(CHAT),
    NTFY_URL: 'https://ntfy.example/runs',
    NTFY_TOKEN,
  });
  expect(visible.TELEGRAM_BOT_TOKEN).toBeUndefined();
  expect(visible.SLACK_BOT_TOKEN).toBeUndefined();
  expect(visible.SMTP_URL).toBeUndefined();
  expect(visible.EPOCHCAST_WEBHOOK_SECRET).toBeUndefined();

  // `*` passes the whole environment, as before.
  const all = await cli(['run', '--webhook', hook.url, '--pass-env', '*', '--', ...PRINT_ENV_AND_FAIL], { env: credentials() });
  expect(seen(all.stdout)).toMatchObject({ TELEGRAM_BOT_TOKEN: TG_TOKEN, SMTP_URL: credentials().SMTP_URL });
});

test('--pass-env with something that is not a variable name is a usage error naming the fix (exit 2, nothing run)', async () => {
  const [space, empty, star] = await Promise.all([
    cli(['run', '--webhook', hook.url, '--pass-env', 'TELEGRAM BOT', '--', ...PRINT_ENV_AND_FAIL]),
    cli(['run', '--webhook', hook.url, '--pass-env', 'A,,B', '--', ...PRINT_ENV_AND_FAIL]),
    cli(['run', '--webhook', hook.url, '--pass-env', '*_TOKEN', '--', ...PRINT_ENV_AND_FAIL]),
  ]);
  for (const r of [space, empty, star]) {
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/--pass-env <names>' argument .* is invalid\. .*NAME\[,NAME…\].*TELEGRAM_\*.*\*/);
  }
  expect(space.stderr).toContain("'TELEGRAM BOT' is not a variable name");
  expect(hook.received).toHaveLength(0);
});
