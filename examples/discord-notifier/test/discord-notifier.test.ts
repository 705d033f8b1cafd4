// DiscordCallback against the local Discord endpoint: what it posts, how it reads Discord's
// answers (429 JSON retry_after, X-RateLimit-* pacing, 400 form errors, 401/404 webhooks), its
// configuration errors, and messages within Discord's limits whatever the run is called.
import { Callback, ConfigError, type EpochStats, type TrainingState } from '@epochcast/core';
import type { Notification, NotifyEvent } from '@epochcast/notify';
import { toyLearner as toyLearnerWith } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { DISCORD_LIMITS, DiscordCallback, type DiscordCallbackOptions, embedLength, formErrors, renderDiscord } from '../src/index.js';
import { type DiscordServer, type DiscordServerOptions, startDiscordServer, validateMessage } from './discord-server.js';

let server: DiscordServer | undefined;
let warnings: string[] = [];

beforeAll(async () => {
  await tf.setBackend('cpu');
});

afterEach(async () => {
  warnings = [];
  delete process.env.DISCORD_WEBHOOK_URL;
  await server?.close();
  server = undefined;
});

async function start(options: DiscordServerOptions = {}): Promise<DiscordServer> {
  server = await startDiscordServer(options);
  return server;
}

function discord(s: DiscordServer, options: DiscordCallbackOptions = {}): DiscordCallback {
  return new DiscordCallback({
    webhookUrl: s.webhookUrl,
    logger: { warn: (line) => warnings.push(line) },
    handleSignals: false,
    runName: 'mnist-mlp',
    ...options,
  });
}

function history(epochs: number, metrics: Record<string, (epoch: number) => number> = { accuracy: (e) => 0.9 + e / 1000 }): EpochStats[] {
  return Array.from({ length: epochs }, (_, epoch) => ({
    epoch,
    totalEpochs: epochs,
    trainLoss: 1 / (epoch + 1),
    validLoss: 1.1 / (epoch + 1),
    metrics: Object.fromEntries(Object.entries(metrics).map(([name, f]) => [name, f(epoch)])),
    lr: 1e-3,
    timeMs: 1234,
  }));
}

/** The testkit's toy learner without metrics: the epoch table shows the losses only. */
const toyLearner = (callbacks: Callback[]) => toyLearnerWith(callbacks, { metrics: [] });

function notification(event: NotifyEvent, overrides: Partial<Notification> = {}): Notification {
  const h = overrides.history ?? (event === 'start' ? [] : history(3));
  return {
    event,
    run: {
      name: 'mnist-mlp',
      id: 'a1b2c3d4',
      host: 'gpu-01',
      rank: 0,
      startedAt: 1_700_000_000_000,
      totalEpochs: 3,
      schedule: 'one-cycle lrMax=0.003',
    },
    stats: h.at(-1),
    history: h,
    metricNames: ['accuracy'],
    durationMs: 65_000,
    status: event === 'error' ? 'failed' : event === 'interrupt' ? 'interrupted' : event === 'end' ? 'completed' : 'running',
    ...overrides,
  };
}

describe('what DiscordCallback posts', () => {
  test('a fit: the webhook is checked (GET), then JSON messages; start and epochs as content, the end with a summary embed', async () => {
    const s = await start();
    await toyLearner([discord(s)]).fit(2);
    expect(s.received[0]).toMatchObject({ method: 'GET', status: 200 });
    const posts = s.received.filter((r) => r.kind === 'execute');
    expect(posts.every((r) => r.headers['content-type'] === 'application/json' && r.status === 204)).toBe(true);
    const [first, ...rest] = s.messages;
    expect(first?.content).toMatch(/^⏳ mnist-mlp \(\w{8}\) started on /);
    expect(first?.embeds).toEqual([]);
    expect(first?.username).toBe('epochcast');
    const end = rest.at(-1);
    expect(end?.content).toMatch(/^✅ mnist-mlp completed 2 epochs in /);
    expect(end?.embeds).toHaveLength(1);
    expect(end?.embeds[0]).toMatchObject({ color: 0x2ecc71, footer: { text: expect.stringMatching(/^epochcast · run \w{8} · /) } });
    expect(end?.embeds[0]?.description).toMatch(/^```\nepoch +train_loss +valid_loss +time/);
    const fields = end?.embeds[0]?.fields as { name: string; value: string }[];
    expect(fields.map((f) => f.name)).toEqual(
      expect.arrayContaining(['Status', 'Epochs', 'Duration', 'train_loss', 'valid_loss', 'Run', 'Host']),
    );
    expect(fields.find((f) => f.name === 'Epochs')?.value).toBe('2/2');
    expect(warnings).toEqual([]);
  });

  test('every body mentions no one: allowed_mentions parse is empty and markdown in names is escaped', async () => {
    const s = await start();
    const notifier = discord(s, { runName: '@everyone *bold* [link](https://evil.example) `x`' });
    await notifier.notify(
      notification('start', { run: { ...notification('start').run, name: '@everyone *bold* [link](https://evil.example) `x`' } }),
    );
    const body = s.received.at(-1)?.body as { content: string; allowed_mentions: unknown };
    expect(body.allowed_mentions).toEqual({ parse: [] });
    expect(body.content).toContain('@everyone \\*bold\\* \\[link\\](https://evil.example) \\`x\\`');
  });

  test('username, avatarUrl and threadId go where Discord reads them', async () => {
    const s = await start();
    await discord(s, { username: 'trainer', avatarUrl: 'https://example.com/a.png', threadId: '998877' }).notify(notification('end'));
    const request = s.received.at(-1);
    expect(request?.path).toMatch(/\?thread_id=998877$/);
    expect(request?.body).toMatchObject({ username: 'trainer', avatar_url: 'https://example.com/a.png' });
    expect(s.messages[0]?.threadId).toBe('998877');
  });

  test('a crash: the headline names the error, the embed is red and carries the stack in a code block', async () => {
    const s = await start();
    class Crash extends Callback {
      override onEpochEnd(state: TrainingState) {
        if (state.epoch === 1) throw new TypeError('shape mismatch in layer dense_1');
      }
    }
    await expect(toyLearner([discord(s, { on: ['error'] }), new Crash()]).fit(3)).rejects.toThrow('shape mismatch');
    const [message] = s.messages;
    expect(message?.content).toMatch(
      /^❌ mnist-mlp failed after 2\/3 epochs .*: CallbackError: callback Crash.onEpochEnd threw: shape mismatch in layer dense\\_1$/,
    );
    expect(message?.embeds[0]).toMatchObject({ color: 0xe74c3c });
    expect(message?.embeds[0]?.description).toMatch(
      /```\nCallbackError: callback Crash\.onEpochEnd threw: shape mismatch in layer dense_1\n +at /,
    );
  });
});

describe("Discord's answers", () => {
  test('429: waits the JSON body retry_after (fractional seconds), not the rounded-up Retry-After header', async () => {
    const s = await start();
    s.rateLimitNext(0.3);
    const notifier = discord(s);
    const started = performance.now();
    const report = await notifier.notify(notification('end'));
    const waited = performance.now() - started;
    expect(report.delivered).toEqual(['end']);
    expect(s.received.filter((r) => r.kind === 'execute').map((r) => r.status)).toEqual([429, 204]);
    expect(s.received[0]?.headers).toBeDefined();
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(waited).toBeLessThan(900);
    expect(warnings).toEqual([]);
  });

  test('a global 429 is waited out the same way', async () => {
    const s = await start();
    s.rateLimitNext(0.2, { global: true });
    const report = await discord(s).notify(notification('end'));
    expect(report.delivered).toEqual(['end']);
    expect(s.received.map((r) => r.error?.global)).toEqual([true, undefined]);
  });

  test('X-RateLimit-Remaining 0: the next send waits for Reset-After, so the bucket never answers 429', async () => {
    const s = await start({ bucket: { limit: 2, resetAfterMs: 500 } });
    const notifier = discord(s);
    const started = performance.now();
    for (let i = 0; i < 5; i++) await notifier.notify(notification('end'));
    expect(s.messages).toHaveLength(5);
    expect(s.received.filter((r) => r.status === 429)).toEqual([]);
    // 5 messages in buckets of 2 per 500 ms: two refills waited.
    expect(performance.now() - started).toBeGreaterThanOrEqual(900);
  });

  test('an exhausted bucket answers 429 with retry_after; a client that ignores the headers still gets through', async () => {
    const s = await start({ bucket: { limit: 1, resetAfterMs: 400 } });
    const a = discord(s);
    const b = discord(s); // a second client knows nothing of the first one's headers
    await a.notify(notification('end'));
    const report = await b.notify(notification('end'));
    expect(report.delivered).toEqual(['end']);
    const limited = s.received.find((r) => r.status === 429);
    expect(limited?.error).toMatchObject({ message: 'You are being rate limited.', global: false });
    expect(limited?.error?.retry_after).toBeGreaterThan(0);
    expect(limited?.error?.retry_after).toBeLessThanOrEqual(0.4);
  });

  test('a 400 Invalid Form Body is not retried, and the warning says which field broke which limit', async () => {
    const s = await start();
    const notifier = discord(s, { retries: 3 });
    // A rendering bug stands in: the body is swapped for content over Discord's 2000 characters.
    const original = globalThis.fetch;
    globalThis.fetch = (input, init) =>
      original(input, init?.method === 'POST' ? { ...init, body: JSON.stringify({ content: 'y'.repeat(2001) }) } : init);
    try {
      const report = await notifier.notify(notification('end'));
      expect(report.failed).toHaveLength(1);
    } finally {
      globalThis.fetch = original;
    }
    expect(s.received.filter((r) => r.kind === 'execute')).toHaveLength(1);
    expect(warnings).toEqual([
      'epochcast discord: could not deliver the end message: refused: 400 Invalid Form Body (code 50035): content: Must be 2000 or fewer in length. (not retried)',
    ]);
  });

  test('a deleted webhook (404) or a wrong token (401) stops the run before its first epoch, without printing the URL', async () => {
    const s = await start();
    const wrongId = s.webhookUrl.replace(s.id, '1111111111111111111');
    const wrongToken = s.webhookUrl.replace(s.token, 'not-the-token-0000');
    for (const [url, expected] of [
      [wrongId, /discord: the webhook was refused \(404 Unknown Webhook \(code 10015\)\): check DISCORD_WEBHOOK_URL/],
      [wrongToken, /discord: the webhook was refused \(401 Invalid Webhook Token \(code 50027\)\): check DISCORD_WEBHOOK_URL/],
    ] as const) {
      const learn = toyLearner([discord(s, { webhookUrl: url })]);
      const error = await learn.fit(2).then(
        () => new Error('fit resolved'),
        (e: unknown) => e as Error,
      );
      expect(error.message).toMatch(expected);
      expect(error.message).not.toContain(s.token);
      expect(learn.recorder.history).toHaveLength(0);
    }
    expect(s.messages).toEqual([]);
  });

  test('verifyWebhook false: no GET; a 404 on send is one warning, not retried, and training goes on', async () => {
    const s = await start();
    const learn = toyLearner([
      discord(s, { webhookUrl: s.webhookUrl.replace(s.id, '1111111111111111111'), verifyWebhook: false, on: ['end'] }),
    ]);
    await learn.fit(1);
    expect(learn.state.status).toBe('completed');
    expect(s.received.map((r) => `${r.method} ${r.status}`)).toEqual(['POST 404']);
    expect(warnings).toEqual([
      'epochcast discord: could not deliver the end message: refused: 404 Unknown Webhook (code 10015) (not retried)',
    ]);
  });

  test('an unreachable Discord at verify time does not stop the run; the sends retry and report', async () => {
    const s = await start();
    const url = s.webhookUrl;
    await s.close();
    server = undefined;
    const learn = toyLearner([discord(s, { webhookUrl: url, on: ['end'], retries: 0 })]);
    await learn.fit(1);
    expect(learn.state.status).toBe('completed');
    // One warning says the check could not be made (the base's policy for every plugin), one the end was lost.
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toBe('epochcast discord: could not check the webhook (could not reach Discord (ECONNREFUSED)); training goes on');
    expect(warnings[1]).toMatch(/^epochcast discord: could not deliver the end message: could not reach Discord \(ECONNREFUSED\)$/);
  });
});

describe('configuration', () => {
  test('the URL comes from webhookUrl, else DISCORD_WEBHOOK_URL; without either, a ConfigError says so', async () => {
    expect(() => new DiscordCallback()).toThrow(ConfigError);
    expect(() => new DiscordCallback()).toThrow(/no webhook URL.*DISCORD_WEBHOOK_URL/);
    const s = await start();
    process.env.DISCORD_WEBHOOK_URL = s.webhookUrl;
    const report = await new DiscordCallback({ handleSignals: false }).notify(notification('end'));
    expect(report.delivered).toEqual(['end']);
  });

  test('a URL that is not a webhook URL is refused, and the error never quotes it', () => {
    for (const url of [
      'not a url',
      'ftp://discord.com/api/webhooks/1/abc',
      'https://discord.com/channels/123/456',
      'https://discord.com/api/webhooks/abc',
    ]) {
      const error = (() => {
        try {
          new DiscordCallback({ webhookUrl: url });
        } catch (e) {
          return e as Error;
        }
      })();
      expect(error).toBeInstanceOf(ConfigError);
      expect(error?.message).not.toContain(url);
    }
    expect(() => new DiscordCallback({ webhookUrl: 'https://discord.com/api/webhooks/1/abc', threadId: 'general' })).toThrow(/threadId/);
    // Every documented form is accepted.
    for (const url of [
      'https://discord.com/api/webhooks/123456/tok-EN_1',
      'https://discord.com/api/v10/webhooks/123456/tok-EN_1',
      'https://discordapp.com/api/webhooks/123456/tok-EN_1',
      'https://ptb.discord.com/api/webhooks/123456/tok-EN_1/',
    ])
      expect(new DiscordCallback({ webhookUrl: url }).limits.maxTextLength).toBe(2000);
  });

  test('the webhook URL and its token are secrets: redacted from anything the notifier prints', async () => {
    const s = await start();
    const notifier = discord(s);
    expect(notifier.redact(`POST ${s.webhookUrl} failed; token ${s.token}`)).toBe('POST *** failed; token ***');
  });
});

describe("messages within Discord's limits", () => {
  const nasty = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 3000 }),
    fc.constantFrom('```', '`code` ```fence```', '*_~|>#-[x](y)\\', '@everyone @here <@123>', '\n'.repeat(50)),
  );
  const arbitraryNotification = fc
    .record({
      event: fc.constantFrom<NotifyEvent>('start', 'epoch', 'end', 'error', 'interrupt'),
      name: nasty,
      metrics: fc.array(nasty, { maxLength: 40 }),
      epochs: fc.integer({ min: 0, max: 400 }),
      message: nasty,
      stack: fc.array(nasty, { maxLength: 200 }),
      stopReason: fc.option(nasty, { nil: undefined }),
    })
    .map(({ event, name, metrics, epochs, message, stack, stopReason }) => {
      const metricNames = [...new Set(metrics.map((m) => m.trim() || 'acc'))];
      const h = history(epochs, Object.fromEntries(metricNames.map((m) => [m, (e: number) => e / (epochs + 1)])));
      const base = notification(event, { history: h, metricNames });
      return {
        ...base,
        run: { ...base.run, name, host: name, schedule: name },
        ...(event === 'error' ? { error: { name: 'Error', message, stack: [`Error: ${message}`, ...stack].join('\n') } } : {}),
        ...(stopReason !== undefined ? { stopReason } : {}),
      } satisfies Notification;
    });

  test('every rendered message passes the local server’s validation of Discord’s limits', () => {
    fc.assert(
      fc.property(arbitraryNotification, (n) => {
        const message = renderDiscord(n);
        expect(validateMessage(message)).toBeUndefined();
        expect(message.content.length).toBeLessThanOrEqual(DISCORD_LIMITS.content);
        for (const embed of message.embeds ?? []) expect(embedLength(embed)).toBeLessThanOrEqual(DISCORD_LIMITS.embedTotal);
        // The headline comes first, whatever follows.
        expect(message.content.length).toBeGreaterThan(0);
      }),
      { numRuns: 150 },
    );
  });

  test('a long epoch table is cut to whole lines in a closed code block', () => {
    const many = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`metric_${i}`, (e: number) => e / 500]));
    const message = renderDiscord(notification('epoch', { history: history(400, many), metricNames: Object.keys(many) }));
    expect(message.content.length).toBeLessThanOrEqual(2000);
    expect(message.content).toMatch(/\n```\nepoch[\s\S]*\n```$/);
  });
});

describe('the local server plays Discord', () => {
  const post = (s: DiscordServer, body: unknown, query = '') =>
    fetch(`${s.webhookUrl}${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  test('204 without wait, 200 with the message object with wait=true; rate-limit headers on both', async () => {
    const s = await start();
    const plain = await post(s, { content: 'hi' });
    expect(plain.status).toBe(204);
    expect(plain.headers.get('x-ratelimit-limit')).toBe('5');
    expect(plain.headers.get('x-ratelimit-remaining')).toBe('4');
    const waited = await post(s, { content: 'hi' }, '?wait=true');
    expect(waited.status).toBe(200);
    expect(await waited.json()).toMatchObject({ content: 'hi', webhook_id: s.id, channel_id: '555' });
  });

  test("over-limit payloads get Discord's 400 with the nested form errors", async () => {
    const s = await start({ bucket: false });
    const cases: [unknown, string[]][] = [
      [{ content: 'x'.repeat(2001) }, ['content: Must be 2000 or fewer in length.']],
      [{ embeds: [{ title: 't'.repeat(257) }] }, ['embeds.0.title: Must be 256 or fewer in length.']],
      [{ embeds: [{ description: 'd'.repeat(4097) }] }, ['embeds.0.description: Must be 4096 or fewer in length.']],
      [
        { embeds: [{ fields: Array.from({ length: 26 }, () => ({ name: 'a', value: 'b' })) }] },
        ['embeds.0.fields: Must be 25 or fewer in length.'],
      ],
      [
        {
          embeds: [
            {
              fields: [
                { name: 'n', value: 'v'.repeat(1025) },
                { name: '', value: 'x' },
              ],
            },
          ],
        },
        ['embeds.0.fields.0.value: Must be 1024 or fewer in length.', 'embeds.0.fields.1.name: This field is required'],
      ],
      [
        { embeds: [{ description: 'd'.repeat(4000) }, { description: 'd'.repeat(2001) }] },
        ['embeds: Embed size exceeds maximum size of 6000'],
      ],
    ];
    for (const [body, expected] of cases) {
      const response = await post(s, body);
      expect(response.status).toBe(400);
      const answer = (await response.json()) as { code: number; errors: unknown };
      expect(answer.code).toBe(50035);
      expect(formErrors(answer.errors)).toEqual(expected);
    }
    expect((await post(s, { content: '  ' })).status).toBe(400);
    expect(
      await (await fetch(s.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' })).json(),
    ).toMatchObject({
      code: 50109,
    });
    expect(s.messages).toEqual([]);
  });
});
