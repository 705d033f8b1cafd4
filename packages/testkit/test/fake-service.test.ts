// The fake-service base through the README's made-up pager (fake-pager.ts, which the README shows
// through a `sample:` marker the docs' check keeps equal): the pipeline every testkit HTTP server
// shares (records, parsing, latency, faults, close).
// The pager imports the package as a plugin author does, so this runs the built package (tsc -b).
import { FakeService, type ServiceCall } from '@epochcast/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { FakePager, type PagerCall } from './fake-pager.js';
import { rejection } from './helpers.js';

let pager: FakePager;

afterEach(async () => {
  await pager?.close();
});

function page(body: string, init: { method?: string; type?: string; key?: string } = {}): Promise<Response> {
  return fetch(`${pager.url}/v1/${init.method ?? 'page'}`, {
    method: 'POST',
    headers: { authorization: `Key ${init.key ?? 'k-123'}`, 'content-type': init.type ?? 'application/json' },
    body,
  });
}

const json = async (response: Response) => [response.status, await response.json()];

describe('a fake service on the base', () => {
  it('routes calls and records each, named and parsed, with the status it answered', async () => {
    pager = await new FakePager().listen();
    expect(pager.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await json(await page(JSON.stringify({ text: 'epoch 3/10' })))).toEqual([200, { id: 1 }]);
    expect(await json(await page('text=done', { type: 'application/x-www-form-urlencoded' }))).toEqual([200, { id: 2 }]);
    expect(await json(await page('{}', { key: 'wrong' }))).toEqual([401, { error: 'bad_key' }]);
    expect(await json(await page('{}', { method: 'status' }))).toEqual([404, { error: 'no_such_method' }]);
    expect(pager.pages).toEqual(['epoch 3/10', 'done']);
    expect(pager.received.map((c) => [c.method, c.params, c.status])).toEqual([
      ['page', { text: 'epoch 3/10' }, 200],
      ['page', { text: 'done' }, 200],
      ['page', {}, 401],
      ['status', {}, 404],
    ]);
    expect((await pager.waitFor('STATUS')).status).toBe(404);
    expect(await pager.waitForCount((c) => c.status === 200, 2)).toHaveLength(2);
  });

  it('answers a path it does not serve 404 without recording it', async () => {
    pager = await new FakePager().listen();
    const response = await fetch(`${pager.url}/elsewhere`, { method: 'POST', body: '{}' });
    expect([response.status, await response.text()]).toEqual([404, 'Not Found']);
    expect(pager.received).toEqual([]);
  });

  it('hands a body it cannot parse to the route, params empty', async () => {
    pager = await new FakePager().listen();
    expect(await json(await page('{"text":'))).toEqual([400, { error: 'bad_body' }]);
    expect(pager.received[0]).toMatchObject({ method: 'page', params: {}, status: 400 });
  });

  it('answers the service’s own 429, 5xx and 401 for queued faults, in order and only where scoped', async () => {
    pager = await new FakePager().listen();
    pager.faults
      .rateLimit(1, 2, { methods: ['page'] })
      .serverError(1, 503)
      .unauthorized(1);
    const other = await page('{}', { method: 'status' });
    expect(other.status).toBe(503);
    const limited = await page(JSON.stringify({ text: 'a' }));
    expect([limited.status, limited.headers.get('retry-after'), await limited.json()]).toEqual([
      429,
      '2',
      { error: 'slow_down', retry_in: 2 },
    ]);
    expect(await json(await page(JSON.stringify({ text: 'b' })))).toEqual([401, { error: 'bad_key' }]);
    expect((await page(JSON.stringify({ text: 'c' }))).status).toBe(200);
    expect(pager.received.map((c) => c.fault ?? c.status)).toEqual(['serverError', 'rateLimit', 'unauthorized', 200]);
    expect(pager.pages).toEqual(['c']);
    pager.faults.serverError(1);
    expect(await json(await page('{}'))).toEqual([500, { error: 'try_later' }]);
  });

  it('drops the connection on reset, never answers on hang until close(), and delays every answer by the latency', async () => {
    pager = await new FakePager().listen();
    pager.faults.reset(1).hang(1);
    const reset = (await rejection(page('{}'))) as Error;
    expect((reset.cause as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    const hung = page('{}').catch((error: unknown) => error);
    await pager.waitFor((c) => c.fault === 'hang');
    expect(pager.received.map((c) => [c.fault, c.status])).toEqual([
      ['reset', null],
      ['hang', null],
    ]);

    pager.faults.latency(300);
    const started = performance.now();
    expect((await page(JSON.stringify({ text: 'slow' }))).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);

    const closing = performance.now();
    await pager.close();
    expect(await hung).toBeInstanceOf(Error);
    expect(performance.now() - closing).toBeLessThan(1000);
  });

  it('can answer a bad body at once, before latency and faults, when the service parses first', async () => {
    class StrictPager extends FakePager {
      protected override rejectBody(call: ServiceCall<PagerCall>): void {
        call.json(400, { error: `bad_body: ${call.bodyError}` });
      }
    }
    pager = await new StrictPager().listen();
    pager.faults.latency(5_000).hang(1);
    expect(await json(await page('[1]'))).toEqual([400, { error: 'bad_body: JSON body must be an object' }]);
    expect(pager.faults.pending).toBe(1);
  });

  it('is a FakeService, not listening until listen()', async () => {
    pager = new FakePager();
    expect(pager).toBeInstanceOf(FakeService);
    expect(() => pager.url).toThrow(/await listen\(\) first/);
  });
});
