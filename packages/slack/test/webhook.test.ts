import { type SlackServer, startSlackServer } from '@epochcast/testkit';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { SlackCallback, type SlackCallbackOptions } from '../src/index.js';
import { AlertsAt, Crash, calls, collectingLogger, Pause, TOKEN, toyLearner } from './helpers.js';

let server: SlackServer | undefined;
let logger = collectingLogger();

beforeAll(async () => {
  await tf.setBackend('cpu');
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  logger = collectingLogger();
});

async function start(): Promise<SlackServer> {
  server = await startSlackServer({ token: TOKEN });
  return server;
}

function hook(s: SlackServer, options: SlackCallbackOptions = {}): SlackCallback {
  return new SlackCallback({ webhookUrl: s.webhookUrl, runName: 'mnist-mlp', minSendIntervalMs: 0, logger, ...options });
}

describe('SlackCallback, incoming webhook', () => {
  test('start and end as channel messages: no threads, no edits, no upload, no Web API call; epochs only when asked', async () => {
    const s = await start();
    await toyLearner([hook(s), new Pause()]).fit(3);
    expect(s.received.map((c) => c.method)).toEqual(['webhook', 'webhook']);
    const [first, last] = s.messages();
    expect(first?.text).toMatch(/^⏳ mnist-mlp \([0-9a-f]{8}\) started on .+ · 3 epochs/);
    expect(last?.text).toMatch(/✅ mnist-mlp completed 3 epochs/);
    expect(JSON.stringify(last?.blocks)).toContain('*Final losses*');
    expect(JSON.stringify(last?.blocks)).toMatch(/```\\nepoch +train_loss/);
    expect(s.messages().every((m) => m.via === 'webhook' && !m.thread_ts && !m.edited)).toBe(true);
    expect(s.files).toHaveLength(0);

    await toyLearner([hook(s, { on: ['epoch'] }), new Pause()]).fit(2);
    expect(
      s
        .messages()
        .slice(2)
        .map((m) => m.text),
    ).toEqual([expect.stringMatching(/^📈 mnist-mlp epoch 1\/2 /), expect.stringMatching(/^📈 mnist-mlp epoch 2\/2 /)]);
  });

  test('an alert is a channel message by default, during a fit and outside one', async () => {
    const s = await start();
    const callback = hook(s);
    await toyLearner([callback, new AlertsAt(callback, { 1: ['critical', 'valid_loss is NaN'] }), new Pause()]).fit(3);
    callback.alert('the export finished late', { level: 'info' });
    await callback.flush(5000);
    expect(s.received.map((c) => c.method)).toEqual(['webhook', 'webhook', 'webhook', 'webhook']);
    const [, alert, , outside] = s.messages();
    expect(alert?.text).toMatch(/^\*🚨 mnist-mlp · valid_loss is NaN\*/);
    expect(JSON.stringify(alert?.blocks)).toMatch(/\*epochs\*\\n2\/3/);
    expect(outside?.text).toMatch(/^\*ℹ️ mnist-mlp · the export finished late\*/);
    expect(callback.report.delivered).toEqual(['start', 'alert', 'end', 'alert']);
  });

  test('a crash is reported with its stack', async () => {
    const s = await start();
    await expect(toyLearner([hook(s, { on: ['error'] }), new Crash(0, new Error('webhook crash'))]).fit(2)).rejects.toThrow(
      'webhook crash',
    );
    const [message] = s.messages();
    expect(message?.text).toMatch(/^\*❌ mnist-mlp failed after 1\/2 epochs/);
    expect(JSON.stringify(message?.blocks)).toContain('webhook crash');
  });

  test('a 429 with Retry-After is waited out for the time asked (measured), though @slack/webhook exposes no headers', async () => {
    const s = await start();
    s.faults.rateLimit(1, 2, { methods: ['webhook'] });
    await toyLearner([hook(s, { on: ['end'] })]).fit(1);
    const sends = calls(s, 'webhook');
    expect(sends.map((c) => c.fault ?? c.status)).toEqual(['rateLimit', 200]);
    const waited = (sends[1]?.at ?? 0) - (sends[0]?.at ?? 0);
    expect(waited).toBeGreaterThanOrEqual(1990);
    expect(waited).toBeLessThan(2600);
    expect(logger.lines).toEqual([]);
  });

  test('a revoked webhook (403) is not retried; the warning never shows the URL', async () => {
    const s = await start();
    s.faults.unauthorized(1, { methods: ['webhook'] });
    await toyLearner([hook(s, { on: ['end'], retries: 3 })]).fit(1);
    expect(calls(s, 'webhook')).toHaveLength(1);
    expect(logger.lines).toEqual([
      expect.stringMatching(/could not deliver the end message: refused: webhook: HTTP 403 invalid_token \(not retried\)/),
    ]);
    const secret = new URL(s.webhookUrl).pathname;
    expect(logger.lines.join('\n')).not.toContain(secret);
  });

  test('an unreachable webhook: retried, then one warning without the URL', async () => {
    const s = await start();
    const url = s.webhookUrl;
    await s.close();
    server = undefined;
    const callback = new SlackCallback({ webhookUrl: url, logger, on: ['end'], retries: 1, minSendIntervalMs: 0 });
    await toyLearner([callback]).fit(1);
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toMatch(/could not deliver the end message: webhook: could not reach Slack \(ECONNREFUSED\)/);
    expect(logger.lines[0]).not.toContain(new URL(url).pathname);
  });
});
