/**
 * Issue 15, finding 8: an `apiRoot` with `user:pass@` made every request fail with undici's
 * "Request cannot be constructed from a URL that includes credentials: http://user:pass@host/bot<token>/getMe",
 * so the token (and the password) reached warnings and the CLI's output. Such a root is now refused
 * at construction with an error that says how to fix it and quotes neither; and any HTTP error
 * that quotes a request URL has its `/bot<token>` segment masked, whatever form the token has.
 */
import { ConfigError } from '@epochcast/core';
import { redactSecrets } from '@epochcast/notify';
import { startTelegramServer, type TelegramServer } from '@epochcast/testkit';
import { afterEach, describe, expect, test } from 'vitest';
import { listTelegramChats } from '../src/chats.js';
import { describeError } from '../src/client.js';
import { TelegramCallback } from '../src/index.js';

const TOKEN = '818181:AAH-apiroot-SECRET-token';
const PASSWORD = 'apiroot-SECRET-pw';
const SECRETS = [TOKEN, 'AAH-apiroot-SECRET-token', encodeURIComponent(TOKEN), PASSWORD];

let server: TelegramServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function leaked(text: string): string[] {
  return SECRETS.filter((s) => text.includes(s));
}

describe('finding 8: an apiRoot with credentials', () => {
  test('TelegramCallback refuses apiRoot "http://user:pass@host" with a ConfigError that says how to fix it, quoting neither the password nor the token', async () => {
    server = await startTelegramServer({ token: TOKEN });
    const apiRoot = server.url.replace('http://', `http://trainer:${PASSWORD}@`);
    let error: unknown;
    try {
      new TelegramCallback({ token: ` ${TOKEN}\n`, chatId: 42, apiRoot, handleSignals: false });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/apiRoot \(or TELEGRAM_API_ROOT\) must not contain a user name or password.*Remove them/);
    expect(message).toContain('http://***@127.0.0.1');
    expect(leaked(message)).toEqual([]);
    expect(server.received).toHaveLength(0);
  });

  test('TELEGRAM_API_ROOT with credentials is refused the same way by listTelegramChats (behind `epochcast telegram chats`)', async () => {
    server = await startTelegramServer({ token: TOKEN });
    const apiRoot = server.url.replace('http://', `http://trainer:${PASSWORD}@`);
    const error = await listTelegramChats({ token: `  ${TOKEN} `, apiRoot }).then(
      () => new Error('listed chats through an apiRoot with credentials'),
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(leaked(error.message)).toEqual([]);
    expect(server.received).toHaveLength(0);
  });

  test('an HTTP error quoting the request URL has its /bot<token> segment masked, for the token as given, untrimmed or encoded', () => {
    for (const token of [TOKEN, encodeURIComponent(` ${TOKEN}\n`), encodeURIComponent(TOKEN)]) {
      const error = new Error(
        `Request cannot be constructed from a URL that includes credentials: http://u:${PASSWORD}@h/bot${token}/getMe`,
      );
      const text = describeError(error);
      expect(text).toContain('/bot***');
      expect(leaked(text)).toEqual([]);
    }
  });

  test('the token is registered trimmed and by its part after the colon: a warning quoting either is redacted', () => {
    new TelegramCallback({ token: `\t${TOKEN}  `, chatId: 42, handleSignals: false });
    expect(redactSecrets(`token ${TOKEN}, secret part AAH-apiroot-SECRET-token, encoded ${encodeURIComponent(TOKEN)}`)).toBe(
      'token ***, secret part ***, encoded ***',
    );
  });
});
