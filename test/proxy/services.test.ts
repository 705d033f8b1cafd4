/**
 * Issue 17: on a machine whose only way out is a proxy, every service must go through it. Each
 * HTTP service (Telegram, Slack bot, Slack webhook, the webhook, ntfy) runs a real fit against its testkit
 * server with the testkit's recording proxy in between: the proxy must have seen every request the
 * server received (none went around it), and with no proxy set, or the host in NO_PROXY, it sees
 * nothing while delivery still works. A proxy that refuses, wants a login or is down costs exactly
 * one warning per notifier, naming the proxy without its password, and the fit completes.
 */
import { type ProxyServer, startProxyServer } from '@epochcast/testkit';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { collectWarnings, fitWith, isolateProxyEnv, type RunningService, SERVICES } from './support.js';

const PROXY_USER = 'trainer';
const PROXY_PASSWORD = 'Proxy-Pw-83f1c0';

let restoreEnv: () => void;
let service: RunningService | undefined;
const proxies: ProxyServer[] = [];

async function proxy(options: Parameters<typeof startProxyServer>[0] = {}): Promise<ProxyServer> {
  const started = await startProxyServer(options);
  proxies.push(started);
  return started;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

beforeEach(() => {
  restoreEnv = isolateProxyEnv();
});

afterEach(async () => {
  restoreEnv();
  await service?.close();
  service = undefined;
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

const through = (p: ProxyServer, target: string) => p.received.filter((r) => r.target === target);

describe.each(SERVICES)('$name', ({ start }) => {
  test('with HTTP_PROXY set, every request goes through the proxy, and the messages arrive', async () => {
    service = await start();
    const p = await proxy();
    process.env.HTTP_PROXY = p.url;
    const { lines, logger } = collectWarnings();
    await fitWith(service.notifier({ logger, handleSignals: false }));
    expect(lines).toEqual([]);
    expect(service.delivered()).toBeGreaterThanOrEqual(2);
    // Forwarded, not tunnelled: the proxy saw each request, and exactly as many as the server did.
    const seen = through(p, service.target);
    expect(seen.length).toBe(service.requests());
    expect(seen.every((r) => r.method !== 'CONNECT' && r.status !== null && r.status < 500)).toBe(true);
    expect(p.received.length).toBe(seen.length);
  });

  test('with no proxy set, or the host in NO_PROXY, the proxy sees nothing and the messages still arrive', async () => {
    service = await start();
    const p = await proxy();
    await fitWith(service.notifier({ handleSignals: false, logger: collectWarnings().logger }));
    const direct = service.delivered();
    expect(direct).toBeGreaterThanOrEqual(2);
    process.env.HTTP_PROXY = p.url;
    process.env.NO_PROXY = 'localhost,127.0.0.1';
    await fitWith(service.notifier({ handleSignals: false, logger: collectWarnings().logger }));
    // At least the start and the end (epoch messages may be coalesced on a busy machine).
    expect(service.delivered() - direct).toBeGreaterThanOrEqual(2);
    expect(p.received).toEqual([]);
  });

  test('a proxy with a login: given in the URL it passes; the user is recorded, the password appears nowhere', async () => {
    service = await start();
    const p = await proxy({ auth: { user: PROXY_USER, password: PROXY_PASSWORD } });
    process.env.http_proxy = p.urlWith(PROXY_USER, PROXY_PASSWORD);
    const { lines, logger } = collectWarnings();
    const notifier = service.notifier({ logger, handleSignals: false });
    await fitWith(notifier);
    expect(lines).toEqual([]);
    expect(service.delivered()).toBeGreaterThanOrEqual(2);
    expect(p.received.length).toBe(service.requests());
    expect(p.received.every((r) => r.auth === 'valid' && r.user === PROXY_USER)).toBe(true);
    expect(JSON.stringify(notifier.report)).not.toContain(PROXY_PASSWORD);
  });

  test.each([
    [
      'needs a login (407)',
      { auth: { user: PROXY_USER, password: PROXY_PASSWORD } },
      /asks for a login \(407 Proxy Authentication Required\)/,
    ],
    ['refuses (403)', { refuse: true }, /refused the connection to 127\.0\.0\.1:\d+ \(403 Forbidden\)/],
  ] as const)(
    'a proxy that %s: one warning naming it without the password, nothing delivered, the fit completes',
    async (_, options, why) => {
      service = await start();
      const p = await proxy(options);
      // A wrong password: the proxy's 407 must not echo it anywhere.
      process.env.HTTP_PROXY = p.urlWith(PROXY_USER, `${PROXY_PASSWORD}-wrong`);
      const { lines, logger } = collectWarnings();
      const notifier = service.notifier({ logger, handleSignals: false, retries: 2 });
      await fitWith(notifier, 3);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(why);
      expect(lines[0]).toContain(`http://***@127.0.0.1:${p.port} (from HTTP_PROXY)`);
      expect(lines[0]).toMatch(/set HTTP_PROXY=http:\/\/user:password@host:port, or add 127\.0\.0\.1 to NO_PROXY/);
      const output = JSON.stringify({ lines, report: notifier.report });
      expect(output).not.toContain(PROXY_PASSWORD);
      expect(notifier.report.delivered).toEqual([]);
      expect(notifier.report.failed.length).toBeGreaterThan(0);
      expect(service.requests()).toBe(0);
      // Refused for good: the messages after the first are not even tried.
      expect(p.received.length).toBeLessThanOrEqual(2);
    },
  );

  test('a proxy that is down: one warning naming it, the messages retried then dropped, the fit completes', async () => {
    service = await start();
    const p = await proxy();
    await p.close();
    process.env.HTTP_PROXY = p.urlWith(PROXY_USER, PROXY_PASSWORD);
    const { lines, logger } = collectWarnings();
    const notifier = service.notifier({ logger, handleSignals: false, retries: 1, flushTimeoutMs: 10_000 });
    await fitWith(notifier, 2);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`could not reach the proxy http://***@127.0.0.1:${p.port} (from HTTP_PROXY) (ECONNREFUSED)`);
    expect(lines[0]).not.toContain(PROXY_PASSWORD);
    expect(JSON.stringify(notifier.report)).not.toContain(PROXY_PASSWORD);
    expect(notifier.report.delivered).toEqual([]);
    expect(service.requests()).toBe(0);
  });
});
