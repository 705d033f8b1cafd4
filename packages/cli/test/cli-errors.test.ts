// Every command's errors, as the CLI's README documents them: exit 2 for a usage or configuration
// error (a setting missing, malformed or naming nothing that exists), one prefix per message, the
// variable or flag to set named (not a constructor option), and no secret echoed.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTelegramServer } from '@epochcast/testkit';
import { expect, test } from 'vitest';
import { cliMessage } from '../src/cli-errors.js';
import { type CliResult, cli, nodeScript } from './helpers.js';

const RAN = nodeScript("console.log('it ran')");

/** A setting to fix: exit 2, one line on stderr with one `epochcast <command>: ` prefix, naming `fix`. */
function expectSettingError(r: CliResult, where: string, fix: RegExp, secret?: string): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).not.toContain('it ran');
  expect(r.stderr.startsWith(`${where}: `), r.stderr).toBe(true);
  expect(r.stderr.match(/epochcast[a-z -]*: /g), r.stderr).toHaveLength(1);
  // No library location (`TelegramCallback: `), no constructor option (`{ token }`).
  expect(r.stderr).not.toMatch(/[A-Z][a-z]+Callback|selectBackend|\{ ?[a-z]/);
  expect(r.stderr).toMatch(fix);
  if (secret) expect(r.stderr).not.toContain(secret);
}

test('run: each missing or malformed setting exits 2 naming its variable or flag, before anything runs', async () => {
  const TG = { TELEGRAM_BOT_TOKEN: '123456:cli-right-token', TELEGRAM_CHAT_ID: '42' };
  const [noToken, badToken, badChat, badSlack, badSmtp, badNtfy, badWebhook, badProxy] = await Promise.all([
    cli(['run', '--telegram', '--', ...RAN]),
    cli(['run', '--telegram', '--', ...RAN], { env: { TELEGRAM_BOT_TOKEN: 'junk SECRET-tg token', TELEGRAM_CHAT_ID: '42' } }),
    cli(['run', '--telegram', '--', ...RAN], { env: { ...TG, TELEGRAM_CHAT_ID: 'my chat' } }),
    cli(['run', '--slack', '--', ...RAN], { env: { SLACK_BOT_TOKEN: 'xoxb-SECRET-slack with space', SLACK_CHANNEL: '#training' } }),
    cli(['run', '--email', '--', ...RAN], {
      env: { SMTP_URL: 'ftp://me:SECRET-smtp@mail.example.com', EMAIL_FROM: 'a@example.com', EMAIL_TO: 'b@example.com' },
    }),
    cli(['run', '--ntfy', '--', ...RAN], { env: { NTFY_URL: 'https://ntfy.example.com/runs', NTFY_TOKEN: 'not SECRET-ntfy' } }),
    cli(['run', '--webhook', 'hooks SECRET-hook', '--', ...RAN]),
    cli(['run', '--telegram', '--', ...RAN], { env: { ...TG, HTTPS_PROXY: 'socks5://me:SECRET-proxy@proxy.example.com:1080' } }),
  ]);
  expectSettingError(noToken, 'epochcast run', /^epochcast run: no bot token\. Set TELEGRAM_BOT_TOKEN\. Get one from @BotFather/);
  expectSettingError(badToken, 'epochcast run', /the bot token is malformed .*into TELEGRAM_BOT_TOKEN;/, 'SECRET-tg');
  expectSettingError(
    badChat,
    'epochcast run',
    /: TELEGRAM_CHAT_ID must be a chat id .* received "my chat"\. Run `epochcast telegram chats`/,
  );
  expectSettingError(badSlack, 'epochcast run', /: the bot token \(SLACK_BOT_TOKEN\) is malformed/, 'SECRET-slack');
  expectSettingError(badSmtp, 'epochcast run', /: SMTP_URL must start with smtp:\/\/ or smtps:\/\//, 'SECRET-smtp');
  expectSettingError(
    badNtfy,
    'epochcast run',
    /: the token \(NTFY_TOKEN\) must be an access token tk_… or user:password, without spaces; received a string of 15 characters\.\n$/,
    'SECRET-ntfy',
  );
  expectSettingError(
    badWebhook,
    'epochcast run',
    /^epochcast run: --webhook must be an http:\/\/ or https:\/\/ URL; received a string of 17 characters\.\n$/,
    'SECRET-hook',
  );
  expectSettingError(
    badProxy,
    'epochcast run',
    /: HTTPS_PROXY is a socks5:\/\/ proxy; .* Set HTTPS_PROXY to an http:\/\/ proxy\.\n$/,
    'SECRET-proxy',
  );
});

test('run: a token the service rejects exits 2 before the command starts, naming the variable, without the token', async () => {
  const server = await startTelegramServer({ token: '123456:cli-right-token' });
  try {
    const r = await cli(['run', '--telegram', '--', ...RAN], {
      env: { TELEGRAM_BOT_TOKEN: '123456:WRONG-SECRET-run', TELEGRAM_CHAT_ID: '42', TELEGRAM_API_ROOT: server.url },
    });
    expect(r.code).toBe(2);
    expect(r.stdout).not.toContain('it ran');
    expect(r.stderr).toMatch(
      /^epochcast run: .*Telegram rejected the bot token \(401 Unauthorized\): check TELEGRAM_BOT_TOKEN; .*; the command was not started\n$/,
    );
    expect(r.stderr.match(/epochcast[a-z -]*: /g)).toHaveLength(1);
    expect(r.stderr).not.toContain('WRONG-SECRET');
    expect(r.stderr).not.toContain('option');
  } finally {
    await server.close();
  }
});

test('test: a missing or malformed setting is ✗ naming the variable (the label its one prefix), exit 2; none chosen is a usage error', async () => {
  const [missing, malformed, none] = await Promise.all([
    cli(['test', '--slack', '--ntfy']),
    cli(['test', '--email'], { env: { SMTP_URL: 'smtp://me:SECRET-pw@', EMAIL_FROM: 'a@example.com', EMAIL_TO: 'b@example.com' } }),
    cli(['test']),
  ]);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toBe(
    '✗ Slack: no Slack credentials. Set SLACK_BOT_TOKEN (xoxb-…) and SLACK_CHANNEL, or SLACK_WEBHOOK_URL.\n' +
      '✗ ntfy: no ntfy URL. Set NTFY_URL: the server and the topic, e.g. https://ntfy.sh/my-runs-7f3k (pick a topic nobody can guess: on ntfy.sh anyone who knows it can read it).\n',
  );
  expect(malformed.code).toBe(2);
  expect(malformed.stderr).toMatch(
    /^✗ e-mail: SMTP_URL is not a valid URL \(a string of 20 characters\)\. Expected "smtp:\/\/user:pass@host:port"/,
  );
  expect(malformed.stderr).not.toContain('SECRET-pw');
  expect(none.code).toBe(2);
  expect(none.stderr).toMatch(/^epochcast test: choose at least one of --telegram --slack --email --ntfy\n/);
});

test('demo: EPOCHCAST_BACKEND naming no backend, and a malformed credential, exit 2 before training', async () => {
  const [backend, token] = await Promise.all([
    cli(['demo', '--epochs', '1', '--samples', '100'], { env: { EPOCHCAST_BACKEND: 'gpu' } }),
    cli(['demo', '--epochs', '1', '--samples', '100'], { env: { TELEGRAM_BOT_TOKEN: 'junk SECRET-demo', TELEGRAM_CHAT_ID: '1' } }),
  ]);
  expectSettingError(
    backend,
    'epochcast demo',
    /^epochcast demo: unknown backend "gpu" \(from EPOCHCAST_BACKEND\); use one of tensorflow, wasm, cpu\.\n$/,
  );
  expect(backend.stdout).not.toContain('MNIST');
  expectSettingError(token, 'epochcast demo', /the bot token is malformed .*into TELEGRAM_BOT_TOKEN;/, 'SECRET-demo');
});

test('new-notifier: a --dir that is a file or not empty, a --tarballs folder without them: exit 2 naming the flag', async () => {
  const work = await mkdtemp(path.join(tmpdir(), 'epochcast-cli-errors-'));
  try {
    const file = path.join(work, 'a-file');
    await writeFile(file, 'mine');
    const [isFile, noTarballs] = await Promise.all([
      cli(['new-notifier', 'acme', '--dir', file]),
      cli(['new-notifier', 'acme', '--dir', path.join(work, 'out'), '--tarballs', work]),
    ]);
    expectSettingError(
      isFile,
      'epochcast new-notifier',
      /: cannot write to .*a-file: it is a file; nothing written\. Choose another place with --dir\.\n$/,
    );
    expectSettingError(
      noTarballs,
      'epochcast new-notifier',
      /: --tarballs .* has no epochcast-core-0\.1\.0\.tgz; pack them there with `pnpm pack:all`/,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

test("the program's own errors have the one prefix `epochcast: `, a subcommand's flags its own", async () => {
  const [command, flag] = await Promise.all([cli(['trian']), cli(['telegram', 'chats', '--jsn'])]);
  expect(command.code).toBe(2);
  expect(command.stderr).toMatch(/^epochcast: unknown command 'trian'\n/);
  expect(flag.code).toBe(2);
  expect(flag.stderr).toMatch(/^epochcast telegram chats: unknown option '--jsn'\n\(Did you mean --json\?\)/);
});

test('cliMessage: the library location dropped, each option named by its variable or, when mapped, its flag', () => {
  expect(cliMessage('TelegramCallback: no bot token. Pass { token } or set TELEGRAM_BOT_TOKEN.')).toBe(
    'no bot token. Set TELEGRAM_BOT_TOKEN.',
  );
  expect(cliMessage('EmailCallback: to must be an e-mail address or a list of them (option to or EMAIL_TO); received "x".')).toBe(
    'to must be an e-mail address or a list of them (EMAIL_TO); received "x".',
  );
  expect(cliMessage('x: apiRoot (TELEGRAM_API_ROOT) must be http:// or https://.', { apiRoot: '--api-root' })).toBe(
    'x: --api-root / TELEGRAM_API_ROOT must be http:// or https://.',
  );
  // A service's name is no library location: it stays.
  expect(cliMessage('telegram: Telegram rejected the bot token')).toBe('telegram: Telegram rejected the bot token');
});
