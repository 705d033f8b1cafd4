// The recording proxy as a test fixture: what it records (the user, never the password), its login
// and refusal modes, its bound on headers, and a close() that does not wait for its clients.
import { request } from 'node:http';
import { connect } from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { type ProxyServer, startProxyServer, startWebhookServer, type WebhookServer } from '../src/index.js';

let proxy: ProxyServer | undefined;
let hook: WebhookServer | undefined;

afterEach(async () => {
  await proxy?.close();
  await hook?.close();
  proxy = undefined;
  hook = undefined;
});

/** One absolute-form request through the proxy; the status it got back. */
function viaProxy(p: ProxyServer, target: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: p.port, method: 'POST', path: target, headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end('{"x":1}');
  });
}

/** A raw CONNECT; the proxy's status line. */
function connectVia(p: ProxyServer, target: string, headers = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(p.port, '127.0.0.1', () => socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${headers}\r\n`));
    socket.once('data', (chunk) => {
      resolve(chunk.toString('latin1').split('\r\n')[0] as string);
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

const basic = (user: string, password: string) => ({
  'proxy-authorization': `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

test('forwards absolute-form requests and records them: method, target, path, the user but never the password', async () => {
  hook = await startWebhookServer();
  proxy = await startProxyServer({ auth: { user: 'me', password: 'pw-7f3a' } });
  const target = new URL(hook.url).host;
  expect(await viaProxy(proxy, `${hook.url}/in?a=1`, basic('me', 'pw-7f3a'))).toBe(200);
  expect(await viaProxy(proxy, `${hook.url}/in`, basic('me', 'wrong'))).toBe(407);
  expect(await viaProxy(proxy, `${hook.url}/in`)).toBe(407);
  expect(proxy.received.map(({ at: _, ...r }) => r)).toEqual([
    { method: 'POST', target, path: '/in?a=1', user: 'me', auth: 'valid', status: 200 },
    { method: 'POST', target, path: '/in', user: 'me', auth: 'invalid', status: 407 },
    { method: 'POST', target, path: '/in', user: undefined, auth: 'none', status: 407 },
  ]);
  expect(JSON.stringify(proxy.received)).not.toContain('pw-7f3a');
  // The destination got the request without the proxy's credentials.
  expect(hook.received).toHaveLength(1);
  expect(hook.received[0]?.headers['proxy-authorization']).toBeUndefined();
});

test('tunnels CONNECT; refuse mode answers 403 to both kinds, with Proxy-Status', async () => {
  hook = await startWebhookServer();
  proxy = await startProxyServer();
  const target = new URL(hook.url).host;
  expect(await connectVia(proxy, target)).toBe('HTTP/1.1 200 Connection Established');
  await proxy.close();
  proxy = await startProxyServer({ refuse: true });
  expect(await connectVia(proxy, target)).toBe('HTTP/1.1 403 Forbidden');
  expect(await viaProxy(proxy, `${hook.url}/in`)).toBe(403);
  expect(proxy.received.map((r) => `${r.method} ${r.status}`)).toEqual(['CONNECT 403', 'POST 403']);
  expect(hook.received).toEqual([]);
});

test('headers are bounded: 16 KiB of them is refused', async () => {
  proxy = await startProxyServer();
  const status = await viaProxy(proxy, 'http://127.0.0.1:1/x', { 'x-big': 'a'.repeat(20_000) }).catch(() => 431);
  expect(status).toBe(431);
  expect(proxy.received).toEqual([]);
});

test('close() ends open tunnels and does not wait for its clients', async () => {
  hook = await startWebhookServer();
  proxy = await startProxyServer();
  const socket = connect(proxy.port, '127.0.0.1');
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {});
  socket.write(`CONNECT ${new URL(hook.url).host} HTTP/1.1\r\n\r\n`);
  await proxy.waitFor('CONNECT');
  const started = Date.now();
  await proxy.close();
  await closed;
  expect(Date.now() - started).toBeLessThan(2000);
});
