import { LogLevel, WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError, WebAPIRequestError, WebClient } from '@slack/web-api';
import { IncomingWebhook, IncomingWebhookHTTPError } from '@slack/webhook';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type SlackServer, startSlackServer, validateSlackBlocks } from '../src/index.js';
import { rejection } from './helpers.js';

const TOKEN = 'xoxb-epochcast-test';
// WebClient logs Slack's response_metadata messages as errors; the tests assert on them instead.
const quiet = { debug() {}, info() {}, warn() {}, error() {}, setLevel() {}, getLevel: () => LogLevel.ERROR, setName() {} };

let server: SlackServer;
let client: WebClient;

beforeEach(async () => {
  server = await startSlackServer({ token: TOKEN, channels: [{ id: 'C0TRAINING', name: 'training' }, '#random-names-get-an-id'] });
  // The default policy retries for ~30 minutes; tests want to see each answer as it is.
  client = new WebClient(TOKEN, { slackApiUrl: server.apiUrl, retryConfig: { retries: 0 }, logger: quiet, timeout: 5_000 });
});

afterEach(async () => {
  await server.close();
});

async function platformError(promise: Promise<unknown>): Promise<WebAPIPlatformError> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(WebAPIPlatformError);
  return error as WebAPIPlatformError;
}

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });

describe('Web API', () => {
  it('answers auth.test, and invalid_auth / not_authed with HTTP 200 as Slack does', async () => {
    expect(await client.auth.test()).toMatchObject({ ok: true, user_id: 'U0TESTBOT', team_id: 'T0TEST000' });
    const wrong = new WebClient('xoxb-wrong', { slackApiUrl: server.apiUrl, retryConfig: { retries: 0 }, logger: quiet });
    const error = await platformError(wrong.chat.postMessage({ channel: 'C0TRAINING', text: 'x' }));
    expect(error.data.error).toBe('invalid_auth');
    expect(error.message).not.toContain('xoxb-wrong');
    const response = await fetch(`${server.apiUrl}auth.test`, { method: 'POST' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: false, error: 'not_authed' });
    // The token may also come as a form field.
    const byField = await fetch(`${server.apiUrl}auth.test`, { method: 'POST', body: new URLSearchParams({ token: TOKEN }) });
    expect(await byField.json()).toMatchObject({ ok: true });
  });

  it('posts messages and threads, recording what the client sent', async () => {
    const parent = await client.chat.postMessage({ channel: '#training', text: 'run started', blocks: [section('*run* started')] });
    expect(parent).toMatchObject({ ok: true, channel: 'C0TRAINING', message: { text: 'run started', bot_id: 'B0TESTBOT' } });
    expect(parent.ts).toMatch(/^\d+\.\d{6}$/);
    const reply = await client.chat.postMessage({
      channel: 'C0TRAINING',
      text: 'epoch 1',
      thread_ts: parent.ts ?? '',
      reply_broadcast: true,
    });
    expect(reply.message).toMatchObject({ thread_ts: parent.ts, reply_broadcast: true });
    expect(server.messages('#training').map((m) => [m.text, m.thread_ts ?? null])).toEqual([
      ['run started', null],
      ['epoch 1', parent.ts],
    ]);
    const call = await server.waitFor('chat.postMessage');
    // @slack/web-api sends a urlencoded form; blocks travel as JSON text, Authorization as a Bearer header.
    expect(call.encoding).toBe('form');
    expect(JSON.parse(String(call.params.blocks))).toEqual([section('*run* started')]);
  });

  it('answers channel_not_found, no_text and msg_too_long', async () => {
    expect((await platformError(client.chat.postMessage({ channel: 'C0UNKNOWN', text: 'x' }))).data.error).toBe('channel_not_found');
    expect((await platformError(client.chat.postMessage({ channel: '#random', text: 'x' }))).data.error).toBe('channel_not_found');
    expect((await platformError(client.chat.postMessage({ channel: 'C0TRAINING', text: '' }))).data.error).toBe('no_text');
    expect((await platformError(client.chat.postMessage({ channel: 'C0TRAINING', text: 'x'.repeat(40_001) }))).data.error).toBe(
      'msg_too_long',
    );
  });

  it('answers invalid_blocks over 50 blocks or 3000 characters of section text', async () => {
    const many = await platformError(
      client.chat.postMessage({ channel: 'C0TRAINING', text: 'x', blocks: Array.from({ length: 51 }, () => section('a')) }),
    );
    expect(many.data.error).toBe('invalid_blocks');
    expect(many.data.response_metadata?.messages).toEqual(['[ERROR] no more than 50 items allowed [json-pointer:/blocks]']);
    const long = await platformError(client.chat.postMessage({ channel: 'C0TRAINING', text: 'x', blocks: [section('y'.repeat(3001))] }));
    expect(long.data.response_metadata?.messages).toEqual(['[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]']);
    await client.chat.postMessage({ channel: 'C0TRAINING', text: 'x', blocks: [section('y'.repeat(3000))] });
    expect(validateSlackBlocks([section('ok')])).toBeUndefined();
    expect(validateSlackBlocks('not json')?.error).toBe('invalid_blocks_format');
  });

  it('updates messages and answers message_not_found', async () => {
    const posted = await client.chat.postMessage({ channel: 'C0TRAINING', text: 'epoch 1/3' });
    const updated = await client.chat.update({ channel: 'C0TRAINING', ts: posted.ts ?? '', text: 'epoch 2/3' });
    expect(updated).toMatchObject({ ok: true, ts: posted.ts, text: 'epoch 2/3' });
    expect(server.messages('C0TRAINING')).toHaveLength(1);
    expect(server.messages('C0TRAINING')[0]).toMatchObject({ text: 'epoch 2/3', edited: { user: 'U0TESTBOT' } });
    expect((await platformError(client.chat.update({ channel: 'C0TRAINING', ts: '1.000000', text: 'x' }))).data.error).toBe(
      'message_not_found',
    );
  });

  it('runs the files.uploadV2 flow: getUploadURLExternal, upload URL, completeUploadExternal', async () => {
    const png = Buffer.from('89504e470d0a1a0a', 'hex');
    const result = await client.files.uploadV2({
      channel_id: 'C0TRAINING',
      file: png,
      filename: 'loss.png',
      title: 'Loss',
      initial_comment: 'losses so far',
    });
    expect(result.ok).toBe(true);
    expect(server.received.map((c) => c.method)).toEqual(['files.getUploadURLExternal', 'upload', 'files.completeUploadExternal']);
    const [getUrl, upload, complete] = server.received;
    expect(getUrl?.params).toMatchObject({ filename: 'loss.png', length: String(png.length) });
    // The upload URL receives multipart: one file part named "body".
    expect(upload?.encoding).toBe('multipart');
    expect(upload?.files[0]?.field).toBe('body');
    expect(JSON.parse(String(complete?.params.files))).toEqual([{ id: server.files[0]?.id, title: 'Loss' }]);
    expect(server.files[0]).toMatchObject({
      name: 'loss.png',
      length: png.length,
      bytes: png,
      completed: true,
      channel: 'C0TRAINING',
      initialComment: 'losses so far',
    });
    expect(server.messages('C0TRAINING')[0]).toMatchObject({
      text: 'losses so far',
      via: 'file',
      files: [{ name: 'loss.png', title: 'Loss' }],
    });
  });

  it('refuses to complete a file that was never uploaded', async () => {
    const { file_id } = await client.files.getUploadURLExternal({ filename: 'a.txt', length: 3 });
    const error = await platformError(client.files.completeUploadExternal({ files: [{ id: file_id ?? '' }], channel_id: 'C0TRAINING' }));
    expect(error.data.error).toBe('file_not_found');
  });
});

describe('incoming webhook', () => {
  it('accepts text and blocks and answers "ok"', async () => {
    const hook = new IncomingWebhook(server.webhookUrl);
    expect(await hook.send({ text: 'epoch 3', blocks: [section('*epoch 3*')] })).toEqual({ text: 'ok' });
    const call = await server.waitFor('webhook');
    expect(call).toMatchObject({ encoding: 'json', status: 200, params: { text: 'epoch 3' } });
    expect(server.messages()).toEqual([expect.objectContaining({ text: 'epoch 3', via: 'webhook' })]);
  });

  it('answers invalid_payload and no_text with 400, as Slack does', async () => {
    const hook = new IncomingWebhook(server.webhookUrl);
    const noText = await rejection(hook.send({}));
    expect(noText).toBeInstanceOf(IncomingWebhookHTTPError);
    expect(noText).toMatchObject({ statusCode: 400, body: 'no_text' });
    const broken = await fetch(server.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' });
    expect([broken.status, await broken.text()]).toEqual([400, 'invalid_payload']);
    const wrongHook = await fetch(`${server.url}/services/T1/B1/nope`, { method: 'POST', body: '{"text":"x"}' });
    expect([wrongHook.status, await wrongHook.text()]).toEqual([404, 'no_service']);
  });
});

describe('faults', () => {
  it('rate-limits with HTTP 429, a Retry-After header and error "ratelimited"', async () => {
    server.faults.rateLimit(1, 4);
    const response = await fetch(`${server.apiUrl}chat.postMessage`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('4');
    expect(await response.json()).toEqual({ ok: false, error: 'ratelimited' });

    server.faults.rateLimit(1, 2);
    const strict = new WebClient(TOKEN, {
      slackApiUrl: server.apiUrl,
      rejectRateLimitedCalls: true,
      retryConfig: { retries: 0 },
      logger: quiet,
    });
    const error = await rejection(strict.chat.postMessage({ channel: 'C0TRAINING', text: 'x' }));
    expect(error).toBeInstanceOf(WebAPIRateLimitedError);
    expect((error as WebAPIRateLimitedError).retryAfter).toBe(2);
  });

  it('rate-limits the incoming webhook with 429 and Retry-After', async () => {
    server.faults.rateLimit(1, 9);
    const response = await fetch(server.webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"text":"x"}',
    });
    expect([response.status, response.headers.get('retry-after'), await response.text()]).toEqual([429, '9', 'rate_limited']);
  });

  it('answers 5xx, then resets, then hangs, each for the next call only', async () => {
    server.faults.serverError(1, 503).reset(1).hang(1);
    const http = await rejection(client.chat.postMessage({ channel: 'C0TRAINING', text: '1' }));
    expect(http).toBeInstanceOf(WebAPIHTTPError);
    expect((http as WebAPIHTTPError).statusCode).toBe(503);
    const reset = await rejection(client.chat.postMessage({ channel: 'C0TRAINING', text: '2' }));
    expect(reset).toBeInstanceOf(WebAPIRequestError);
    expect(((reset as WebAPIRequestError).original.cause as { code?: string } | undefined)?.code).toBe('ECONNRESET');
    const impatient = new WebClient(TOKEN, { slackApiUrl: server.apiUrl, retryConfig: { retries: 0 }, timeout: 300, logger: quiet });
    const started = Date.now();
    const hung = await rejection(impatient.chat.postMessage({ channel: 'C0TRAINING', text: '3' }));
    expect(hung).toBeInstanceOf(WebAPIRequestError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    await client.chat.postMessage({ channel: 'C0TRAINING', text: '4' });
    expect(server.messages().map((m) => m.text)).toEqual(['4']);
  });

  it('answers invalid_auth on an unauthorized fault, scoped to one method', async () => {
    server.faults.unauthorized(1, { methods: ['chat.postMessage'] });
    await client.auth.test();
    expect((await platformError(client.chat.postMessage({ channel: 'C0TRAINING', text: 'x' }))).data.error).toBe('invalid_auth');
  });
});
