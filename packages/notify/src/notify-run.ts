/**
 * `notifyRun`: start / end / error notifications around any async job — knockknock's decorator,
 * for TypeScript. The messages are the ones a fit sends, with no epochs: `totalEpochs` is 0 and
 * the schedule says `job`.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import { ConfigError, describeValue, type TrainStatus } from '@epochcast/core';
import type { Notification, NotificationError, NotifyEvent, RunInfo } from './notification.js';
import { type DeliveryReport, Notifier, rank } from './notifier.js';

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
  const run = jobRunInfo(options.name);
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
    await notifyAll(notifiers, jobNotification('error', run, 'failed', asNotificationError(error)), timeoutMs);
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

/** The run info of a job that is not a fit: no epochs, schedule `job`. */
function jobRunInfo(name: string | undefined): RunInfo {
  const script = process.argv[1] ? path.basename(process.argv[1]).replace(/\.[cm]?[jt]s$/, '') : '';
  const r = rank();
  return {
    name: name ?? (process.env.EPOCHCAST_RUN_NAME || script || 'job'),
    id: randomBytes(4).toString('hex'),
    host: r > 0 ? `${hostname()} rank ${r}` : hostname(),
    rank: r,
    startedAt: Date.now(),
    totalEpochs: 0,
    schedule: 'job',
  };
}

function jobNotification(event: NotifyEvent, run: RunInfo, status: TrainStatus, error?: NotificationError): Notification {
  const n: Notification = { event, run, history: [], metricNames: [], durationMs: Date.now() - run.startedAt, status };
  if (error) n.error = error;
  return n;
}

function asNotificationError(error: unknown): NotificationError {
  if (error instanceof Error) return { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
  return { name: 'Error', message: describeValue(error) };
}

/** Every notifier at once; a failure is each notifier's warning line, never a throw. */
async function notifyAll(notifiers: readonly Notifier[], n: Notification, timeoutMs: number | undefined): Promise<void> {
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
