/**
 * The delivery queue behind every notifier: the training loop only enqueues; one worker sends, one
 * message at a time, with retries (p-retry), exact rate-limit waits, a time bound per attempt, and
 * a bounded flush at the end. Epoch messages that pile up are coalesced (the newest wins); the last
 * word of a run (end, error, interrupt) is never dropped and supersedes pending epochs. Alerts are
 * never coalesced nor superseded and keep their place in the order; at most 20 wait at a time.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import { type AttemptClock, errorMessage, settledWithin, withTimeout } from './bounds.js';
import { ConfigRejectedError, PermanentError, ProxyRefusedError, RateLimitError, TransientError } from './errors.js';
import type { Notification, NotifyEvent } from './notification.js';

/** What happened to the messages of one fit, for tests and for `onTrainEnd`'s report. */
export interface DeliveryReport {
  delivered: NotifyEvent[];
  /** Messages given up on: refused by the service, out of retries, or still queued when the flush bound ran out. */
  failed: { event: NotifyEvent; reason: string }[];
  /** Epoch messages replaced by a newer one before they were sent. */
  coalesced: number;
  /** Alerts dropped because 20 were already waiting to be delivered. */
  droppedAlerts: number;
}

/** One attempt at sending one notification, as the queue runs it. */
export interface Attempt {
  notification: Notification;
  signal: AbortSignal;
  /** 1 for the first try. */
  attempt: number;
  /** Steps of this notification already done in earlier attempts, by name, with their results. */
  steps: Map<string, unknown>;
  clock: AttemptClock;
}

export interface DeliverySettings {
  timeoutMs: number;
  retries: number;
  minIntervalMs: number;
}

export interface DeliveryHooks {
  /** Sends once; throws RateLimitError, PermanentError, TransientError or anything (retried). */
  send(attempt: Attempt): Promise<void>;
  /** Waits for the request's turn on the service's pace; called before every attempt. */
  pace(signal: AbortSignal): Promise<void>;
  /** One warning about a message: `could not deliver …` (the caller prefixes and redacts it). */
  warn(text: string): void;
  /** The text with the notifier's secrets replaced, for the report. */
  redact(text: string): string;
  /** Whether the failure was the proxy's: the notifier then has warned about it (once), not this queue. */
  tellProxyFailure(error: unknown): boolean;
}

interface Job {
  notification: Notification;
  steps: Map<string, unknown>;
  /** Settled once the first attempt begins and ends: the start message as a configuration check. */
  firstAttempt?: { begun: Deferred<void>; settled: Deferred<unknown> };
}

/** How much longer than the flush bound the last messages may take when they wait behind other runs on a shared budget. */
const SHARED_WAIT_GRACE_MS = 90_000;
const TERMINAL: ReadonlySet<NotifyEvent> = new Set(['end', 'error', 'interrupt']);
/**
 * Most alerts waiting to be delivered at a time. A script that prints alert lines in a loop, faster
 * than the service takes them, must neither grow the queue without end nor buzz a phone for hours.
 */
export const MAX_QUEUED_ALERTS = 20;

export class DeliveryQueue {
  report: DeliveryReport = { delivered: [], failed: [], coalesced: 0, droppedAlerts: 0 };
  private queue: Job[] = [];
  private worker: Promise<void> | undefined;
  private abort = new AbortController();
  private lastEpochQueuedAt = Number.NEGATIVE_INFINITY;
  private epochFailureLogged = false;
  /** Set once the service refused the configuration: nothing more of this fit can get through. */
  private rejected: string | undefined;
  /** The newest epoch message held back by `minIntervalMs`, sent when the interval is over. */
  private deferred: { notification: Notification; timer: NodeJS.Timeout } | undefined;
  /** Alerts dropped since the last warning about it: told in one line once the backlog is gone or at a flush. */
  private alertsDroppedUntold = 0;

  constructor(
    private readonly settings: DeliverySettings,
    private readonly hooks: DeliveryHooks,
  ) {}

  /** A new fit: a fresh report, a live signal, and whatever the last fit learned forgotten. */
  reset(): void {
    this.abort = new AbortController();
    this.report = { delivered: [], failed: [], coalesced: 0, droppedAlerts: 0 };
    this.epochFailureLogged = false;
    this.rejected = undefined;
    this.lastEpochQueuedAt = Number.NEGATIVE_INFINITY;
  }

  /** A message sent outside a fit after a flush that timed out needs a live signal. */
  revive(): void {
    if (this.abort.signal.aborted && !this.worker) this.abort = new AbortController();
  }

  /** Drops the epoch message held back by `minIntervalMs` (the fit is over). */
  dropDeferred(): void {
    if (this.deferred) clearTimeout(this.deferred.timer);
    this.deferred = undefined;
  }

  /** Queues a message; with `watchFirstAttempt`, the returned handle tells how its first attempt went. */
  enqueue(notification: Notification, watchFirstAttempt = false): FirstAttempt | undefined {
    if (this.rejected !== undefined) {
      // Alerts in a loop would grow the report without end: past the bound they are only counted.
      if (notification.event === 'alert' && this.report.failed.filter((f) => f.event === 'alert').length >= MAX_QUEUED_ALERTS)
        this.dropAlert();
      else this.report.failed.push({ event: notification.event, reason: `not sent: ${this.rejected}` });
      return undefined;
    }
    if (notification.event === 'alert' && this.queuedAlerts() >= MAX_QUEUED_ALERTS) {
      this.dropAlert();
      return undefined;
    }
    if (notification.event === 'epoch') {
      const now = performance.now();
      const pending = this.queue.findIndex((j) => j.notification.event === 'epoch');
      if (pending >= 0) {
        // The newer epoch goes to the back, not into the older one's place: an alert queued
        // between them stays before it, in the order things happened.
        this.queue.splice(pending, 1);
        this.queue.push({ notification, steps: new Map() });
        this.report.coalesced += 1;
        return undefined;
      }
      if (now - this.lastEpochQueuedAt < this.settings.minIntervalMs) {
        this.defer(notification, this.lastEpochQueuedAt + this.settings.minIntervalMs - now);
        return undefined;
      }
      this.lastEpochQueuedAt = now;
    } else if (TERMINAL.has(notification.event)) {
      // The last word carries the whole table: epoch updates still waiting are superseded.
      if (this.deferred) {
        this.dropDeferred();
        this.report.coalesced += 1;
      }
      const before = this.queue.length;
      this.queue = this.queue.filter((j) => j.notification.event !== 'epoch');
      this.report.coalesced += before - this.queue.length;
    }
    const job: Job = { notification, steps: new Map() };
    if (watchFirstAttempt) job.firstAttempt = { begun: deferred(), settled: deferred() };
    this.queue.push(job);
    this.startWorker();
    return job.firstAttempt && { begun: job.firstAttempt.begun.promise, settled: job.firstAttempt.settled.promise };
  }

  /**
   * Waits until every queued message is delivered or given up on, at most `timeoutMs` plus the
   * time spent waiting behind other runs on a shared budget (`sharedWaitMs`, up to 90 s more);
   * what is still queued then is abandoned (and listed in the report). Never throws.
   */
  async flush(timeoutMs: number, sharedWaitMs: () => number): Promise<DeliveryReport> {
    const started = performance.now();
    const waitedBefore = sharedWaitMs();
    let deadline = started + timeoutMs;
    while (this.worker) {
      await settledWithin(this.worker, Math.max(0, deadline - performance.now()));
      if (!this.worker) break;
      const extended = started + timeoutMs + Math.min(sharedWaitMs() - waitedBefore, SHARED_WAIT_GRACE_MS);
      if (extended > deadline + 1) {
        deadline = extended;
        continue;
      }
      this.abort.abort(new TransientError(`flush bound of ${timeoutMs} ms reached`));
      for (const job of this.queue.splice(0)) this.fail(job, `not sent within the flush bound of ${timeoutMs} ms`);
      await this.worker;
    }
    this.tellDroppedAlerts();
    return this.report;
  }

  private queuedAlerts(): number {
    let count = 0;
    for (const job of this.queue) if (job.notification.event === 'alert') count += 1;
    return count;
  }

  private dropAlert(): void {
    this.report.droppedAlerts += 1;
    this.alertsDroppedUntold += 1;
  }

  /** The one line about alerts dropped since the last such line, if any were. */
  private tellDroppedAlerts(): void {
    const dropped = this.alertsDroppedUntold;
    if (dropped === 0) return;
    this.alertsDroppedUntold = 0;
    this.hooks.warn(
      `dropped ${dropped} alert${dropped === 1 ? '' : 's'}: ${MAX_QUEUED_ALERTS} were already waiting to be delivered (alerts came faster than the service took them); the waiting ones were kept`,
    );
  }

  private defer(notification: Notification, delayMs: number): void {
    if (this.deferred) {
      this.deferred.notification = notification;
      this.report.coalesced += 1;
      return;
    }
    const timer = setTimeout(() => {
      const held = this.deferred;
      this.deferred = undefined;
      if (held) this.enqueue(held.notification);
    }, delayMs);
    timer.unref();
    this.deferred = { notification, timer };
  }

  private startWorker(): void {
    this.worker ??= this.drain().finally(() => {
      this.worker = undefined;
      // A message queued while the worker was winding down (after its loop, before this) still goes.
      if (this.queue.length > 0) this.startWorker();
    });
  }

  private async drain(): Promise<void> {
    for (let job = this.queue.shift(); job; job = this.queue.shift()) {
      if (this.rejected !== undefined) this.fail(job, `not sent: ${this.rejected}`, true);
      else await this.deliver(job);
      // The backlog of alerts is gone: the count of those dropped meanwhile is final.
      if (job.notification.event === 'alert' && this.queuedAlerts() === 0) this.tellDroppedAlerts();
    }
  }

  private async deliver(job: Job): Promise<void> {
    const { notification, steps, firstAttempt } = job;
    const signal = this.abort.signal;
    try {
      await pRetry(
        async (attempt) => {
          await this.hooks.pace(signal);
          firstAttempt?.begun.resolve();
          await withTimeout(this.settings.timeoutMs, signal, (attemptSignal, clock) =>
            this.hooks.send({ notification, signal: attemptSignal, attempt, steps, clock }),
          );
        },
        {
          retries: this.settings.retries,
          minTimeout: 500,
          factor: 2,
          maxTimeout: 30_000,
          randomize: true,
          // Rate-limit waits use up no retry, so a service that answers 429 forever needs a bound of its own.
          maxRetryTime: 10 * 60_000,
          signal,
          onFailedAttempt: async ({ error, attemptNumber }) => {
            if (attemptNumber === 1) firstAttempt?.settled.resolve(error);
            if (error instanceof RateLimitError) await sleep(error.retryAfterMs, undefined, { signal });
          },
          // A rate-limit wait is the service's pacing, not a failure: it does not use up a retry.
          shouldConsumeRetry: ({ error }) => !(error instanceof RateLimitError),
          shouldRetry: ({ error }) => !(error instanceof PermanentError),
        },
      );
      firstAttempt?.settled.resolve(undefined);
      this.report.delivered.push(notification.event);
      if (notification.event === 'epoch') this.epochFailureLogged = false;
    } catch (error) {
      firstAttempt?.settled.resolve(error);
      const reason = signal.aborted ? errorMessage(signal.reason) : errorMessage(error);
      const proxy = !signal.aborted && this.hooks.tellProxyFailure(error);
      this.fail(job, error instanceof PermanentError ? `refused: ${reason} (not retried)` : reason, proxy);
      // Refused credentials, destination or proxy refuse every later message too: stop trying this fit.
      if (error instanceof ConfigRejectedError) this.rejected = `the service refused the configuration earlier (${reason})`;
      if (error instanceof ProxyRefusedError) this.rejected = `the proxy refused earlier (${reason})`;
    }
  }

  private fail(job: Job, reason: string, quiet = false): void {
    const event = job.notification.event;
    this.report.failed.push({ event, reason: this.hooks.redact(reason) });
    if (quiet) return;
    if (event === 'epoch') {
      // One line per outage, not one per epoch: the next success re-arms it.
      if (this.epochFailureLogged) return;
      this.epochFailureLogged = true;
      this.hooks.warn(
        `could not deliver an epoch message: ${reason} (training goes on; further epoch failures are not logged until one gets through)`,
      );
      return;
    }
    this.hooks.warn(`could not deliver the ${event} message: ${reason}`);
  }
}

/** How the first attempt at a message went: `begun` when its turn came, `settled` with its error (undefined on success). */
export interface FirstAttempt {
  begun: Promise<void>;
  settled: Promise<unknown>;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
