// The README's samples, each a region its `sample:` markers show (the docs' check keeps them equal):
// run here with the real clients, what they print and what the servers received asserted. The
// fake pager is fake-pager.ts, shown whole; the conformance sample is test/conformance/webhook.test.ts.
import { renderText, WebhookCallback } from '@epochcast/notify';
import {
  arbitraryNotification,
  LONE_SURROGATE,
  redisSkipReason,
  startProxyServer,
  startRedisServer,
  startTelegramServer,
  startWebhookServer,
} from '@epochcast/testkit';
import { CrashAt, disposeToyLearner, EpochCounter, SlowEpochs, toyLearner } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { Api, type TelegramApiError } from 'node-telegram-bot-api';
import { afterEach, beforeAll, beforeEach, expect, test, vi } from 'vitest';
import { FakePager } from './fake-pager.js';

/** What the samples printed with console.log, one array of arguments per call. */
let printed: unknown[][];

beforeAll(async () => {
  await tf.setBackend('cpu');
});

beforeEach(() => {
  printed = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    printed.push(args);
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});

test('the example: the real Telegram client against the local Bot API — a message, a 429, the record, a pushed update', async () => {
  // #region example
  const server = await startTelegramServer({ token: '123:abc' });
  const api = new Api('123:abc', { apiRoot: server.url, maxRetries: 0 });

  await api.sendMessage({ chat_id: 42, text: '<b>Epoch 1/3</b> loss 0.41', parse_mode: 'HTML' });
  console.log(server.messages(42)[0]?.text); // "Epoch 1/3 loss 0.41" — entities parsed as Telegram does

  server.faults.rateLimit(1, 2); // the next call gets 429, retry_after 2
  try {
    await api.sendMessage({ chat_id: 42, text: 'again' });
  } catch (error) {
    console.log((error as TelegramApiError).retryAfter); // 2
  }

  const call = await server.waitFor('sendMessage');
  console.log(call.encoding, call.params.text); // "form" "<b>Epoch 1/3</b> loss 0.41"
  console.log(server.received.map((c) => c.fault ?? c.status)); // [200, 'rateLimit']

  server.pushUpdate({ chatId: 42, text: '/status' }); // a user types a command
  console.log(await api.getUpdates({ timeout: 10 })); // the update, at once

  await server.close();
  // #endregion
  expect(printed.slice(0, 4)).toEqual([['Epoch 1/3 loss 0.41'], [2], ['form', '<b>Epoch 1/3</b> loss 0.41'], [[200, 'rateLimit']]]);
  expect(printed[4]).toEqual([[expect.objectContaining({ message: expect.objectContaining({ text: '/status' }) })]]);
});

test('the fake pager in use: a page, a queued 429, what it recorded', async () => {
  // #region pager
  const pager = await new FakePager().listen();
  const page = (text: string) =>
    fetch(`${pager.url}/v1/page`, {
      method: 'POST',
      headers: { authorization: 'Key k-123', 'content-type': 'application/json' },
      body: JSON.stringify({ text }),
    });

  await page('epoch 3/10'); // 200 { id: 1 }
  pager.faults.rateLimit(1, 2).reset(1); // the next call: 429 { error: 'slow_down', retry_in: 2 }; the one after: ECONNRESET
  const limited = await page('epoch 4/10');
  console.log(limited.status, limited.headers.get('retry-after')); // 429 '2'
  await page('epoch 5/10').catch((error: Error) => console.log(error.cause)); // the connection reset: ECONNRESET
  console.log(pager.pages); // ['epoch 3/10']
  console.log(pager.received.map((c) => c.fault ?? c.status)); // [200, 'rateLimit', 'reset']
  await pager.close();
  // #endregion
  expect(printed.map((args) => args.map((a) => (a instanceof Error ? (a as NodeJS.ErrnoException).code : a)))).toEqual([
    [429, '2'],
    ['ECONNRESET'],
    [['epoch 3/10']],
    [[200, 'rateLimit', 'reset']],
  ]);
});

test('a toy learner: two fits of a real Learner, the second crashing in its second epoch', async () => {
  // #region toy-learner
  const hook = await startWebhookServer();
  const notifier = new WebhookCallback({ url: `${hook.url}/runs`, on: ['end', 'error'] });

  const learn = toyLearner([notifier, new SlowEpochs(50)]); // 96 samples, a quarter held out; batches of 32: 3 per epoch
  await learn.fit(3);
  disposeToyLearner(learn); // the optimizer, the model and the data

  const counter = new EpochCounter();
  await toyLearner([notifier, counter, new CrashAt(1, new TypeError('boom'))])
    .fit(5)
    .catch(() => {});
  console.log(counter.begun); // 2
  await hook.close();
  // #endregion
  expect(printed).toEqual([[2]]);
  expect(hook.received.map((r) => (r.body as { event: string }).event)).toEqual(['end', 'error']);
});

test('the arbitrary notification: no lone surrogate gets through renderText', () => {
  // #region arbitrary
  fc.assert(fc.property(arbitraryNotification(fc), (n) => !LONE_SURROGATE.test(renderText(n, { maxLength: 4000 }))));
  // #endregion
});

test('the recording proxy: a fit whose every request went through it, logged in', async () => {
  const before = process.env.HTTP_PROXY;
  try {
    // #region proxy
    const hook = await startWebhookServer();
    const proxy = await startProxyServer({ auth: { user: 'me', password: 's3cret' } });
    process.env.HTTP_PROXY = proxy.urlWith('me', 's3cret'); // http://me:s3cret@127.0.0.1:<port>
    const learn = toyLearner([new WebhookCallback({ url: `${hook.url}/h` })]); // reads HTTP_PROXY here
    await learn.fit(2);
    expect(proxy.received.length).toBe(hook.received.length); // nothing went around the proxy
    await proxy.close(); // ends every connection and tunnel, both ends
    // #endregion
    await hook.close();
    disposeToyLearner(learn);
    expect(hook.received.map((r) => (r.body as { event: string }).event)).toEqual(expect.arrayContaining(['start', 'end']));
    expect(proxy.received.every((r) => r.auth === 'valid' && r.user === 'me')).toBe(true);
  } finally {
    if (before === undefined) delete process.env.HTTP_PROXY;
    else process.env.HTTP_PROXY = before;
  }
});

// #region redis
test('a paused redis-server answers nothing until it is resumed', async (context) => {
  const reason = redisSkipReason();
  if (reason) context.skip(reason); // reported at the end of the run with its reason
  const redis = await startRedisServer({ password: 's3cret' }); // password optional (--requirepass)
  expect(redis.url).toBe(`redis://:s3cret@127.0.0.1:${redis.port}`); // EPOCHCAST_REDIS_URL for the runs under test
  redis.pause(); // SIGSTOP: connections stay open, nothing is answered, as on a hung host
  expect(await ping(redis.port, 's3cret', 300)).toBe('no answer');
  redis.resume();
  expect(await ping(redis.port, 's3cret', 5000)).toBe('+PONG');
  await redis.stop();
});
// #endregion

/** AUTH then PING over a raw socket: Redis's answer to the PING, or 'no answer' within `timeoutMs`. */
async function ping(port: number, password: string, timeoutMs: number): Promise<string> {
  const { connect } = await import('node:net');
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('no answer');
    }, timeoutMs);
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      answer += chunk.toString('utf8');
      const lines = answer.split('\r\n');
      if (lines.length < 3) return; // +OK for AUTH, then the PING's answer
      clearTimeout(timer);
      socket.destroy();
      resolve(lines[1] ?? '');
    });
    socket.write(`AUTH ${password}\r\nPING\r\n`);
  });
}
