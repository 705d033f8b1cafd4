import { notifierConformance } from '@epochcast/testkit/conformance';
import { DiscordCallback } from '../src/index.js';
import { type DiscordServer, startDiscordServer } from './discord-server.js';

/** The messages the channel received: content and embed text, one string each. */
const delivered = (server: DiscordServer) => server.messages.map((m) => m.text);

notifierConformance<DiscordServer>({
  name: 'DiscordCallback',
  start: () => startDiscordServer(),
  notifier: (server, options) => new DiscordCallback({ ...options, webhookUrl: server.webhookUrl }),
  delivered,
  // POSTs carry messages; the GET that verifies the webhook at the start of each fit does not.
  attempts: (server) => server.received.filter((r) => r.kind === 'execute').length,
  secrets: (server) => [server.webhookUrl, server.token, `${server.id}/${server.token}`],
  scope: { methods: ['execute'] },
});
