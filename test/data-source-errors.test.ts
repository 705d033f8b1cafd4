// A streamed data source that fails mid-epoch (a file that cannot be read) fails the fit with the
// source's own error, and the notifiers report it as they report any crash: here a WebhookCallback
// against the testkit's webhook receiver, over real HTTP. The batches read ahead are disposed.
import { accuracy, type Batch, DataLoaders, Learner } from '@epochcast/core';
import { WebhookCallback } from '@epochcast/notify';
import { startWebhookServer, type WebhookServer } from '@epochcast/testkit';
import { toyData, toyModel } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, expect, test } from 'vitest';

let hook: WebhookServer;

beforeAll(async () => {
  await tf.setBackend('cpu');
  hook = await startWebhookServer();
});
afterAll(async () => {
  await hook.close();
});

interface WireNotification {
  event: string;
  status?: string;
  error?: { name: string; message: string; stack?: string };
}

test('a source failing mid-epoch: the fit fails with its error, the webhook gets the error event with it, no tensor leaks', async () => {
  const { x, y } = toyData(256);
  const xs = x.arraySync();
  const ys = y.arraySync();
  tf.dispose([x, y]);
  class ShardUnreadable extends Error {
    override readonly name = 'ShardUnreadable';
  }
  async function* readShards(): AsyncGenerator<Batch> {
    for (let i = 0; i < 8; i++) {
      if (i === 3) throw new ShardUnreadable('EIO: i/o error, read shard-0003.bin');
      await new Promise((resolve) => setImmediate(resolve));
      yield { xs: tf.tensor2d(xs.slice(i * 32, i * 32 + 32)), ys: tf.tensor2d(ys.slice(i * 32, i * 32 + 32)) };
    }
  }
  const model = toyModel();
  const notifier = new WebhookCallback({ url: `${hook.url}/runs`, runName: 'streamed', plot: false });
  const learn = new Learner({
    model,
    data: DataLoaders.fromIterables(readShards),
    loss: 'categoricalCrossentropy',
    metrics: [accuracy],
    callbacks: [notifier],
  });
  const before = tf.memory().numTensors;

  const thrown = await learn.fit(2).catch((e: unknown) => e);

  expect(thrown).toBeInstanceOf(ShardUnreadable);
  expect(learn.state).toMatchObject({ status: 'failed', error: thrown });
  const received = hook.received.map((r) => r.body as WireNotification);
  const error = received.find((n) => n.event === 'error');
  expect(error).toMatchObject({ status: 'failed', error: { name: 'ShardUnreadable', message: 'EIO: i/o error, read shard-0003.bin' } });
  expect(error?.error?.stack).toMatch(/at readShards/);
  expect(learn.recorder.rawLosses).toHaveLength(3);
  learn.dispose();
  expect(tf.memory().numTensors).toBe(before);
  model.dispose();
});
