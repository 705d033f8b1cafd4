import { afterEach, describe, expect, it } from 'vitest';
import { SIGNATURE_HEADER, startWebhookServer, type WebhookServer, webhookSignature } from '../src/index.js';

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
    const response = await post(body, { [SIGNATURE_HEADER]: webhookSignature(SECRET, body), 'x-run': 'mnist' });
    expect(response.status).toBe(200);
    const request = await server.waitFor((r) => r.path === '/hooks/epochcast');
    expect(request).toMatchObject({ method: 'POST', body: { event: 'epoch', epoch: 1 }, rawBody: body, signatureValid: true, status: 200 });
    expect(request.headers['x-run']).toBe('mnist');
    expect(webhookSignature(SECRET, body)).toMatch(/^sha256=[0-9a-f]{64}$/);
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
