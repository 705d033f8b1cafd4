// The ~40-line plugin of docs/writing-a-notifier.md: shown there exactly as it is here, and it
// passes the conformance suite against the local Discord server.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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
});

test('the guide shows MinimalDiscordCallback exactly as tested here', async () => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const guide = await readFile(path.join(here, '../../../docs/writing-a-notifier.md'), 'utf8');
  const source = await readFile(path.join(here, 'minimal-discord-notifier.ts'), 'utf8');
  expect(guide).toContain(`\`\`\`ts\n${source}\`\`\``);
});
