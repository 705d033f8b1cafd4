/**
 * Issue 15, finding 8, as the user meets it: `epochcast telegram chats` with TELEGRAM_API_ROOT
 * holding `user:pass@` printed undici's error, which quotes `…/bot<token>/getMe`; the CLI masked
 * only the token exactly as set, so a token with a trailing newline (as `$(cat token.txt)` or a
 * .env file gives it) was printed in full. Run as a real process against the testkit's server.
 */
import { startTelegramServer, type TelegramServer } from '@epochcast/testkit';
import { afterEach, expect, test } from 'vitest';
import { cli } from './helpers.js';

const TOKEN = '919191:AAH-chats-SECRET-token';
const PASSWORD = 'chats-SECRET-pw';
const SECRETS = [TOKEN, 'AAH-chats-SECRET-token', encodeURIComponent(TOKEN), PASSWORD];

let server: TelegramServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

test('`epochcast telegram chats` with credentials in TELEGRAM_API_ROOT and an untrimmed token: a clear error naming the fix, no token (whole, trimmed or its secret part) and no password printed', async () => {
  server = await startTelegramServer({ token: TOKEN });
  const apiRoot = server.url.replace('http://', `http://trainer:${PASSWORD}@`);
  for (const token of [`${TOKEN}\n`, ` ${TOKEN} `]) {
    const r = await cli(['telegram', 'chats'], { env: { TELEGRAM_BOT_TOKEN: token, TELEGRAM_API_ROOT: apiRoot } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/must not contain a user name or password.*Remove them/);
    for (const secret of SECRETS) {
      expect(r.stderr).not.toContain(secret);
      expect(r.stdout).not.toContain(secret);
    }
  }
  expect(server.received).toHaveLength(0);
});

// A guard rather than the attack: the refusal never quoted the token, and must not start to.
test('`epochcast telegram chats --token " <token> "` against a server that refuses it: the untrimmed token is masked in every form', async () => {
  server = await startTelegramServer({ token: '111111:the-right-token' });
  const r = await cli(['telegram', 'chats', '--token', ` ${TOKEN} `, '--api-root', server.url]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/Telegram rejected the bot token \(401 Unauthorized\)/);
  for (const secret of SECRETS) expect(r.stderr).not.toContain(secret);
});
