/**
 * Issue 8, fault matrix: {429 + retry-after, 500, hang past timeout, connection reset, refused, 401}
 * × {telegram, slack, email, webhook}, against the testkit's real servers (no mocks).
 *
 * For each cell: a small seeded model trains with the plugin and must end with exactly the weights
 * and history of the same run without notifiers; then either the fault clears and the end message
 * arrives exactly once with no warning (for a 429, the measured gap between the refused request and
 * the next one is the retry-after asked), or it never clears and there is exactly one warning about
 * the end message, with no secret in it.
 *
 * Already covered elsewhere and not repeated here: coalescing, latency not slowing epochs, the
 * flush bound with a long timeoutMs, and "a 401 is not retried" for a single plugin
 * (test/conformance/*.test.ts via @epochcast/testkit/conformance).
 */
import net from 'node:net';
import { EmailCallback } from '@epochcast/email';
import { type Notifier, type NotifierOptions, WebhookCallback } from '@epochcast/notify';
import { SlackCallback } from '@epochcast/slack';
import { TelegramCallback } from '@epochcast/telegram';
import {
  type FaultScope,
  type Faults,
  type SlackServer,
  type SmtpSink,
  startSlackServer,
  startSmtpSink,
  startTelegramServer,
  startWebhookServer,
  type TelegramServer,
  type WebhookServer,
} from '@epochcast/testkit';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { leakedSecrets, type RunResult, trainSeeded } from './helpers.js';

interface Server {
  faults: Faults;
  close(): Promise<void>;
}

/** One request that carried a message: when it arrived, and whether it was accepted. */
interface Attempt {
  at: number;
  ok: boolean;
  fault: string | undefined;
}

interface Service<S extends Server> {
  name: string;
  start(): Promise<S>;
  notifier(server: S, options: NotifierOptions & { verify?: boolean }): Notifier;
  /** Requests that carried a message, in arrival order. */
  attempts(server: S): Attempt[];
  secrets: readonly string[];
  scope: FaultScope | undefined;
}

const TG_TOKEN = '515151:matrix-SECRET-tg-token';
const TG_METHODS = ['sendMessage', 'editMessageText', 'sendPhoto'];
const telegram: Service<TelegramServer> = {
  name: 'telegram',
  start: () => startTelegramServer({ token: TG_TOKEN }),
  // Commands stay on (the production default), so a getUpdates long poll runs beside each fit.
  notifier: (s, o) => new TelegramCallback({ ...o, token: TG_TOKEN, chatId: 4242, apiRoot: s.url }),
  attempts: (s) => s.received.filter((c) => TG_METHODS.includes(c.method)).map((c) => ({ at: c.at, ok: c.status === 200, fault: c.fault })),
  secrets: [TG_TOKEN, TG_TOKEN.split(':')[1] ?? ''],
  scope: { methods: TG_METHODS },
};

const SLACK_TOKEN = 'xoxb-matrix-SECRET-5e1f';
const SLACK_METHODS = ['chat.postMessage', 'chat.update', 'files.getUploadURLExternal', 'files.completeUploadExternal', 'upload'];
const slack: Service<SlackServer> = {
  name: 'slack',
  start: () => startSlackServer({ token: SLACK_TOKEN }),
  notifier: (s, o) => new SlackCallback({ ...o, token: SLACK_TOKEN, channel: '#training', slackApiUrl: s.apiUrl }),
  attempts: (s) =>
    s.received
      .filter((c) => c.method === 'chat.postMessage')
      .map((c) => ({ at: c.at, ok: c.status === 200 && c.error === undefined, fault: c.fault })),
  secrets: [SLACK_TOKEN],
  scope: { methods: SLACK_METHODS },
};

const SMTP_PASSWORD = 'matrix-SECRET-smtp-pw';
const email: Service<SmtpSink> = {
  name: 'email',
  start: () => startSmtpSink(),
  notifier: (s, o) =>
    new EmailCallback({
      ...o,
      smtpUrl: `smtp://trainer:${SMTP_PASSWORD}@${s.host}:${s.port}`,
      from: 'runs@example.test',
      to: 'me@example.test',
    }),
  attempts: (s) => s.received.map((m) => ({ at: m.at, ok: m.status === 250, fault: m.fault })),
  secrets: [SMTP_PASSWORD],
  scope: { methods: ['message'] },
};

const HOOK_SECRET = 'matrix-SECRET-hmac';
const webhook: Service<WebhookServer> = {
  name: 'webhook',
  start: () => startWebhookServer({ secret: HOOK_SECRET }),
  notifier: (s, o) => new WebhookCallback({ ...o, url: `${s.url}/hooks/PATHSECRET7`, secret: HOOK_SECRET }),
  attempts: (s) => s.received.map((r) => ({ at: r.at, ok: r.status === 200, fault: r.fault })),
  secrets: [HOOK_SECRET, 'PATHSECRET7'],
  scope: undefined,
};

type FaultName = '429 retry-after' | '500' | 'hang past timeout' | 'connection reset' | 'refused' | '401';

interface Fault {
  name: FaultName;
  /** Injects the fault; `refused` closes the server instead, so nothing listens on its port. */
  inject(server: Server, scope: FaultScope | undefined): Promise<void> | void;
  clears: boolean;
  options: NotifierOptions;
}

const faults: Fault[] = [
  { name: '429 retry-after', inject: (s, scope) => void s.faults.rateLimit(1, 1, scope), clears: true, options: {} },
  { name: '500', inject: (s, scope) => void s.faults.serverError(1, undefined, scope), clears: true, options: {} },
  // One attempt hangs; timeoutMs ends it and the retry gets through.
  { name: 'hang past timeout', inject: (s, scope) => void s.faults.hang(1, scope), clears: true, options: { timeoutMs: 400 } },
  { name: 'connection reset', inject: (s, scope) => void s.faults.reset(1, scope), clears: true, options: {} },
  // Never clears: every attempt hangs, each bounded by timeoutMs, the whole by flushTimeoutMs.
  {
    name: 'hang past timeout',
    inject: (s, scope) => void s.faults.hang(50, scope),
    clears: false,
    options: { timeoutMs: 300, retries: 1, flushTimeoutMs: 2500 },
  },
  { name: 'refused', inject: (s) => s.close(), clears: false, options: { retries: 1, timeoutMs: 1000 } },
  { name: '401', inject: (s, scope) => void s.faults.unauthorized(50, scope), clears: false, options: { retries: 3 } },
];

const services = [telegram, slack, email, webhook] as Service<Server>[];
const cases = services.flatMap((service) =>
  faults.map((fault) => ({ service, fault, label: `${service.name} × ${fault.name}${fault.clears ? ' (clears)' : ' (never clears)'}` })),
);

let baseline: RunResult;
beforeAll(async () => {
  await tf.setBackend('cpu');
  baseline = await trainSeeded([]);
  expect(baseline.status).toBe('completed');
});

describe('fault matrix', () => {
  test.each(cases)('$label', async ({ service, fault }) => {
    const server = await service.start();
    const warnings: string[] = [];
    try {
      // The refused case: build against the server's address, then close it so nothing listens there.
      if (fault.name === 'refused') await expectRefusing(server, service);
      const notifier = service.notifier(server, {
        on: ['end'],
        plot: false,
        runName: 'matrix',
        handleSignals: false,
        logger: { warn: (line) => warnings.push(line) },
        ...fault.options,
      });
      if (fault.name !== 'refused') await fault.inject(server, service.scope);

      const started = performance.now();
      const result = await trainSeeded([notifier]);
      const elapsed = performance.now() - started;

      // Same result as without notifiers, whatever the service did.
      expect(result).toEqual(baseline);
      const attempts = service.attempts(server);
      const everything = [...warnings, JSON.stringify(notifier.report)].join('\n');
      expect(leakedSecrets(everything, service.secrets)).toEqual([]);

      if (fault.clears) {
        expect(warnings).toEqual([]);
        expect(notifier.report.delivered).toEqual(['end']);
        expect(attempts.filter((a) => a.ok)).toHaveLength(1);
        expect(attempts.at(-1)?.ok).toBe(true);
        expect(attempts[0]?.ok).toBe(false);
        if (fault.name === '429 retry-after') {
          // The wait is what the service asked (1 s), measured between the two requests' arrivals.
          expect(attempts).toHaveLength(2);
          const gap = (attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0);
          expect(gap).toBeGreaterThanOrEqual(990);
          expect(gap).toBeLessThan(1600);
        }
      } else {
        expect(notifier.report.delivered).toEqual([]);
        expect(attempts.filter((a) => a.ok)).toEqual([]);
        const endWarnings = warnings.filter((w) => /could not deliver the end message/.test(w));
        expect(endWarnings, warnings.join('\n')).toHaveLength(1);
        // Besides it, only the start-of-run check may say it could not reach the service (refused).
        const others = warnings.filter((w) => !endWarnings.includes(w));
        if (fault.name === 'refused')
          expect(
            others.every((w) => /could not check/.test(w)),
            others.join('\n'),
          ).toBe(true);
        else expect(others).toEqual([]);
        if (fault.name === '401') expect(attempts).toHaveLength(1);
        // Bounded: never more than the flush bound (default 30 s) — here a few seconds.
        expect(elapsed).toBeLessThan(5000);
      }
    } finally {
      if (fault.name !== 'refused') await server.close();
    }
  });
});

/** Closes `server` and checks that its port now refuses connections. */
async function expectRefusing(server: Server, service: Service<Server>): Promise<void> {
  const port = portOf(server, service);
  await server.close();
  const refused = await new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
  expect(refused).toBe(true);
}

function portOf(server: Server, service: Service<Server>): number {
  if (service === (email as Service<Server>)) return (server as unknown as SmtpSink).port;
  const url = (server as unknown as { url: string }).url;
  return Number(new URL(url).port);
}
