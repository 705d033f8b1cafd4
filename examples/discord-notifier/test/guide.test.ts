// The ~50-line plugin of docs/writing-a-notifier.md (shown there through its `sample:` marker, which
// the docs' check keeps equal to minimal-discord-notifier.ts): it passes the conformance suite
// against the local Discord server, keeps the promises the guide makes for it, and trains as the
// guide shows (`#region use`).
import { Learner } from '@epochcast/core';
import { failedNotification } from '@epochcast/testkit';
import { notifierConformance } from '@epochcast/testkit/conformance';
import { disposeToyLearner, toyLoaders, toyModel } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, test } from 'vitest';
import { type DiscordServer, startDiscordServer } from './discord-server.js';
import { MinimalDiscordCallback } from './minimal-discord-notifier.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

notifierConformance<DiscordServer>({
  name: 'the guide’s MinimalDiscordCallback',
  start: () => startDiscordServer(),
  notifier: (server, options) => new MinimalDiscordCallback({ ...options, webhookUrl: server.webhookUrl }),
  delivered: (server) => server.messages.map((m) => m.text),
  attempts: (server) => server.received.length,
  secrets: (server) => [server.webhookUrl, server.token],
  // The guide's plugin registers the URL and its path, not the token on its own (DiscordCallback does).
  quotable: (server) => [server.webhookUrl, new URL(server.webhookUrl).pathname],
});

test('what the guide says the base does for it: one message within 2000 characters, fences intact, whatever the run name or the stack', async () => {
  const server = await startDiscordServer();
  try {
    const notifier = new MinimalDiscordCallback({ webhookUrl: server.webhookUrl, handleSignals: false });
    const crash = failedNotification();
    const stack = Array.from({ length: 200 }, (_, i) => `    at step${i} (train.js:${i + 1}:7)`).join('\n');
    const report = await notifier.notify({
      ...crash,
      run: { ...crash.run, name: `run \`\`\` ${'x'.repeat(3000)}` },
      error: { name: 'TypeError', message: 'boom', stack: `TypeError: boom\n${stack}` },
    });
    expect(report.delivered).toEqual(['error']);
    const [message] = server.messages;
    expect(message?.content.length).toBeLessThanOrEqual(2000);
    expect(message?.content.split('```')).toHaveLength(3);
  } finally {
    await server.close();
  }
});

test('used as any callback: a one-cycle fit ends with one message in the channel, the run completed', async () => {
  const server = await startDiscordServer();
  process.env.DISCORD_WEBHOOK_URL = server.webhookUrl;
  const model = toyModel();
  const data = toyLoaders(96);
  try {
    // #region use
    const learn = new Learner({
      model,
      data,
      loss: 'categoricalCrossentropy',
      callbacks: [new MinimalDiscordCallback({ on: ['end', 'error'] })],
    });
    await learn.fitOneCycle(5);
    // #endregion
    disposeToyLearner(learn);
    expect(server.messages).toHaveLength(1);
    expect(server.messages[0]?.content).toMatch(/^```\n✅ .* completed 5 epochs in /);
  } finally {
    delete process.env.DISCORD_WEBHOOK_URL;
    await server.close();
  }
});
