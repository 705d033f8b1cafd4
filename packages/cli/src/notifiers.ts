/**
 * Notifiers chosen by flags, and the notifications of a job that is not a fit (`run`, `test`):
 * the same shape `notifyRun` sends — no epochs, `totalEpochs` 0.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ConfigError, type TrainStatus } from '@epochcast/core';
import { EmailCallback } from '@epochcast/email';
import {
  type Notification,
  type NotificationError,
  type Notifier,
  type NotifierLogger,
  type NotifyEvent,
  type RunInfo,
  rank,
  WebhookCallback,
} from '@epochcast/notify';
import { SlackCallback } from '@epochcast/slack';
import { TelegramCallback } from '@epochcast/telegram';

export type Service = 'telegram' | 'slack' | 'email';
export const SERVICES: readonly Service[] = ['telegram', 'slack', 'email'];

export interface NotifierFlags {
  telegram?: boolean;
  slack?: boolean;
  email?: boolean;
  webhook?: string;
}

/** Options every CLI notifier shares: no Ctrl-C handling of a fit, no command polling, warnings to `logger`. */
function common(logger: NotifierLogger | undefined) {
  return { handleSignals: false, ...(logger ? { logger } : {}) };
}

/** One notifier of a service, configured from the environment (the plugin's own variables). */
export function serviceNotifier(service: Service, logger?: NotifierLogger): Notifier {
  switch (service) {
    case 'telegram':
      return new TelegramCallback({ ...common(logger), commands: false });
    case 'slack':
      return new SlackCallback(common(logger));
    case 'email':
      return new EmailCallback(common(logger));
  }
}

/**
 * The notifiers the flags ask for, each configured from its environment variables. A missing or
 * malformed setting is the plugin's ConfigError (rethrown as is).
 */
export function notifiersFromFlags(flags: NotifierFlags, logger?: NotifierLogger): Notifier[] {
  const notifiers: Notifier[] = SERVICES.filter((s) => flags[s]).map((s) => serviceNotifier(s, logger));
  if (flags.webhook !== undefined) notifiers.push(new WebhookCallback({ url: flags.webhook, ...common(logger) }));
  return notifiers;
}

/** Whether an error is a configuration error of a plugin (by class, or by name across package copies). */
export function isConfigError(error: unknown): error is Error {
  return error instanceof ConfigError || (error instanceof Error && error.name === 'ConfigError');
}

/** The run of a job: no epochs; `schedule` says what runs. */
export function jobRun(name: string, schedule: string): RunInfo {
  const r = rank();
  return {
    name,
    id: randomBytes(4).toString('hex'),
    host: r > 0 ? `${hostname()} rank ${r}` : hostname(),
    rank: r,
    startedAt: Date.now(),
    totalEpochs: 0,
    schedule,
  };
}

/** A notification about a job (no history, no metrics). */
export function jobNotification(
  event: NotifyEvent,
  run: RunInfo,
  status: TrainStatus,
  extra: { error?: NotificationError; stopReason?: string } = {},
): Notification {
  const n: Notification = { event, run, history: [], metricNames: [], durationMs: Date.now() - run.startedAt, status };
  if (extra.error) n.error = extra.error;
  if (extra.stopReason !== undefined) n.stopReason = extra.stopReason;
  return n;
}

/** Sends through every notifier side by side; never throws (a failure is each notifier's warning line). */
export async function notifyAll(notifiers: readonly Notifier[], n: Notification): Promise<void> {
  await Promise.all(notifiers.map((notifier) => notifier.notify(n).catch(() => undefined)));
}

/** Closes what keeps sockets open (a pooled SMTP transport). */
export function closeNotifiers(notifiers: readonly Notifier[]): void {
  for (const n of notifiers) if (n instanceof EmailCallback) n.close();
}
