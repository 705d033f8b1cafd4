import { Callback, ConfigError, Learner } from '@epochcast/core';
import { startWebhookServer, webhookSignature } from '@epochcast/testkit';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { verifyWebhookSignature, WebhookCallback, type WebhookPayload } from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

afterEach(() => {
  delete process.env.EPOCHCAST_WEBHOOK_URL;
  delete process.env.EPOCHCAST_WEBHOOK_SECRET;
});

async function tinyLearner(callbacks: WebhookCallback[]) {
  const { DataLoaders, accuracy } = await import('@epochcast/core');
  const x = tf.randomUniform([96, 3], 0, 1, 'float32', 3);
  const y = tf.oneHot(tf.argMax(x, 1), 3);
  const data = DataLoaders.fromTensors(x, y, { batchSize: 32 });
  tf.dispose([x, y]);
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 3, activation: 'softmax' })] });
  return new Learner({ model, data, loss: 'categoricalCrossentropy', metrics: [accuracy], callbacks });
}

class Pause extends Callback {
  override async onEpochEnd() {
    await new Promise((r) => setTimeout(r, 150));
  }
}

describe('WebhookCallback', () => {
  test('POSTs each notification as signed JSON; the end carries the history and the plot', async () => {
    const server = await startWebhookServer({ secret: 's3cret-hmac' });
    try {
      process.env.EPOCHCAST_WEBHOOK_URL = `${server.url}/training`;
      process.env.EPOCHCAST_WEBHOOK_SECRET = 's3cret-hmac';
      const hook = new WebhookCallback({ runName: 'tiny <run> & co' });
      const learn = await tinyLearner([hook]);
      // Epochs slower than the local server, so no epoch message is superseded by the next one.
      learn.addCallbacks(new Pause());
      await learn.fit(2);
      const requests = server.received;
      expect(requests.map((r) => r.headers['x-epochcast-event'])).toEqual(['start', 'epoch', 'epoch', 'end']);
      for (const r of requests) {
        expect(r.path).toBe('/training');
        expect(r.headers['content-type']).toBe('application/json');
        expect(r.signatureValid).toBe(true);
        const header = r.headers['x-epochcast-signature'] ?? '';
        const t = Number(/^t=(\d+),/.exec(header)?.[1]);
        expect(header).toBe(webhookSignature('s3cret-hmac', r.rawBody, t));
        expect(verifyWebhookSignature({ body: r.rawBody, header, secret: 's3cret-hmac' }).timestamp).toBe(t);
      }
      const end = requests.at(-1)?.body as WebhookPayload;
      expect(end.event).toBe('end');
      expect(end.status).toBe('completed');
      expect(end.run.name).toBe('tiny <run> & co');
      expect(end.history.map((h) => h.epoch)).toEqual([0, 1]);
      expect(end.metricNames).toEqual(['accuracy']);
      expect(end.plot?.svg ?? '').toMatch(/^<svg/);
      expect((requests[0]?.body as WebhookPayload | undefined)?.plot).toBeUndefined();
    } finally {
      await server.close();
    }
  });

  test('configuration errors name the fix and never print the URL', () => {
    expect(() => new WebhookCallback()).toThrow(ConfigError);
    expect(() => new WebhookCallback()).toThrow('WebhookCallback: no URL. Pass { url: "https://…" } or set EPOCHCAST_WEBHOOK_URL.');
    expect(() => new WebhookCallback({ url: 'not a url/T0KEN' })).toThrow(/url is not a valid URL; received a string of 15 characters/);
    expect(() => new WebhookCallback({ url: 'not a url/T0KEN' })).not.toThrow(/T0KEN/);
    expect(() => new WebhookCallback({ url: 'ftp://example.com/x' })).toThrow(
      'WebhookCallback: url must be http:// or https://; received "ftp:".',
    );
  });

  test('an unreachable URL is a warning without the URL, and training completes', async () => {
    const lines: string[] = [];
    // A port that was just free: nothing listens there.
    const closed = await startWebhookServer();
    const { port } = new URL(closed.url);
    await closed.close();
    const hook = new WebhookCallback({
      url: `http://127.0.0.1:${port}/hooks/T0KEN-abcd`,
      on: ['end'],
      retries: 1,
      logger: { warn: (l) => lines.push(l) },
    });
    const learn = await tinyLearner([hook]);
    await learn.fit(1);
    expect(learn.state.status).toBe('completed');
    expect(lines).toEqual(['epochcast webhook: could not deliver the end message: could not reach the webhook (ECONNREFUSED)']);
  });
});
