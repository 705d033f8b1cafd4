/**
 * `notifyRun`: start / end / error notifications around any async job — knockknock's decorator,
 * for TypeScript. The messages are the ones a fit sends, with no epochs: `totalEpochs` is 0 and
 * the schedule says `job`.
 */
import { ConfigError, describeValue, type TrainStatus } from '@epochcast/core';
import { checkAlert } from './alert.js';
import type { DeliveryReport } from './delivery.js';
import type { AlertLevel, Notification, NotificationError, NotifyEvent, RunInfo } from './notification.js';
import { Notifier } from './notifier.js';
import { jobRunInfo } from './run-info.js';
export interface NotifyRunOptions {
  /** Where the start, end and error messages go. */
  notifiers: readonly Notifier[];
  /** Names the job in every message. Default `EPOCHCAST_RUN_NAME`, else the script's file name. */
  name?: string;
  /**
   * How long the end waits for the messages, in ms, per notifier (they are flushed side by side).
   * Default: each notifier's own `flushTimeoutMs`.
   */
  flushTimeoutMs?: number;
}

/**
 * Runs `fn` and tells the notifiers: `start` before it, then `end` (status `completed`) when it
 * resolves, or `error` (its name, message and stack) when it rejects. Resolves to `fn`'s value and
 * rethrows `fn`'s error unchanged; a notifier that cannot deliver only logs its warning line —
 * notifying never throws into your code, and each notifier's wait is bounded by its flush bound.
 *
 * ```ts
 * const rows = await notifyRun(() => reindexEverything(), { notifiers: [new TelegramCallback()], name: 'reindex' });
 * ```
 */
export async function notifyRun<T>(fn: () => Promise<T>, options: NotifyRunOptions): Promise<T> {
  if (typeof fn !== 'function') throw new ConfigError(`notifyRun: fn must be a function; received ${describeValue(fn)}.`);
  const notifiers = checkNotifiers(options);
  const run = jobRunInfo(options.name === undefined ? {} : { name: options.name });
  const timeoutMs = options.flushTimeoutMs;
  if (timeoutMs !== undefined && !(timeoutMs >= 0 && Number.isFinite(timeoutMs)))
    throw new ConfigError(`notifyRun: flushTimeoutMs must be a finite number >= 0; received ${describeValue(timeoutMs)}.`);

  // The start message goes out while the job runs; the end waits for it (each notifier's queue is in order).
  const started = notifyAll(notifiers, jobNotification('start', run, 'running'), timeoutMs);
  let result: T;
  try {
    result = await fn();
  } catch (error) {
    await started;
    await notifyAll(notifiers, jobNotification('error', run, 'failed', { error: asNotificationError(error) }), timeoutMs);
    throw error;
  }
  await started;
  await notifyAll(notifiers, jobNotification('end', run, 'completed'), timeoutMs);
  return result;
}

function checkNotifiers(options: NotifyRunOptions): readonly Notifier[] {
  if (options === null || typeof options !== 'object')
    throw new ConfigError(`notifyRun: options must be an object { notifiers, name }; received ${describeValue(options)}.`);
  const { notifiers, name } = options;
  if (!Array.isArray(notifiers) || !notifiers.every((n) => n instanceof Notifier))
    throw new ConfigError(`notifyRun: notifiers must be a list of notifiers (TelegramCallback, …); received ${describeValue(notifiers)}.`);
  if (name !== undefined && (typeof name !== 'string' || name.trim() === ''))
    throw new ConfigError(`notifyRun: name must be a non-empty string; received ${describeValue(name)}.`);
  return notifiers;
}

/**
 * A notification about a job that is not a fit (see `jobRunInfo`): no history, no metrics. An
 * `alert` needs `extra.alert` (`{ text, level? }`, checked and bounded as `notifier.alert()` does
 * them: a ConfigError otherwise), and only an alert takes it.
 */
export function jobNotification(
  event: NotifyEvent,
  run: RunInfo,
  status: TrainStatus,
  extra: { error?: NotificationError; stopReason?: string; alert?: { text: string; level?: AlertLevel } } = {},
): Notification {
  const n: Notification = { event, run, history: [], metricNames: [], durationMs: Date.now() - run.startedAt, status };
  if (extra.error) n.error = extra.error;
  if (extra.stopReason !== undefined) n.stopReason = extra.stopReason;
  if (event === 'alert') {
    if (extra.alert === null || typeof extra.alert !== 'object')
      throw new ConfigError(`jobNotification: an alert needs its text: pass { alert: { text, level } } as the last argument.`);
    n.alert = checkAlert('jobNotification', extra.alert.text, { level: extra.alert.level });
  } else if (extra.alert !== undefined) {
    throw new ConfigError(`jobNotification: only an 'alert' notification carries alert; received event ${describeValue(event)}.`);
  }
  return n;
}

function asNotificationError(error: unknown): NotificationError {
  if (error instanceof Error) return { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
  return { name: 'Error', message: describeValue(error) };
}

/**
 * Sends `n` through every notifier side by side, each bounded by `timeoutMs` (default: its own
 * flush bound). Never throws: a failure is each notifier's warning line.
 */
export async function notifyAll(notifiers: readonly Notifier[], n: Notification, timeoutMs?: number): Promise<void> {
  await Promise.all(
    notifiers.map(async (notifier): Promise<DeliveryReport | undefined> => {
      try {
        return await (timeoutMs === undefined ? notifier.notify(n) : notifier.notify(n, timeoutMs));
      } catch {
        // notify() never throws by contract; a plugin that breaks it still must not break the job.
        return undefined;
      }
    }),
  );
}
