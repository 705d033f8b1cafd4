// The ~40-line plugin of docs/writing-a-notifier.md: shown there exactly as it is here, and it
// passes the conformance suite against the local Discord server.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { failedNotification } from '@epochcast/testkit';
import { notifierConformance } from '@epochcast/testkit/conformance';
import { expect, test } from 'vitest';
import { type DiscordServer, startDiscordServer } from './discord-server.js';
import { MinimalDiscordCallback } from './minimal-discord-notifier.js';

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

test('the guide shows MinimalDiscordCallback exactly as tested here', async () => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const guide = await readFile(path.join(here, '../../../docs/writing-a-notifier.md'), 'utf8');
  const source = await readFile(path.join(here, 'minimal-discord-notifier.ts'), 'utf8');
  expect(guide).toContain(`\`\`\`ts\n${source}\`\`\``);
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
