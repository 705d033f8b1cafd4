// The README's usage (#region use), run as shown against the local Discord server: the callback
// reads DISCORD_WEBHOOK_URL, and the channel sees the start, the epochs and the end with its embed.
import { Learner } from '@epochcast/core';
import { disposeToyLearner, toyLoaders, toyModel } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, test } from 'vitest';
import { DiscordCallback } from '../src/index.js';
import { startDiscordServer } from './discord-server.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

test('the README’s usage: DISCORD_WEBHOOK_URL set, a one-cycle fit posts its start and its end with the summary embed', async () => {
  const server = await startDiscordServer();
  process.env.DISCORD_WEBHOOK_URL = server.webhookUrl;
  const model = toyModel();
  const data = toyLoaders(96);
  try {
    // #region use
    // DISCORD_WEBHOOK_URL=https://discord.com/api/webhooks/<id>/<token>
    const learn = new Learner({ model, data, loss: 'categoricalCrossentropy', callbacks: [new DiscordCallback()] });
    await learn.fitOneCycle(5);
    // #endregion
    disposeToyLearner(learn);
    const first = server.messages[0];
    const last = server.messages.at(-1);
    expect(first?.content).toMatch(/^⏳ .* started on .* · 5 epochs · one-cycle/);
    expect(last?.content).toMatch(/^✅ .* completed 5 epochs in /);
    expect(last?.embeds).toHaveLength(1);
  } finally {
    delete process.env.DISCORD_WEBHOOK_URL;
    await server.close();
  }
});
