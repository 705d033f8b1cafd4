/**
 * The services of the proxy tests, each a testkit server and a notifier pointed at it, so one table
 * runs every scenario against Telegram, Slack (bot and webhook) and the webhook alike.
 */
import type { Callback } from '@epochcast/core';
import { type Notifier, type NotifierOptions, WebhookCallback } from '@epochcast/notify';
import { NtfyCallback } from '@epochcast/ntfy';
import { SlackCallback } from '@epochcast/slack';
import { TelegramCallback } from '@epochcast/telegram';
import { startNtfyServer, startSlackServer, startTelegramServer, startWebhookServer } from '@epochcast/testkit';
import { disposeToyLearner, toyLearner } from '@epochcast/testkit/learner';

export const PROXY_VARS = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY', 'no_proxy', 'NO_PROXY'];

/** Clears every proxy variable; returns what puts them back as they were (for afterEach). */
export function isolateProxyEnv(): () => void {
  const saved = Object.fromEntries(PROXY_VARS.map((name) => [name, process.env[name]]));
  for (const name of PROXY_VARS) delete process.env[name];
  return () => {
    for (const name of PROXY_VARS) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  };
}

export interface RunningService {
  /** `host:port` of the service's server, as the proxy records its requests. */
  target: string;
  notifier(options: NotifierOptions): Notifier;
  /** How many HTTP requests the server received. */
  requests(): number;
  /** How many messages arrived (what the user sees). */
  delivered(): number;
  close(): Promise<void>;
}

export interface ServiceCase {
  name: string;
  start(): Promise<RunningService>;
}

const TG_TOKEN = '707070:AAH-proxy-test-token';
const SLACK_TOKEN = 'xoxb-proxy-test-token';

export const SERVICES: readonly ServiceCase[] = [
  {
    name: 'Telegram',
    async start() {
      const server = await startTelegramServer({ token: TG_TOKEN });
      return {
        target: new URL(server.url).host,
        notifier: (o) =>
          new TelegramCallback({ ...o, token: TG_TOKEN, chatId: 4242, apiRoot: server.url, commands: false, minSendIntervalMs: 0 }),
        requests: () => server.received.length,
        delivered: () => server.messages(4242).length,
        close: () => server.close(),
      };
    },
  },
  {
    name: 'Slack bot',
    async start() {
      const server = await startSlackServer({ token: SLACK_TOKEN });
      return {
        target: new URL(server.url).host,
        notifier: (o) =>
          new SlackCallback({ ...o, token: SLACK_TOKEN, channel: '#training', slackApiUrl: server.apiUrl, minSendIntervalMs: 0 }),
        requests: () => server.received.length,
        delivered: () => server.received.filter((c) => c.method === 'chat.postMessage' && c.status === 200).length,
        close: () => server.close(),
      };
    },
  },
  {
    name: 'Slack webhook',
    async start() {
      const server = await startSlackServer({ token: SLACK_TOKEN });
      return {
        target: new URL(server.url).host,
        notifier: (o) => new SlackCallback({ ...o, webhookUrl: server.webhookUrl, minSendIntervalMs: 0 }),
        requests: () => server.received.length,
        delivered: () => server.received.filter((c) => c.status === 200).length,
        close: () => server.close(),
      };
    },
  },
  {
    name: 'webhook',
    async start() {
      const server = await startWebhookServer();
      return {
        target: new URL(server.url).host,
        notifier: (o) => new WebhookCallback({ ...o, url: `${server.url}/hook` }),
        requests: () => server.received.length,
        delivered: () => server.received.filter((r) => r.status === 200).length,
        close: () => server.close(),
      };
    },
  },
  {
    name: 'ntfy',
    async start() {
      const server = await startNtfyServer();
      return {
        target: new URL(server.url).host,
        notifier: (o) => new NtfyCallback({ ...o, url: `${server.url}/training-runs` }),
        requests: () => server.received.length,
        delivered: () => server.received.filter((r) => r.status === 200).length,
        close: () => server.close(),
      };
    },
  },
];

/** Warnings collected from a notifier's `logger`. */
export function collectWarnings(): { lines: string[]; logger: { warn(line: string): void } } {
  const lines: string[] = [];
  return { lines, logger: { warn: (line) => lines.push(line) } };
}

/** A short real fit with `notifier` attached; resolves once the fit (and its last message) is over. */
export async function fitWith(notifier: Notifier, epochs = 2, others: readonly Callback[] = []): Promise<void> {
  const learn = toyLearner([notifier, ...others], { samples: 64 });
  try {
    await learn.fit(epochs, { lr: 1e-2 });
  } finally {
    disposeToyLearner(learn);
  }
}
