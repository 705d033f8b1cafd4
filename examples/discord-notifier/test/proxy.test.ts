// The plugin's requests go through the user's proxy because it fetches with the base's
// `this.httpFetch`: the webhook check and every message pass the testkit's recording proxy, none go
// around it, and a proxy that wants a login is one warning without its password.
import { type ProxyServer, startProxyServer } from '@epochcast/testkit';
import { disposeToyLearner, toyLearner } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, expect, test } from 'vitest';
import { DiscordCallback } from '../src/index.js';
import { type DiscordServer, startDiscordServer } from './discord-server.js';

const saved = { HTTP_PROXY: process.env.HTTP_PROXY, NO_PROXY: process.env.NO_PROXY };
let server: DiscordServer | undefined;
let proxy: ProxyServer | undefined;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

afterEach(async () => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await server?.close();
  await proxy?.close();
});

async function fitWith(discord: DiscordCallback): Promise<void> {
  const learn = toyLearner([discord], { samples: 64 });
  await learn.fit(2, { lr: 1e-2 });
  disposeToyLearner(learn);
}

test('with HTTP_PROXY set, the webhook check and every message go through the proxy', async () => {
  server = await startDiscordServer();
  proxy = await startProxyServer();
  process.env.HTTP_PROXY = proxy.url;
  delete process.env.NO_PROXY;
  const warnings: string[] = [];
  await fitWith(new DiscordCallback({ webhookUrl: server.webhookUrl, handleSignals: false, logger: { warn: (l) => warnings.push(l) } }));
  expect(warnings).toEqual([]);
  expect(server.messages.length).toBeGreaterThanOrEqual(2);
  expect(proxy.received.length).toBe(server.received.length);
  expect(proxy.received.map((r) => r.method)).toContain('GET');
});

test('a proxy that wants a login: one warning naming it without the password; the fit completes', async () => {
  server = await startDiscordServer();
  proxy = await startProxyServer({ auth: { user: 'me', password: 'Proxy-Pw-discord-1' } });
  process.env.HTTP_PROXY = proxy.urlWith('me', 'Proxy-Pw-discord-2');
  delete process.env.NO_PROXY;
  const warnings: string[] = [];
  await fitWith(new DiscordCallback({ webhookUrl: server.webhookUrl, handleSignals: false, logger: { warn: (l) => warnings.push(l) } }));
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toContain(`the proxy http://***@127.0.0.1:${proxy.port} (from HTTP_PROXY) asks for a login (407`);
  expect(warnings.join('\n')).not.toContain('Proxy-Pw-discord');
  expect(server.received).toEqual([]);
});
