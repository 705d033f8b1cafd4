import { Api, InputFile, longPoll, NetworkError, TelegramApiError, TimeoutError, type Update } from 'node-telegram-bot-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTelegramServer, type TelegramServer } from '../src/index.js';
import { rejection } from './helpers.js';

const TOKEN = '987654:test-token';
const CHAT = 4242;
// A 1×1 PNG, enough for the server to read its IHDR size.
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
    '1f15c4890000000d49444154789c6360000000000005000100' +
    '0d0a2db40000000049454e44ae426082',
  'hex',
);

let server: TelegramServer;
let api: Api;

beforeEach(async () => {
  server = await startTelegramServer({ token: TOKEN, conflictThrottleMs: 0 });
  // The client's own retries are off so each test sees exactly one request per call.
  api = new Api(TOKEN, { apiRoot: server.url, maxRetries: 0, timeoutMs: 5_000 });
});

afterEach(async () => {
  await server.close();
});

/** The client types an update as a union keyed by kind. */
function textOf(update: Update): string | undefined {
  return 'message' in update ? update.message.text : undefined;
}

async function apiError(promise: Promise<unknown>): Promise<TelegramApiError> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(TelegramApiError);
  return error as TelegramApiError;
}

async function raw(
  method: string,
  init: { body?: unknown; token?: string } = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${server.url}/bot${init.token ?? TOKEN}/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(init.body ?? {}),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe('envelopes and auth', () => {
  it('answers getMe in an { ok, result } envelope, the bot id taken from the token', async () => {
    const me = await api.getMe();
    expect(me).toMatchObject({ id: 987654, is_bot: true, username: 'epochcast_test_bot' });
    const { status, json } = await raw('getMe');
    expect(status).toBe(200);
    expect(json).toEqual({ ok: true, result: me });
  });

  it('answers a wrong token 401 Unauthorized, and never echoes the token', async () => {
    const { status, json } = await raw('getMe', { token: '1:wrong' });
    expect(status).toBe(401);
    expect(json).toEqual({ ok: false, error_code: 401, description: 'Unauthorized' });
    const error = await apiError(new Api('1:wrong', { apiRoot: server.url, maxRetries: 0 }).getMe());
    expect(error.errorCode).toBe(401);
    expect(String(error.message)).not.toContain('1:wrong');
  });

  it('answers an unknown method 404 and records every call with what the client sent', async () => {
    const { status } = await raw('noSuchMethod');
    expect(status).toBe(404);
    await api.sendMessage({ chat_id: CHAT, text: 'hi', reply_markup: { inline_keyboard: [[{ text: 'Stop', callback_data: 'stop' }]] } });
    const call = await server.waitFor('sendMessage');
    // node-telegram-bot-api v2 sends a form: scalars as strings, structures as JSON text.
    expect(call).toMatchObject({ encoding: 'form', status: 200, params: { chat_id: String(CHAT), text: 'hi' } });
    expect(JSON.parse(String(call.params.reply_markup))).toEqual({ inline_keyboard: [[{ text: 'Stop', callback_data: 'stop' }]] });
    expect(server.received.map((c) => c.method)).toEqual(['noSuchMethod', 'sendMessage']);
  });
});

describe('sendMessage and formatting', () => {
  it('parses HTML into visible text and entities', async () => {
    const message = await api.sendMessage({
      chat_id: CHAT,
      text: '<b>Epoch 1</b> loss &lt; 0.5 <a href="https://x.test/?a=1&amp;b=2">run</a>',
      parse_mode: 'HTML',
    });
    expect(message.text).toBe('Epoch 1 loss < 0.5 run');
    expect(message.entities).toEqual([
      { type: 'bold', offset: 0, length: 7 },
      { type: 'text_link', offset: 19, length: 3, url: 'https://x.test/?a=1&b=2' },
    ]);
    expect(server.messages(CHAT)).toEqual([message]);
  });

  it.each([
    ['<b>bold</i>', 'Unmatched end tag at byte offset 7, expected "</b>", found "</i>"'],
    ['<b>never closed', 'Can\'t find end tag corresponding to start tag "b"'],
    ['<br> is not allowed', 'Unsupported start tag "br" at byte offset 0'],
    ['loss < 0.5', 'Unsupported start tag "" at byte offset 5'],
    ['AT&T', "Character '&' at byte offset 2 must be escaped"],
    ['<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'],
  ])("rejects malformed HTML %j with 400 can't parse entities", async (text, detail) => {
    const error = await apiError(api.sendMessage({ chat_id: CHAT, text, parse_mode: 'HTML' }));
    expect(error.errorCode).toBe(400);
    expect(error.description).toContain("Bad Request: can't parse entities: ");
    expect(error.description).toContain(detail);
  });

  it('validates MarkdownV2: reserved characters must be escaped', async () => {
    const ok = await api.sendMessage({ chat_id: CHAT, text: '*Epoch 2* loss 0\\.41 \\(best\\)', parse_mode: 'MarkdownV2' });
    expect(ok.text).toBe('Epoch 2 loss 0.41 (best)');
    expect(ok.entities).toEqual([{ type: 'bold', offset: 0, length: 7 }]);
    const error = await apiError(api.sendMessage({ chat_id: CHAT, text: 'loss 0.41', parse_mode: 'MarkdownV2' }));
    expect(error.description).toBe(
      "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'",
    );
    const unclosed = await apiError(api.sendMessage({ chat_id: CHAT, text: '*bold', parse_mode: 'MarkdownV2' }));
    expect(unclosed.description).toBe("Bad Request: can't parse entities: Can't find end of Bold entity at byte offset 0");
  });

  it('refuses legacy Markdown, which it does not model, and unknown parse modes, storing nothing', async () => {
    const legacy = await raw('sendMessage', { body: { chat_id: CHAT, text: '*Epoch 2* loss 0.41', parse_mode: 'Markdown' } });
    expect(legacy).toEqual({
      status: 400,
      json: {
        ok: false,
        error_code: 400,
        description: 'Bad Request: unsupported parse_mode: the testkit models HTML and MarkdownV2, not legacy Markdown',
      },
    });
    const unknown = await raw('sendMessage', { body: { chat_id: CHAT, text: 'x', parse_mode: 'BBCode' } });
    expect(unknown.json.description).toBe('Bad Request: unsupported parse_mode');
    expect(server.messages(CHAT)).toEqual([]);
  });

  it('counts the limit on visible text: 4096 characters after parsing', async () => {
    const markup = `<b>${'x'.repeat(4096)}</b>`;
    const message = await api.sendMessage({ chat_id: CHAT, text: markup, parse_mode: 'HTML' });
    expect(message.text).toHaveLength(4096);
    const error = await apiError(api.sendMessage({ chat_id: CHAT, text: 'é'.repeat(4097) }));
    expect(error.description).toBe('Bad Request: message is too long');
    const empty = await apiError(api.sendMessage({ chat_id: CHAT, text: '<b> </b>', parse_mode: 'HTML' }));
    expect(empty.description).toBe('Bad Request: message text is empty');
  });

  it('refuses chats it does not know when configured with chats', async () => {
    const restricted = await startTelegramServer({ token: TOKEN, chats: [CHAT] });
    try {
      const client = new Api(TOKEN, { apiRoot: restricted.url, maxRetries: 0 });
      await client.sendMessage({ chat_id: CHAT, text: 'ok' });
      const error = await apiError(client.sendMessage({ chat_id: 777, text: 'no' }));
      expect(error.description).toBe('Bad Request: chat not found');
    } finally {
      await restricted.close();
    }
  });
});

describe('editMessageText', () => {
  it('edits a message, then refuses a no-op edit and unknown messages', async () => {
    const sent = await api.sendMessage({ chat_id: CHAT, text: 'Epoch 1/3' });
    const edited = await api.editMessageText({ chat_id: CHAT, message_id: sent.message_id, text: '<b>Epoch 2/3</b>', parse_mode: 'HTML' });
    expect(edited).toMatchObject({ message_id: sent.message_id, text: 'Epoch 2/3', entities: [{ type: 'bold', offset: 0, length: 9 }] });
    expect((edited as { edit_date?: number }).edit_date).toBeTypeOf('number');
    expect(server.messages(CHAT)[0]?.text).toBe('Epoch 2/3');

    const same = await apiError(
      api.editMessageText({ chat_id: CHAT, message_id: sent.message_id, text: '<b>Epoch 2/3</b>', parse_mode: 'HTML' }),
    );
    expect(same.description).toMatch(
      /^Bad Request: message is not modified: specified new message content and reply markup are exactly the same/,
    );
    // Same text but different formatting is a change.
    await api.editMessageText({ chat_id: CHAT, message_id: sent.message_id, text: 'Epoch 2/3' });

    const missing = await apiError(api.editMessageText({ chat_id: CHAT, message_id: 999, text: 'x' }));
    expect(missing.description).toBe('Bad Request: message to edit not found');
  });
});

describe('files', () => {
  it('takes a multipart photo with a caption and records the bytes', async () => {
    const message = await api.sendPhoto({
      chat_id: CHAT,
      photo: new InputFile(PNG, { filename: 'loss.png', contentType: 'image/png' }),
      caption: '<i>loss</i>',
      parse_mode: 'HTML',
    });
    expect(message.caption).toBe('loss');
    expect(message.caption_entities).toEqual([{ type: 'italic', offset: 0, length: 4 }]);
    expect(message.photo?.[0]).toMatchObject({ width: 1, height: 1, file_size: PNG.length });
    const call = await server.waitFor('sendPhoto');
    expect(call.encoding).toBe('multipart');
    expect(call.params).toMatchObject({ chat_id: String(CHAT), caption: '<i>loss</i>', parse_mode: 'HTML' });
    expect(call.files).toEqual([{ field: 'photo', filename: 'loss.png', contentType: 'image/png', bytes: PNG }]);
  });

  it('limits captions to 1024 characters and requires a file', async () => {
    const long = await apiError(
      api.sendPhoto({ chat_id: CHAT, photo: new InputFile(PNG, { filename: 'a.png' }), caption: 'x'.repeat(1025) }),
    );
    expect(long.description).toBe('Bad Request: message caption is too long');
    const { json } = await raw('sendPhoto', { body: { chat_id: CHAT } });
    expect(json.description).toBe('Bad Request: there is no photo in the request');
  });

  it('takes a document', async () => {
    const message = await api.sendDocument({
      chat_id: CHAT,
      document: new InputFile(Buffer.from('epoch,loss\n0,1.2\n'), { filename: 'history.csv', contentType: 'text/csv' }),
    });
    expect(message.document).toMatchObject({ file_name: 'history.csv', mime_type: 'text/csv', file_size: 17 });
  });
});

describe('getUpdates', () => {
  it('long-polls until a user writes, and confirms updates with offset', async () => {
    const started = Date.now();
    const poll = api.getUpdates({ timeout: 10 });
    await server.waitFor('getUpdates');
    const pushed = server.pushUpdate({ chatId: CHAT, text: '/status' });
    const updates = await poll;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(updates).toEqual([pushed]);
    expect(server.pendingUpdates[0]?.message).toMatchObject({
      text: '/status',
      chat: { id: CHAT, type: 'private' },
      entities: [{ type: 'bot_command', offset: 0, length: 7 }],
    });

    server.pushUpdate({ chatId: CHAT, text: '/stop' });
    // Without an offset nothing is confirmed: both updates come back.
    expect(await api.getUpdates({ timeout: 0 })).toHaveLength(2);
    const next = await api.getUpdates({ offset: pushed.update_id + 1, timeout: 0 });
    expect(next.map(textOf)).toEqual(['/stop']);
    expect(server.pendingUpdates).toHaveLength(1);
  });

  it('answers an empty list when the long poll times out', async () => {
    const started = Date.now();
    expect(await api.getUpdates({ timeout: 1 })).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('terminates the pending long poll with 409 when another one starts (as Telegram does)', async () => {
    const first = apiError(api.getUpdates({ timeout: 10 }));
    await server.waitFor('getUpdates');
    const second = new Api(TOKEN, { apiRoot: server.url, maxRetries: 0 }).getUpdates({ timeout: 10 });
    const conflict = await first;
    expect(conflict.errorCode).toBe(409);
    expect(conflict.description).toBe('Conflict: terminated by other getUpdates request; make sure that only one bot instance is running');
    server.pushUpdate({ chatId: CHAT, text: 'hello' });
    expect((await second).map(textOf)).toEqual(['hello']);
  });

  it('records what a message replies to, and refuses a reply to a missing message unless allowed', async () => {
    const asked = server.pushUpdate({ chatId: CHAT, text: '/status' }).message;
    const reply = await api.sendMessage({ chat_id: CHAT, text: 'ok', reply_parameters: { message_id: asked?.message_id ?? 0 } });
    expect(reply.reply_to_message?.text).toBe('/status');
    expect(server.messages(CHAT).find((m) => m.message_id === reply.message_id)?.reply_to_message?.message_id).toBe(asked?.message_id);
    const missing = await apiError(api.sendMessage({ chat_id: CHAT, text: 'x', reply_parameters: { message_id: 9999 } }));
    expect(missing.description).toBe('Bad Request: message to be replied not found');
    const lenient = await api.sendMessage({
      chat_id: CHAT,
      text: 'x',
      reply_parameters: { message_id: 9999, allow_sending_without_reply: true },
    });
    expect(lenient.reply_to_message).toBeUndefined();
  });

  it('with conflictLoser "newer", refuses the second long poll and keeps the first', async () => {
    const strict = await startTelegramServer({ token: TOKEN, conflictThrottleMs: 0, conflictLoser: 'newer' });
    try {
      const client = new Api(TOKEN, { apiRoot: strict.url, maxRetries: 0 });
      const first = client.getUpdates({ timeout: 10 });
      await strict.waitFor('getUpdates');
      const conflict = await apiError(new Api(TOKEN, { apiRoot: strict.url, maxRetries: 0 }).getUpdates({ timeout: 10 }));
      expect(conflict.errorCode).toBe(409);
      expect(conflict.description).toMatch(/^Conflict: terminated by other getUpdates request/);
      strict.pushUpdate({ chatId: CHAT, text: 'hello' });
      expect((await first).map(textOf)).toEqual(['hello']);
    } finally {
      await strict.close();
    }
  });

  it('refuses getUpdates while a webhook is set', async () => {
    await api.setWebhook({ url: 'https://example.test/hook' });
    const error = await apiError(api.getUpdates({ timeout: 0 }));
    expect(error.errorCode).toBe(409);
    expect(error.description).toContain("can't use getUpdates method while webhook is active");
    await api.deleteWebhook({ drop_pending_updates: true });
    expect(await api.getUpdates({ timeout: 0 })).toEqual([]);
  });

  it('delivers callback queries, filtered by allowed_updates, and validates answers', async () => {
    const sent = await api.sendMessage({
      chat_id: CHAT,
      text: 'Stop training?',
      reply_markup: { inline_keyboard: [[{ text: 'Yes', callback_data: 'stop:yes' }]] },
    });
    server.pushUpdate({ chatId: CHAT, text: 'ignored by the filter' });
    const pressed = server.pushCallbackQuery({ chatId: CHAT, data: 'stop:yes', messageId: sent.message_id });
    const updates = await api.getUpdates({ timeout: 0, allowed_updates: ['callback_query'] });
    expect(updates).toEqual([pressed]);
    expect(pressed.callback_query).toMatchObject({ data: 'stop:yes', message: { message_id: sent.message_id } });
    expect(await api.answerCallbackQuery({ callback_query_id: pressed.callback_query?.id ?? '', text: 'Stopping' })).toBe(true);
    const again = await apiError(api.answerCallbackQuery({ callback_query_id: pressed.callback_query?.id ?? '' }));
    expect(again.description).toContain('query is too old');
  });

  it('works with the client library long-poll loop', async () => {
    const controller = new AbortController();
    const seen: string[] = [];
    const loop = (async () => {
      for await (const update of longPoll(api, { timeout: 5 }, controller.signal)) {
        seen.push(textOf(update) ?? '');
        if (seen.length === 2) controller.abort();
      }
    })();
    await server.waitFor('getUpdates');
    server.pushUpdate({ chatId: CHAT, text: '/status' });
    server.pushUpdate({ chatId: CHAT, text: '/plot' });
    await loop;
    expect(seen).toEqual(['/status', '/plot']);
  });
});

describe('getChat', () => {
  it('finds a chat by id or by its public @username, whoever holds the name now', async () => {
    const team = -100777;
    server.setChat(team, { title: 'ML team', username: 'ml_team' });
    expect(await api.getChat({ chat_id: '@ML_team' })).toMatchObject({
      id: team,
      type: 'supergroup',
      title: 'ML team',
      username: 'ml_team',
    });
    expect(await api.getChat({ chat_id: team })).toMatchObject({ id: team, username: 'ml_team' });
    // A name is held by one chat at a time: given up, it can be taken by another.
    expect(() => server.setChat(-100888, { username: 'ml_team' })).toThrow(/held by chat -100777/);
    server.setChat(team, { username: null });
    server.setChat(-100888, { username: 'ml_team' });
    expect(await api.getChat({ chat_id: '@ml_team' })).toMatchObject({ id: -100888 });
    const update = server.pushUpdate({ chatId: -100888, text: '/status' });
    expect(update.message?.chat).toMatchObject({ id: -100888, username: 'ml_team' });
    expect((await apiError(api.getChat({ chat_id: '@nobody_here' }))).description).toBe('Bad Request: chat not found');
    expect((await apiError(api.getChat({ chat_id: 31337 }))).description).toBe('Bad Request: chat not found');
  });
});

describe('commands and webhook bookkeeping', () => {
  it('stores setMyCommands and validates command names', async () => {
    await api.setMyCommands({ commands: [{ command: 'stop', description: 'Stop training' }] });
    expect(server.commands).toEqual([{ command: 'stop', description: 'Stop training' }]);
    expect(await api.getMyCommands()).toEqual([{ command: 'stop', description: 'Stop training' }]);
    const error = await apiError(api.setMyCommands({ commands: [{ command: 'Stop Now', description: 'x' }] }));
    expect(error.description).toBe('Bad Request: BOT_COMMAND_INVALID');
    expect(await api.deleteWebhook()).toBe(true);
  });
});

describe('faults', () => {
  it('rate-limits with retry_after in the body and a Retry-After header', async () => {
    server.faults.rateLimit(1, 7);
    const response = await fetch(`${server.url}/bot${TOKEN}/getMe`);
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('7');
    expect(await response.json()).toEqual({
      ok: false,
      error_code: 429,
      description: 'Too Many Requests: retry after 7',
      parameters: { retry_after: 7 },
    });
    server.faults.rateLimit(1, 3);
    server.clearReceived();
    // Predicates are re-checked once a call is answered, so they may look at the status.
    const limited = server.waitFor((c) => c.status === 429);
    const error = await apiError(api.getMe());
    expect((await limited).fault).toBe('rateLimit');
    expect(error.errorCode).toBe(429);
    expect(error.retryAfter).toBe(3);
    await expect(api.getMe()).resolves.toMatchObject({ is_bot: true });
  });

  it('honours scope: a fault for sendMessage leaves getUpdates alone, and faults apply in order', async () => {
    server.faults.rateLimit(1, 1, { methods: ['sendMessage'] }).serverError(1, 502, { methods: ['sendMessage'] });
    await api.getUpdates({ timeout: 0 });
    expect((await apiError(api.sendMessage({ chat_id: CHAT, text: 'a' }))).errorCode).toBe(429);
    const bad = await rejection(api.sendMessage({ chat_id: CHAT, text: 'b' }));
    expect(bad).toBeInstanceOf(TelegramApiError);
    expect((bad as TelegramApiError).errorCode).toBe(502);
    await api.sendMessage({ chat_id: CHAT, text: 'c' });
    expect(server.received.filter((c) => c.method === 'sendMessage').map((c) => c.fault ?? c.status)).toEqual([
      'rateLimit',
      'serverError',
      200,
    ]);
  });

  it('lets the client retry through a 429 using retry_after', async () => {
    server.faults.rateLimit(1, 1);
    const retrying = new Api(TOKEN, { apiRoot: server.url, maxRetries: 1 });
    const started = Date.now();
    await retrying.sendMessage({ chat_id: CHAT, text: 'after the wait' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(server.messages(CHAT).map((m) => m.text)).toEqual(['after the wait']);
  });

  it('hangs until the client times out', async () => {
    server.faults.hang(1);
    const error = await rejection(new Api(TOKEN, { apiRoot: server.url, maxRetries: 0, timeoutMs: 300 }).getMe());
    expect(error).toBeInstanceOf(TimeoutError);
    expect(server.received[0]).toMatchObject({ method: 'getMe', fault: 'hang', status: null });
  });

  it('resets the connection: ECONNRESET', async () => {
    server.faults.reset(1);
    const error = await rejection(api.getMe());
    expect(error).toBeInstanceOf(NetworkError);
    expect(((error as Error).cause as Error & { cause?: { code?: string } }).cause?.code).toBe('ECONNRESET');
  });

  it('answers 401 on an unauthorized fault, and delays answers with latency', async () => {
    server.faults.unauthorized(1).latency(200);
    const started = Date.now();
    expect((await apiError(api.getMe())).errorCode).toBe(401);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    server.faults.clear();
    expect(server.faults.latencyMs).toBe(0);
    await api.getMe();
  });
});
