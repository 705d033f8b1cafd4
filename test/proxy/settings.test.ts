/**
 * Issue 17: which setting sends what through which proxy — lower- and upper-case variables per
 * scheme, the `proxy` option over the environment, `proxy: false` — and the paths beyond a
 * notifier's messages: Telegram's command poller and `epochcast telegram chats`' listing, https://
 * tunnelled with CONNECT, and e-mail over SMTP tunnelled with CONNECT through ALL_PROXY.
 */
import { Callback } from '@epochcast/core';
import { EmailCallback } from '@epochcast/email';
import { WebhookCallback } from '@epochcast/notify';
import { SlackCallback } from '@epochcast/slack';
import { TelegramCallback } from '@epochcast/telegram';
import { listTelegramChats } from '@epochcast/telegram/chats';
import { type ProxyServer, startProxyServer, startSmtpSink, startTelegramServer, startWebhookServer } from '@epochcast/testkit';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { collectWarnings, fitWith, isolateProxyEnv } from './support.js';

const PROXY_USER = 'trainer';
const PROXY_PASSWORD = 'Proxy-Pw-52aa9e';
const TG_TOKEN = '717171:AAH-proxy-settings-token';

let restoreEnv: () => void;
const closers: (() => Promise<void>)[] = [];

async function started<T extends { close(): Promise<void> }>(server: Promise<T>): Promise<T> {
  const s = await server;
  closers.push(() => s.close());
  return s;
}

const proxy = (options: Parameters<typeof startProxyServer>[0] = {}): Promise<ProxyServer> => started(startProxyServer(options));

beforeAll(async () => {
  await tf.setBackend('cpu');
});

beforeEach(() => {
  restoreEnv = isolateProxyEnv();
});

afterEach(async () => {
  restoreEnv();
  await Promise.all(closers.splice(0).map((close) => close()));
});

describe('which variable applies to http:// and https://', () => {
  test('lower-case http_proxy is read; HTTPS_PROXY does not apply to http://', async () => {
    const hook = await started(startWebhookServer());
    const p = await proxy();
    const other = await proxy();
    process.env.http_proxy = p.url;
    process.env.HTTPS_PROXY = other.url;
    await fitWith(new WebhookCallback({ url: `${hook.url}/h`, handleSignals: false, logger: collectWarnings().logger }));
    expect(hook.received.length).toBeGreaterThanOrEqual(2);
    expect(p.received.length).toBe(hook.received.length);
    expect(other.received).toEqual([]);
  });

  test('lower case wins over upper case, as in curl', async () => {
    const hook = await started(startWebhookServer());
    const lower = await proxy();
    const upper = await proxy();
    process.env.http_proxy = lower.url;
    process.env.HTTP_PROXY = upper.url;
    await fitWith(new WebhookCallback({ url: `${hook.url}/h`, handleSignals: false, logger: collectWarnings().logger }));
    expect(lower.received.length).toBe(hook.received.length);
    expect(upper.received).toEqual([]);
  });

  test('https:// tunnels with CONNECT through HTTPS_PROXY; a proxy refusing the CONNECT is one warning, and the fit completes', async () => {
    const refusing = await proxy({ refuse: true });
    process.env.HTTPS_PROXY = refusing.url;
    const { lines, logger } = collectWarnings();
    // Nothing listens at this https:// address: only the proxy is ever asked for it.
    const notifier = new WebhookCallback({ url: 'https://127.0.0.1:4443/hook', secret: 'hook-secret-1', handleSignals: false, logger });
    await fitWith(notifier, 3);
    expect(refusing.received.length).toBeGreaterThan(0);
    expect(refusing.received.every((r) => r.method === 'CONNECT' && r.target === '127.0.0.1:4443' && r.status === 403)).toBe(true);
    expect(lines).toEqual([
      `epochcast webhook: the proxy ${refusing.url} (from HTTPS_PROXY) refused the connection to 127.0.0.1:4443 (403 Forbidden): set HTTPS_PROXY=http://user:password@host:port, or add 127.0.0.1 to NO_PROXY (training goes on; nothing more is sent this run; this is said once)`,
    ]);
  });
});

describe('the proxy option', () => {
  test('overrides the environment, NO_PROXY included', async () => {
    const hook = await started(startWebhookServer());
    const chosen = await proxy({ auth: { user: PROXY_USER, password: PROXY_PASSWORD } });
    const fromEnv = await proxy();
    process.env.HTTP_PROXY = fromEnv.url;
    process.env.NO_PROXY = '127.0.0.1';
    const { lines, logger } = collectWarnings();
    const proxyUrl = chosen.urlWith(PROXY_USER, PROXY_PASSWORD);
    await fitWith(new WebhookCallback({ url: `${hook.url}/h`, proxy: proxyUrl, handleSignals: false, logger }));
    expect(lines).toEqual([]);
    expect(chosen.received.length).toBe(hook.received.length);
    expect(chosen.received.every((r) => r.auth === 'valid')).toBe(true);
    expect(fromEnv.received).toEqual([]);
  });

  test('proxy: false sends directly whatever the environment says', async () => {
    const hook = await started(startWebhookServer());
    const p = await proxy();
    process.env.HTTP_PROXY = p.url;
    process.env.ALL_PROXY = p.url;
    await fitWith(new WebhookCallback({ url: `${hook.url}/h`, proxy: false, handleSignals: false, logger: collectWarnings().logger }));
    expect(hook.received.length).toBeGreaterThanOrEqual(2);
    expect(p.received).toEqual([]);
  });

  test('a login the proxy refuses, given as the option: the fix names the option, not a variable', async () => {
    const hook = await started(startWebhookServer());
    const p = await proxy({ auth: { user: PROXY_USER, password: PROXY_PASSWORD } });
    const { lines, logger } = collectWarnings();
    const wrong = `${PROXY_PASSWORD}-old`;
    await fitWith(new WebhookCallback({ url: `${hook.url}/h`, proxy: p.urlWith(PROXY_USER, wrong), handleSignals: false, logger }));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`the proxy http://***@127.0.0.1:${p.port} (from the proxy option) asks for a login (407`);
    expect(lines[0]).toContain('set the proxy option to http://user:password@host:port, or to false to send directly');
    expect(lines[0]).not.toContain(wrong);
    expect(hook.received).toEqual([]);
  });
});

describe('Telegram beyond its messages', () => {
  test("the command poller's getUpdates goes through the proxy too", async () => {
    const server = await started(startTelegramServer({ token: TG_TOKEN }));
    const p = await proxy();
    process.env.HTTP_PROXY = p.url;
    const notifier = new TelegramCallback({
      token: TG_TOKEN,
      chatId: 4242,
      apiRoot: server.url,
      pollTimeoutSec: 1,
      minSendIntervalMs: 0,
      handleSignals: false,
      logger: collectWarnings().logger,
    });
    // The fit waits after its first epoch until the poller has asked for updates.
    const untilPolled = new (class extends Callback {
      override async onEpochEnd(): Promise<void> {
        await server.waitFor('getUpdates', 10_000);
      }
    })();
    await fitWith(notifier, 2, [untilPolled]);
    const polls = server.received.filter((c) => c.method === 'getUpdates').length;
    expect(polls).toBeGreaterThan(0);
    expect(p.received.filter((r) => r.path?.endsWith('/getUpdates')).length).toBeGreaterThanOrEqual(polls);
    expect(p.received.filter((r) => r.path?.endsWith('/sendMessage')).length).toBe(
      server.received.filter((c) => c.method === 'sendMessage').length,
    );
  });

  test('`epochcast telegram chats` lists through the proxy', async () => {
    const server = await started(startTelegramServer({ token: TG_TOKEN }));
    const p = await proxy();
    process.env.HTTP_PROXY = p.url;
    server.pushUpdate({ chatId: 31337, text: 'hi' });
    const list = await listTelegramChats({ token: TG_TOKEN, apiRoot: server.url });
    expect(list.chats.map((c) => c.id)).toEqual([31337]);
    expect(p.received.map((r) => r.path?.split('/').at(-1))).toEqual(['getMe', 'getUpdates']);
  });
});

describe('e-mail over SMTP through an HTTP CONNECT proxy', () => {
  const mailer = (smtpUrl: string, logger: { warn(line: string): void }, proxyOption?: string | false) =>
    new EmailCallback({
      smtpUrl,
      from: 'runs@example.test',
      to: 'me@example.test',
      handleSignals: false,
      logger,
      retries: 1,
      ...(proxyOption !== undefined ? { proxy: proxyOption } : {}),
    });

  test('ALL_PROXY tunnels every SMTP connection (the check and each mail); HTTP_PROXY and HTTPS_PROXY do not apply', async () => {
    const sink = await started(startSmtpSink());
    const p = await proxy({ auth: { user: PROXY_USER, password: PROXY_PASSWORD } });
    const httpOnly = await proxy();
    process.env.ALL_PROXY = p.urlWith(PROXY_USER, PROXY_PASSWORD);
    process.env.HTTP_PROXY = httpOnly.url;
    process.env.HTTPS_PROXY = httpOnly.url;
    const { lines, logger } = collectWarnings();
    await fitWith(mailer(sink.url, logger));
    expect(lines).toEqual([]);
    expect(sink.received).toHaveLength(1);
    // One tunnel for the check before the fit, one for the end mail.
    expect(p.received.map((r) => `${r.method} ${r.target} ${r.auth} ${r.status}`)).toEqual([
      `CONNECT ${sink.host}:${sink.port} valid 200`,
      `CONNECT ${sink.host}:${sink.port} valid 200`,
    ]);
    expect(httpOnly.received).toEqual([]);
  });

  test('the proxy option, and NO_PROXY for the SMTP host', async () => {
    const sink = await started(startSmtpSink());
    const p = await proxy();
    await fitWith(mailer(sink.url, collectWarnings().logger, p.url));
    expect(sink.received).toHaveLength(1);
    expect(p.received.length).toBe(2);
    process.env.ALL_PROXY = p.url;
    process.env.no_proxy = sink.host;
    await fitWith(mailer(sink.url, collectWarnings().logger));
    expect(sink.received).toHaveLength(2);
    expect(p.received.length).toBe(2);
  });

  test.each([
    ['wants a login', { auth: { user: PROXY_USER, password: PROXY_PASSWORD } }, /asks for a login \(407 Proxy Authentication Required\)/],
    ['refuses', { refuse: true }, /refused the connection to 127\.0\.0\.1:\d+ \(403 Forbidden\)/],
  ] as const)('a proxy that %s: one warning naming it without the password, the fit completes', async (_, options, why) => {
    const sink = await started(startSmtpSink());
    const p = await proxy(options);
    const wrong = `${PROXY_PASSWORD}-wrong`;
    process.env.ALL_PROXY = p.urlWith(PROXY_USER, wrong);
    const { lines, logger } = collectWarnings();
    const notifier = mailer(sink.url, logger);
    await fitWith(notifier);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(why);
    expect(lines[0]).toContain(`the proxy http://***@127.0.0.1:${p.port} (from ALL_PROXY)`);
    expect(lines[0]).toContain('set ALL_PROXY=http://user:password@host:port, or add 127.0.0.1 to NO_PROXY');
    expect(JSON.stringify({ lines, report: notifier.report })).not.toContain(wrong);
    expect(notifier.report.failed.map((f) => f.event)).toEqual(['end']);
    expect(sink.received).toEqual([]);
  });

  test('a proxy that is down: one warning naming it, the fit completes', async () => {
    const sink = await started(startSmtpSink());
    const p = await startProxyServer();
    await p.close();
    process.env.ALL_PROXY = p.url;
    const { lines, logger } = collectWarnings();
    await fitWith(mailer(sink.url, logger));
    expect(lines).toEqual([
      `epochcast email: could not reach the proxy ${p.url} (from ALL_PROXY) (ECONNREFUSED): check it is running, or set ALL_PROXY=http://user:password@host:port, or add 127.0.0.1 to NO_PROXY (training goes on; messages are retried, then dropped; this is said once)`,
    ]);
    expect(sink.received).toEqual([]);
  });

  test('a SOCKS proxy for SMTP is a ConfigError at construction saying what to set', async () => {
    const sink = await started(startSmtpSink());
    process.env.ALL_PROXY = 'socks5://127.0.0.1:1080';
    expect(() => mailer(sink.url, collectWarnings().logger)).toThrow(
      'EmailCallback: ALL_PROXY is a socks5:// proxy; only http:// and https:// proxies are supported. Set ALL_PROXY to an http:// proxy, or pass { proxy: false } to send directly.',
    );
  });
});

describe('a malformed proxy variable fails the constructor, naming the class and the variable', () => {
  test.each([
    ['TelegramCallback', 'HTTPS_PROXY', () => new TelegramCallback({ token: TG_TOKEN, chatId: 1 })],
    ['SlackCallback', 'https_proxy', () => new SlackCallback({ token: 'xoxb-1234-abcd', channel: '#c' })],
    ['SlackCallback', 'HTTPS_PROXY', () => new SlackCallback({ webhookUrl: 'https://hooks.slack.com/services/T1/B1/abcdefgh' })],
    [
      'EmailCallback',
      'ALL_PROXY',
      () => new EmailCallback({ smtpUrl: 'smtp://mail.example.test:587', from: 'a@example.test', to: 'b@example.test' }),
    ],
  ] as const)('%s and %s', (cls, variable, build) => {
    process.env[variable] = `http://user:${PROXY_PASSWORD}@[not-a-host`;
    expect(build).toThrow(`${cls}: ${variable} is not a valid proxy URL`);
    try {
      build();
    } catch (error) {
      expect(String(error)).not.toContain(PROXY_PASSWORD);
    }
  });
});
