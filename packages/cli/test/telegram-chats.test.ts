import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startTelegramServer, type TelegramServer } from '@epochcast/testkit';
import { afterEach, expect, test } from 'vitest';
import { runInProcess } from './helpers.js';

const TOKEN = '123456:cli-SECRET-token';
const bin = path.join(path.dirname(fileURLToPath(import.meta.url)), '../dist/bin.js');
let server: TelegramServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

const cli = runInProcess;

test('`epochcast telegram chats` lists the chats that wrote to the bot, newest first, and the line to paste', async () => {
  server = await startTelegramServer({ token: TOKEN });
  server.pushUpdate({ chatId: 111, text: 'hi' });
  server.pushUpdate({ chatId: -100222, text: '/start@epochcast_test_bot' });
  const { code, out, err } = await cli(['telegram', 'chats'], { TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: server.url });
  expect(err).toBe('');
  expect(code).toBe(0);
  expect(out).toMatch(/^Chats that wrote to @epochcast_test_bot, newest first:\n\nchat id +type +name +last message\n/);
  expect(out).toMatch(/\n-100222 +supergroup +Test Group +\d{4}-/);
  expect(out).toMatch(/\n111 +private +Test User @test_user +\d{4}-/);
  expect(out).toMatch(/\nexport TELEGRAM_CHAT_ID=(111|-100222)\n$/);
  // Listing confirms nothing: the updates are still there for the next poller.
  expect(server.pendingUpdates).toHaveLength(2);
});

test('--json, and --wait for a first message', async () => {
  server = await startTelegramServer({ token: TOKEN });
  const s = server;
  setTimeout(() => s.pushUpdate({ chatId: 5, text: 'hello' }), 200);
  const { code, out } = await cli(['telegram', 'chats', '--json', '--wait', '5', '--token', TOKEN, '--api-root', s.url]);
  expect(code).toBe(0);
  expect(JSON.parse(out)).toEqual([expect.objectContaining({ id: 5, type: 'private', title: 'Test User', username: '@test_user' })]);
});

test('no messages yet: says what to do', async () => {
  server = await startTelegramServer({ token: TOKEN });
  const { code, out } = await cli(['telegram', 'chats'], { TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: server.url });
  expect(code).toBe(0);
  expect(out).toMatch(
    /No one has written to @epochcast_test_bot yet.*\nOpen https:\/\/t\.me\/epochcast_test_bot in Telegram and send it any message/s,
  );
});

test('clear errors, one prefix each: no token and a rejected one (never printed) exit 2 as configuration errors; usage', async () => {
  server = await startTelegramServer({ token: TOKEN });
  const none = await cli(['telegram', 'chats'], {});
  expect(none.code).toBe(2);
  expect(none.err).toBe(
    'epochcast telegram chats: no bot token. Pass --token <token> or set TELEGRAM_BOT_TOKEN. Get one from @BotFather in Telegram (send it /newbot).\n',
  );
  const malformed = await cli(['telegram', 'chats', '--token', 'not a token'], {});
  expect(malformed.code).toBe(2);
  expect(malformed.err).toMatch(/^epochcast telegram chats: the bot token is malformed .* into TELEGRAM_BOT_TOKEN \(or --token\);/);
  expect(malformed.err.match(/epochcast telegram chats:/g)).toHaveLength(1);
  const wrong = '999:wrong-SECRET';
  const rejected = await cli(['telegram', 'chats'], { TELEGRAM_BOT_TOKEN: wrong, TELEGRAM_API_ROOT: server.url });
  expect(rejected.code).toBe(2);
  expect(rejected.err).toMatch(/^epochcast telegram chats: Telegram rejected the bot token \(401 Unauthorized\)/);
  expect(rejected.err).not.toContain('wrong-SECRET');
  const usage = await cli(['telegram', 'chats', '--wait', 'soon']);
  expect(usage.code).toBe(2);
  expect(usage.err).toMatch(/--wait.*expected a whole number of seconds/);
  const unknown = await cli(['telegrm']);
  expect(unknown.code).toBe(2);
  expect(unknown.err).toMatch(/^epochcast: unknown command 'telegrm'/);
});

test('the binary: --help, and a real run as a subprocess', async () => {
  server = await startTelegramServer({ token: TOKEN });
  server.pushUpdate({ chatId: 42, text: 'hi' });
  const run = promisify(execFile);
  const help = await run(process.execPath, [bin, 'telegram', 'chats', '--help']);
  expect(help.stdout).toMatch(/Usage: epochcast telegram chats \[options\]/);
  expect(help.stdout).toMatch(/--wait <seconds>/);
  const listed = await run(process.execPath, [bin, 'telegram', 'chats'], {
    env: { ...process.env, TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: server.url },
  });
  expect(listed.stdout).toContain('export TELEGRAM_CHAT_ID=42');
});
