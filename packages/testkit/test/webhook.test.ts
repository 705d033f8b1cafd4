import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { DELIVERY_HEADER, SIGNATURE_HEADER, startWebhookServer, type WebhookServer, webhookSignature } from '../src/index.js';

const SECRET = 'hook-secret';
let server: WebhookServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

function post(body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server?.url}/hooks/epochcast`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
}

describe('webhook server', () => {
  it('records body and headers and accepts a valid signature', async () => {
    server = await startWebhookServer({ secret: SECRET });
    const body = JSON.stringify({ event: 'epoch', epoch: 1, validLoss: 0.31 });
    const response = await post(body, { [SIGNATURE_HEADER]: webhookSignature(SECRET, body), [DELIVERY_HEADER]: 'd-1', 'x-run': 'mnist' });
    expect(response.status).toBe(200);
    const request = await server.waitFor((r) => r.path === '/hooks/epochcast');
    expect(request).toMatchObject({
      method: 'POST',
      body: { event: 'epoch', epoch: 1 },
      rawBody: body,
      signatureValid: true,
      deliveryId: 'd-1',
      status: 200,
    });
    expect(request.headers['x-run']).toBe('mnist');
    expect(webhookSignature(SECRET, body)).toMatch(/^t=\d{10},v1=[0-9a-f]{64}$/);
    expect(webhookSignature(SECRET, body, 1700000000)).toBe(
      't=1700000000,v1=c20e00a22fb0a957061d2ce54a5cf63eee06d648f84f50c2614b59000d85fb9c',
    );
  });

  it('refuses a signature older or newer than toleranceSeconds, and one over the body alone', async () => {
    server = await startWebhookServer({ secret: SECRET, toleranceSeconds: 60 });
    const body = '{"event":"end"}';
    const now = Math.floor(Date.now() / 1000);
    expect((await post(body, { [SIGNATURE_HEADER]: webhookSignature(SECRET, body, now - 30) })).status).toBe(200);
    expect((await post(body, { [SIGNATURE_HEADER]: webhookSignature(SECRET, body, now - 120) })).status).toBe(401);
    expect((await post(body, { [SIGNATURE_HEADER]: webhookSignature(SECRET, body, now + 120) })).status).toBe(401);
    const bodyOnly = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
    expect((await post(body, { [SIGNATURE_HEADER]: bodyOnly })).status).toBe(401);
    expect(server.received.map((r) => r.signatureValid)).toEqual([true, false, false, false]);
  });

  it('answers a redirect for a path, relative or to another server', async () => {
    server = await startWebhookServer();
    server.redirect('/old', '/new').redirect('/away', 'http://elsewhere.test/hook', 308);
    const moved = await fetch(`${server.url}/old?x=1`, { method: 'POST', body: '{}', redirect: 'manual' });
    expect([moved.status, moved.headers.get('location')]).toEqual([307, '/new']);
    const away = await fetch(`${server.url}/away`, { method: 'POST', body: '{}', redirect: 'manual' });
    expect([away.status, away.headers.get('location')]).toEqual([308, 'http://elsewhere.test/hook']);
    expect(server.received.map((r) => [r.path, r.status])).toEqual([
      ['/old?x=1', 307],
      ['/away', 308],
    ]);
  });

  it('records a bad or missing signature as invalid and answers 401', async () => {
    server = await startWebhookServer({ secret: SECRET });
    const body = '{"event":"end"}';
    expect((await post(body, { [SIGNATURE_HEADER]: webhookSignature('other', body) })).status).toBe(401);
    expect((await post(body)).status).toBe(401);
    expect(server.received.map((r) => r.signatureValid)).toEqual([false, false]);
  });

  it('can record an invalid signature without rejecting it, and checks nothing without a secret', async () => {
    server = await startWebhookServer({ secret: SECRET, rejectInvalidSignature: false });
    expect((await post('{}', { [SIGNATURE_HEADER]: 'sha256=00' })).status).toBe(200);
    expect(server.received[0]?.signatureValid).toBe(false);
    await server.close();
    server = await startWebhookServer();
    expect((await post('{}')).status).toBe(200);
    expect(server.received[0]?.signatureValid).toBeNull();
    expect((await post('not json')).status).toBe(400);
  });

  it('injects 429 with Retry-After, 5xx, reset and latency', async () => {
    server = await startWebhookServer();
    server.faults.rateLimit(1, 5).serverError(1, 502).reset(1);
    const limited = await post('{}');
    expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '5']);
    expect((await post('{}')).status).toBe(502);
    const reset = await post('{}').catch((error: unknown) => error);
    expect(((reset as Error).cause as { code?: string }).code).toBe('ECONNRESET');
    server.faults.latency(150);
    const started = Date.now();
    expect((await post('{}')).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(server.received.map((r) => r.fault ?? r.status)).toEqual(['rateLimit', 'serverError', 'reset', 200]);
  });

  it('hangs until the server closes', async () => {
    server = await startWebhookServer();
    server.faults.hang(1);
    let settled = false;
    const pending = post('{}').then(
      () => 'answered',
      () => 'failed',
    );
    void pending.then(() => {
      settled = true;
    });
    await server.waitFor();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(settled).toBe(false);
    await server.close();
    expect(await pending).toBe('failed');
  });
});
