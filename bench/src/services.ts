// The three notifiers of the issue, each pointed at its local testkit server (started once for
// the whole bench), and what the servers received: end messages, send rates.
import type { TrainingState } from '@epochcast/core';
import { EmailCallback } from '@epochcast/email';
import type { Notifier, NotifyEvent } from '@epochcast/notify';
import { SlackCallback } from '@epochcast/slack';
import { TelegramCallback } from '@epochcast/telegram';
import {
  type SlackServer,
  type SmtpSink,
  startSlackServer,
  startSmtpSink,
  startTelegramServer,
  type TelegramServer,
} from '@epochcast/testkit';

const CHAT = 4242;
const CHANNEL = { id: 'C0BENCH', name: 'bench' };
/** Every event, epoch messages included. */
export const ALL_EVENTS: readonly NotifyEvent[] = ['start', 'epoch', 'end', 'error', 'interrupt'];

export interface Services {
  telegram: TelegramServer;
  slack: SlackServer;
  smtp: SmtpSink;
  /** Warnings the notifiers logged (failed sends), instead of stderr. */
  warnings: string[];
  /** Sets (ms > 0) or clears the answer latency of all three servers. */
  latency(ms: number): void;
  close(): Promise<void>;
}

export async function startServices(): Promise<Services> {
  const telegram = await startTelegramServer();
  const slack = await startSlackServer({ token: 'xoxb-bench', channels: [CHANNEL] });
  const smtp = await startSmtpSink();
  const warnings: string[] = [];
  return {
    telegram,
    slack,
    smtp,
    warnings,
    latency(ms) {
      for (const server of [telegram, slack, smtp]) {
        if (ms > 0) server.faults.latency(ms);
        else server.faults.clear();
      }
    },
    async close() {
      await Promise.all([telegram.close(), slack.close(), smtp.close()]);
    },
  };
}

export interface NotifierSet {
  telegram: TelegramCallback;
  slack: SlackCallback;
  email: EmailCallback;
  all: Notifier[];
  /** Time spent inside the notifiers' onTrainBegin (config check) and onTrainEnd (waiting for delivery), ms. */
  waitsMs: () => number;
  close(): Promise<void>;
}

/**
 * Fresh notifiers for one fit, as a user writes them (defaults everywhere: Telegram polls for
 * commands, pacing 1 message/s per chat; Slack 1 post/s; plots on), every event on.
 */
export function makeNotifiers(services: Services, runName: string): NotifierSet {
  const logger = { warn: (line: string) => void services.warnings.push(line) };
  const shared = { runName, on: ALL_EVENTS, logger };
  const telegram = new TelegramCallback({ ...shared, token: services.telegram.token, chatId: CHAT, apiRoot: services.telegram.url });
  const slack = new SlackCallback({
    ...shared,
    token: services.slack.token,
    channel: `#${CHANNEL.name}`,
    slackApiUrl: services.slack.apiUrl,
  });
  const email = new EmailCallback({
    ...shared,
    smtpUrl: services.smtp.url,
    from: 'epochcast <bench@example.test>',
    to: ['you@example.test'],
  });
  const all: Notifier[] = [telegram, slack, email];
  // Bench instrumentation only: time the two hooks that wait on the network by design (the
  // configuration check before the first epoch, the bounded flush after the last), so the loop's
  // own cost can be told apart from delivering the last messages. Installed before the Learner
  // is built, so its dispatch table sees them.
  let waits = 0;
  for (const n of all) {
    for (const hook of ['onTrainBegin', 'onTrainEnd'] as const) {
      const original = n[hook].bind(n);
      n[hook] = async (state: TrainingState) => {
        const t = performance.now();
        try {
          await original(state);
        } finally {
          waits += performance.now() - t;
        }
      };
    }
  }
  return {
    telegram,
    slack,
    email,
    all,
    waitsMs: () => waits,
    close: async () => {
      await Promise.all(all.map((n) => n.close()));
    },
  };
}

const completed = (text: string, runName: string) => text.includes(runName) && text.includes(' completed ');

/** End messages of `runName` each server accepted: [telegram, slack, email]. */
export function endMessages(services: Services, runName: string): { telegram: number; slack: number; email: number } {
  return {
    telegram: services.telegram.received.filter(
      (c) => /^sendMessage$/i.test(c.method) && c.status === 200 && completed(String(c.params.text ?? ''), runName),
    ).length,
    slack: services.slack.received.filter(
      (c) => c.method === 'chat.postMessage' && c.status === 200 && !c.error && completed(JSON.stringify(c.params), runName),
    ).length,
    email: services.smtp.received.filter((m) => completed(m.subject, runName)).length,
  };
}

/** Telegram calls that post to or change the chat (what its 1-per-second-per-chat limit counts). */
export const isTelegramChatWrite = (method: string): boolean => /^(send|edit|copy|forward)/i.test(method);
/** Slack calls that post or change a message in the channel. */
export const isSlackChannelWrite = (method: string): boolean =>
  method === 'chat.postMessage' || method === 'chat.update' || method === 'files.completeUploadExternal';

/** The most calls in any window of `windowMs` (half-open), and the least gap between two calls, ms. */
export function rateStats(times: readonly number[], windowMs = 1000): { maxInWindow: number; minGapMs: number } {
  const t = [...times].sort((a, b) => a - b);
  let maxInWindow = 0;
  let minGapMs = Number.POSITIVE_INFINITY;
  let j = 0;
  for (let i = 0; i < t.length; i++) {
    while ((t[i] as number) - (t[j] as number) >= windowMs) j++;
    maxInWindow = Math.max(maxInWindow, i - j + 1);
    if (i > 0) minGapMs = Math.min(minGapMs, (t[i] as number) - (t[i - 1] as number));
  }
  return { maxInWindow, minGapMs };
}
