import { afterEach, describe, expect, it } from 'vitest';
import { type NtfyServer, startNtfyServer } from '../src/index.js';

let server: NtfyServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: Parameters<typeof startNtfyServer>[0] = {}): Promise<NtfyServer> {
  server = await startNtfyServer(options);
  return server;
}

describe('ntfy server', () => {
  it('reads a header publish (names and X- forms, RFC 2047 titles) and answers as ntfy does', async () => {
    const s = await start();
    const response = await fetch(`${s.url}/alerts`, {
      method: 'POST',
      headers: {
        'x-title': '=?UTF-8?B?0LzQvtC00LXQu9GMIPCfmoA=?=',
        priority: 'urgent',
        tags: 'warning, skull',
        click: 'https://example.com/run',
        markdown: 'yes',
      },
      body: 'disk **full**',
    });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as Record<string, unknown>;
    expect(answer).toMatchObject({
      event: 'message',
      topic: 'alerts',
      message: 'disk **full**',
      title: 'модель 🚀',
      priority: 5,
      tags: ['warning', 'skull'],
      click: 'https://example.com/run',
    });
    expect(answer.id).toEqual(expect.any(String));
    expect(s.messages('alerts')[0]).toMatchObject({ via: 'headers', title: 'модель 🚀', priority: 5, markdown: true, auth: 'none' });
  });

  it('reads the query forms and JSON publishing to the root; the default priority is 3', async () => {
    const s = await start();
    await fetch(`${s.url}/runs?t=From%20query&p=2&ta=a,b`, { method: 'PUT', body: 'hello' });
    await fetch(`${s.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ topic: 'runs', message: 'json ✅', title: 'Title ✅', tags: ['x'], priority: 4, markdown: true }),
    });
    await fetch(`${s.url}/runs`, { method: 'POST', headers: { priority: 'u=1, i' }, body: '  plain\n' });
    expect(s.messages('runs').map((m) => [m.via, m.title, m.message, m.priority, m.tags, m.markdown])).toEqual([
      ['headers', 'From query', 'hello', 2, ['a', 'b'], false],
      ['json', 'Title ✅', 'json ✅', 4, ['x'], true],
      ['headers', undefined, 'plain', 3, [], false],
    ]);
  });

  it('keeps an attachment (PUT with Filename) with its bytes; refuses one over the limit with 413', async () => {
    const s = await start({ attachmentLimitBytes: 100 });
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3]);
    const ok = await fetch(`${s.url}/runs`, { method: 'PUT', headers: { filename: 'plot.png', message: 'the plot' }, body: bytes });
    expect(((await ok.json()) as { attachment: unknown }).attachment).toMatchObject({ name: 'plot.png', size: 8 });
    const [stored] = s.messages();
    expect(stored?.message).toBe('the plot');
    expect(stored?.attachment?.bytes.equals(bytes)).toBe(true);
    const big = await fetch(`${s.url}/runs`, { method: 'PUT', headers: { filename: 'big.bin' }, body: Buffer.alloc(101) });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ code: 41301, http: 413 });
  });

  it('turns a message over the limit into attachment.txt, as ntfy does', async () => {
    const s = await start();
    await fetch(`${s.url}/runs`, { method: 'POST', body: 'x'.repeat(4097) });
    await fetch(`${s.url}/runs`, { method: 'POST', body: 'y'.repeat(4096) });
    const [long, fits] = s.messages();
    expect(long?.message).toBe('You received a file: attachment.txt');
    expect(long?.attachment).toMatchObject({ name: 'attachment.txt', size: 4097 });
    expect(fits?.attachment).toBeUndefined();
    expect(fits?.message).toHaveLength(4096);
  });

  it('requires its credentials: none 403, wrong 401, a token or basic auth accepted', async () => {
    const s = await start({ token: 'tk_good', user: { username: 'phil', password: 'pw' } });
    const publish = (authorization?: string) =>
      fetch(`${s.url}/runs`, { method: 'POST', headers: authorization ? { authorization } : {}, body: 'hi' });
    const none = await publish();
    expect(none.status).toBe(403);
    expect(await none.json()).toMatchObject({ code: 40301, http: 403, error: 'forbidden' });
    const wrong = await publish('Bearer tk_bad');
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ code: 40101, http: 401, error: 'unauthorized' });
    expect((await publish('Bearer tk_good')).status).toBe(200);
    expect((await publish(`Basic ${Buffer.from('phil:pw').toString('base64')}`)).status).toBe(200);
    expect(s.received.map((r) => r.auth)).toEqual(['none', 'bearer', 'bearer', 'basic']);
  });

  it('answers faults in its own format: 429 with Retry-After, 5xx; a bad priority or topic is 400', async () => {
    const s = await start();
    s.faults.rateLimit(1, 2).serverError(1, 503);
    const limited = await fetch(`${s.url}/runs`, { method: 'POST', body: 'a' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(await limited.json()).toMatchObject({ code: 42901, http: 429, error: 'limit reached: too many requests' });
    expect((await fetch(`${s.url}/runs`, { method: 'POST', body: 'b' })).status).toBe(503);
    const badPriority = await fetch(`${s.url}/runs`, { method: 'POST', headers: { priority: 'loud' }, body: 'c' });
    expect(badPriority.status).toBe(400);
    const badTopic = await fetch(`${s.url}/`, { method: 'POST', body: JSON.stringify({ topic: 'no spaces!', message: 'd' }) });
    expect(badTopic.status).toBe(400);
    expect(s.messages()).toHaveLength(0);
  });
});
