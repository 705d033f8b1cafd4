// Issue 15, finding 9: webhook signatures covered the body only (a captured request replayed
// forever), a 307 to another origin re-posted the body and the x-api-key header there, and plain
// http:// to another machine or an unsigned request went by without a word.
import { createHmac } from 'node:crypto';
import { sampleNotification, startWebhookServer, type WebhookRequest, type WebhookServer } from '@epochcast/testkit';
import { afterEach, describe, expect, test } from 'vitest';
import { verifyWebhookSignature, WebhookCallback, WebhookSignatureError, type WebhookSignatureFailure } from '../src/index.js';

const SECRET = 'hook-SECRET-9f3e';
const API_KEY = 'api-KEY-7c41d2';

let servers: WebhookServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function server(options: Parameters<typeof startWebhookServer>[0] = {}): Promise<WebhookServer> {
  const s = await startWebhookServer(options);
  servers.push(s);
  return s;
}

function hook(url: string, lines: string[], options: { secret?: string; headers?: Record<string, string>; retries?: number } = {}) {
  return new WebhookCallback({ url, logger: { warn: (l) => lines.push(l) }, retries: 0, handleSignals: false, ...options });
}

/** What `verifyWebhookSignature` says of a request, as its reason (`ok` when it holds). */
function verdict(options: Parameters<typeof verifyWebhookSignature>[0]): WebhookSignatureFailure | 'ok' {
  try {
    verifyWebhookSignature(options);
    return 'ok';
  } catch (error) {
    if (error instanceof WebhookSignatureError) return error.reason;
    throw error;
  }
}

function signedAt(request: WebhookRequest): number {
  return Number(/^t=(\d+),v1=[0-9a-f]{64}$/.exec(request.headers['x-epochcast-signature'] ?? '')?.[1]);
}

describe('webhook signatures cover a timestamp (finding 9)', () => {
  test('a captured request replayed after the 300 s tolerance fails verifyWebhookSignature; so does a tampered body', async () => {
    const receiver = await server({ secret: SECRET });
    const report = await hook(`${receiver.url}/hook`, [], { secret: SECRET }).notify(sampleNotification({ event: 'end' }));
    expect(report.delivered).toEqual(['end']);
    const [captured] = receiver.received;
    if (!captured) throw new Error('nothing received');
    expect(captured.signatureValid).toBe(true);
    const header = captured.headers['x-epochcast-signature'];
    const t = signedAt(captured);
    expect(Math.abs(t - Date.now() / 1000)).toBeLessThan(5);
    const at = (seconds: number) => ({ body: captured.rawBody, header, secret: SECRET, now: seconds * 1000 });

    expect(verifyWebhookSignature(at(t + 299))).toEqual({ timestamp: t });
    // The attacker replays the very bytes they captured, 5 minutes and 1 second later.
    expect(verdict(at(t + 301))).toBe('stale');
    expect(verdict({ ...at(t + 3600), toleranceSeconds: 7200 })).toBe('ok');
    expect(verdict(at(t - 301))).toBe('future');
    // Within the tolerance, a changed body, another secret or a re-dated header fail at once.
    expect(verdict({ ...at(t), body: captured.rawBody.replace('"end"', '"error"') })).toBe('mismatch');
    expect(verdict({ ...at(t), secret: 'another-secret' })).toBe('mismatch');
    expect(verdict({ ...at(t + 1000), header: header?.replace(`t=${t}`, `t=${t + 1000}`) })).toBe('mismatch');
    // The old body-only header, and no header, are refused with the reason.
    const bodyOnly = `sha256=${createHmac('sha256', SECRET).update(captured.rawBody).digest('hex')}`;
    expect(() => verifyWebhookSignature({ ...at(t), header: bodyOnly })).toThrow(/malformed \(sha256=… signs the body alone/);
    expect(verdict({ ...at(t), header: undefined })).toBe('missing');
    expect(verdict({ ...at(t), header: 't=1,v1=zz' })).toBe('malformed');
    expect(verdict({ ...at(t), header: `t=${t},v1=${'0'.repeat(64)},`.repeat(200) })).toBe('malformed');
    // Bytes verify as well as text, and a repeated header (an array) as one.
    expect(verdict({ ...at(t), body: Buffer.from(captured.rawBody), header: [header ?? ''] })).toBe('ok');
  });

  test('the verifier names what is wrong and refuses to run without a secret or a sane tolerance', () => {
    const body = '{}';
    const header = `t=100,v1=${createHmac('sha256', SECRET).update('100.{}').digest('hex')}`;
    expect(() => verifyWebhookSignature({ body, header, secret: SECRET, now: 1_000_000 })).toThrow(
      'the request was signed 900 s ago, more than the 300 s allowed: a replay, or a clock far behind.',
    );
    expect(() => verifyWebhookSignature({ body, header, secret: '' })).toThrow(/secret must be the non-empty string/);
    expect(() => verifyWebhookSignature({ body, header, secret: SECRET, toleranceSeconds: 0 })).toThrow(
      /toleranceSeconds must be a positive number of seconds/,
    );
    expect(() => verifyWebhookSignature({ body, header, secret: SECRET, toleranceSeconds: Number.POSITIVE_INFINITY })).toThrow(
      /toleranceSeconds/,
    );
  });

  test('one delivery id per notification, the same on its retry; each attempt signed afresh', async () => {
    const receiver = await server({ secret: SECRET });
    // A 429 asking for 1 s: the retry goes out in a later second than the first attempt.
    receiver.faults.rateLimit(1, 1);
    const notifier = hook(`${receiver.url}/hook`, [], { secret: SECRET, retries: 2 });
    expect((await notifier.notify(sampleNotification({ event: 'start' }))).delivered).toEqual(['start']);
    expect((await notifier.notify(sampleNotification({ event: 'end' }))).delivered).toEqual(['start', 'end']);
    const [failed, retried, next] = receiver.received;
    expect([failed?.fault, retried?.status, next?.status]).toEqual(['rateLimit', 200, 200]);
    expect(failed?.deliveryId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(retried?.deliveryId).toBe(failed?.deliveryId);
    expect(next?.deliveryId).not.toBe(failed?.deliveryId);
    expect(retried?.signatureValid).toBe(true);
    if (!failed || !retried) throw new Error('nothing received');
    expect(signedAt(retried)).toBeGreaterThan(signedAt(failed));
  });
});

describe('redirects never carry the body or the headers to another origin (finding 9)', () => {
  test('a 307 to another origin is not followed: that server receives nothing, one warning names its origin', async () => {
    const receiver = await server({ secret: SECRET });
    const attacker = await server();
    receiver.redirect('/hook', `${attacker.url}/collect?token=LOCATION-T0KEN`);
    const lines: string[] = [];
    const notifier = hook(`${receiver.url}/hook`, lines, { secret: SECRET, headers: { 'x-api-key': API_KEY } });
    const report = await notifier.notify(sampleNotification({ event: 'end' }));

    expect(report.delivered).toEqual([]);
    expect(attacker.received).toEqual([]);
    expect(receiver.received.map((r) => [r.path, r.status])).toEqual([['/hook', 307]]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(
      `the webhook answered 307, a redirect to another origin (${attacker.url}); not followed, so the body and the headers were not sent there`,
    );
    expect(lines[0]).not.toMatch(/LOCATION-T0KEN|collect|api-KEY|hook-SECRET/);
  });

  test('a 308 from https:// to http:// of the same host, and a redirect to another scheme, are other origins too', async () => {
    const receiver = await server();
    const { port } = new URL(receiver.url);
    receiver.redirect('/tls', `https://127.0.0.1:${port}/hook`, 308).redirect('/file', 'file:///etc/passwd');
    const lines: string[] = [];
    await hook(`${receiver.url}/tls`, lines).notify(sampleNotification({ event: 'end' }));
    await hook(`${receiver.url}/file`, lines).notify(sampleNotification({ event: 'end' }));
    expect(lines[0]).toContain(`a redirect to another origin (https://127.0.0.1:${port})`);
    expect(lines[1]).toContain('a redirect to another origin (a file: URL)');
    expect(receiver.received.map((r) => r.path)).toEqual(['/tls', '/file']);
  });

  test('a 307 or 308 within the origin is followed, still signed with the same delivery id; a 302 is refused, naming why', async () => {
    const receiver = await server({ secret: SECRET });
    receiver.redirect('/old', '/moved', 308).redirect('/moved', `${receiver.url}/new`).redirect('/form', '/new', 302);
    const notifier = hook(`${receiver.url}/old`, [], { secret: SECRET, headers: { 'x-api-key': API_KEY } });
    expect((await notifier.notify(sampleNotification({ event: 'end' }))).delivered).toEqual(['end']);
    const [first, second, third] = receiver.received;
    expect(receiver.received.map((r) => [r.path, r.status])).toEqual([
      ['/old', 308],
      ['/moved', 307],
      ['/new', 200],
    ]);
    expect(third?.signatureValid).toBe(true);
    expect(third?.headers['x-api-key']).toBe(API_KEY);
    expect(new Set([first?.deliveryId, second?.deliveryId, third?.deliveryId]).size).toBe(1);

    const lines: string[] = [];
    await hook(`${receiver.url}/form`, lines).notify(sampleNotification({ event: 'end' }));
    expect(lines).toEqual([
      'epochcast webhook: could not deliver the end message: refused: the webhook answered 302, a redirect that would turn the POST into a GET without the body; set the url to the address it moved to (not retried)',
    ]);
  });

  test('a redirect loop within the origin ends after 4 redirects with an error, not a hang', async () => {
    const receiver = await server();
    receiver.redirect('/a', '/b').redirect('/b', '/a');
    const lines: string[] = [];
    await hook(`${receiver.url}/a`, lines).notify(sampleNotification({ event: 'end' }));
    expect(receiver.received).toHaveLength(5);
    expect(lines[0]).toContain('the webhook redirected more than 4 times; set the url to the final address');
  });
});

describe('warnings about where the notifications go (finding 9)', () => {
  test('plain http:// to another machine warns once; an unsigned request to another machine warns once', () => {
    const lines: string[] = [];
    hook('http://hooks.example.test/T0KEN-path', lines, { secret: SECRET });
    expect(lines).toEqual([
      'epochcast webhook: the url is plain http:// to hooks.example.test, another machine: anyone on the way can read and change the URL, the headers and every notification; use https://',
    ]);
    lines.length = 0;
    hook('https://hooks.example.test/T0KEN-path', lines, { secret: '' });
    expect(lines).toEqual([
      'epochcast webhook: requests are unsigned, so the receiver cannot tell them from forged or replayed ones: set secret (EPOCHCAST_WEBHOOK_SECRET) and check x-epochcast-signature with verifyWebhookSignature',
    ]);
    lines.length = 0;
    hook('http://10.0.0.8:8080/hook', lines);
    expect(lines).toHaveLength(2);
    expect(lines.join('\n')).not.toContain('T0KEN');
  });

  test('this machine (localhost, 127.0.0.0/8, ::1), https:// with a secret or an Authorization header, and a disabled notifier warn nothing', () => {
    const lines: string[] = [];
    for (const url of ['http://localhost:9/h', 'http://127.0.0.1:9/h', 'http://127.8.9.10/h', 'http://[::1]:9/h']) hook(url, lines);
    hook('https://hooks.example.test/h', lines, { secret: SECRET });
    // A receiver that checks its own Authorization header knows who sent the request.
    hook('https://hooks.example.test/h', lines, { headers: { Authorization: 'Bearer b3arer-t0ken' } });
    new WebhookCallback({ url: 'http://hooks.example.test/h', enabled: false, logger: { warn: (l) => lines.push(l) } });
    expect(lines).toEqual([]);
  });
});
