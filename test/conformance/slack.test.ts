import { SlackCallback } from '@epochcast/slack';
import { type SlackServer, startSlackServer } from '@epochcast/testkit';
import { notifierConformance } from '@epochcast/testkit/conformance';

const TOKEN = 'xoxb-conformance-7c1e9a';

/** The messages the channel received, one per chat.postMessage (thread replies included; edits and uploads aside). */
const posts = (server: SlackServer) => server.received.filter((c) => c.method === 'chat.postMessage');

notifierConformance({
  name: 'SlackCallback (bot token)',
  start: () => startSlackServer({ token: TOKEN }),
  notifier: (server, options) => new SlackCallback({ ...options, token: TOKEN, channel: '#training', slackApiUrl: server.apiUrl }),
  // Slack answers refusals with HTTP 200 and `ok: false`: a delivered message is one without an error.
  delivered: (server) =>
    posts(server)
      .filter((c) => c.status === 200 && c.error === undefined)
      .map((c) => String(c.params.text)),
  attempts: (server) => posts(server).length,
  secrets: () => [TOKEN],
  // Faults go to the calls that carry messages, not to auth.test at the start of each fit.
  scope: { methods: ['chat.postMessage'] },
});

notifierConformance({
  name: 'SlackCallback (incoming webhook)',
  start: () => startSlackServer({ token: TOKEN }),
  notifier: (server, options) => new SlackCallback({ ...options, webhookUrl: server.webhookUrl }),
  delivered: (server) => server.received.filter((c) => c.method === 'webhook' && c.status === 200).map((c) => String(c.params.text)),
  attempts: (server) => server.received.filter((c) => c.method === 'webhook').length,
  secrets: (server) => [server.webhookUrl, new URL(server.webhookUrl).pathname],
  scope: { methods: ['webhook'] },
});
