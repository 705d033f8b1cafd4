import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import type { JoinOptions, Membership, RunRecord } from '@epochcast/coordination';
import { joinScope, resolveRedisUrl } from '@epochcast/coordination';
import { Callback, ConfigError, describeValue, type EpochStats, type TrainingState } from '@epochcast/core';
import * as tf from '@tensorflow/tfjs';
import pRetry from 'p-retry';
import { PermanentError, RateLimitError, TransientError } from './errors.js';
import { NOTIFY_EVENTS, type Notification, type NotifyEvent, type RunInfo } from './notification.js';
import { holdSignals, receivedSignal, releaseSignals } from './signals.js';

/** What a service accepts; the base splits, trims and spaces messages to fit. */
export interface NotifierLimits {
  /** Longest message text the service accepts (Telegram 4096, Slack section 3000, …). */
  maxTextLength: number;
  /** Longest caption of an image (Telegram 1024); 0 when images carry no caption. */
  maxCaptionLength: number;
  /** Whether the service can show an image (the loss plot). */
  images: boolean;
  /** Whether a sent message can be edited in place. */
  edits: boolean;
  /** Least time between two sends to the service (its rate limit), in ms. Default 0. */
  minSendIntervalMs?: number;
}

/** Where notifiers write their warnings; replace it to route them into your own logging. */
export interface NotifierLogger {
  warn(line: string): void;
}

export interface NotifierOptions {
  /** Events to send. Default: every event (a plugin may narrow its own default: e-mail sends end, error, interrupt). */
  on?: readonly NotifyEvent[];
  /** Send an epoch message every N epochs. Default 1. */
  every?: number;
  /** Least time between two epoch messages, in ms; epochs in between are coalesced (the newest wins). Default 0. */
  minIntervalMs?: number;
  /** Names the run in every message. Default `EPOCHCAST_RUN_NAME`, else the script's file name. */
  runName?: string;
  /** Attach the loss plot to end messages (where the service shows images). Default true. */
  plot?: boolean;
  /** Time bound of one send attempt, in ms. Default 10,000. */
  timeoutMs?: number;
  /**
   * Further attempts after a failed send (network errors, 5xx, timeouts). Waiting out a rate limit
   * (429) uses up none of them, but `retries: 0` turns every retry off, 429 included. Default 4.
   */
  retries?: number;
  /** Default true; `EPOCHCAST_DISABLE=1` turns every notifier off. */
  enabled?: boolean;
  /**
   * How long `onTrainEnd` waits for the last messages, in ms. Default 30,000. Time spent waiting for
   * this run's turn behind other runs on the same account (a sweep) is not counted, up to 90 s more.
   */
  flushTimeoutMs?: number;
  /** Stop the fit and report `interrupt` on SIGINT/SIGTERM. Default true. */
  handleSignals?: boolean;
  /** Where warnings go. Default: one line on stderr. */
  logger?: NotifierLogger;
  /**
   * Runs that share one account (a bot token, a channel) coordinate: one command poller, one send
   * budget. On one machine they do so through a local socket; with a Redis URL (default
   * `EPOCHCAST_REDIS_URL`), across machines.
   */
  redisUrl?: string;
}

/** What a plugin asks of the runs it shares an account with (see `Notifier.coordination`). */
export interface ScopeRequest {
  /** Names the account; safe to show (see `scopeName`). */
  scope: string;
  /** Compete for the scope's single leader role (Telegram's one getUpdates poller). */
  leadership?: JoinOptions['leadership'];
  /** Messages other runs send this one. */
  onMessage?: JoinOptions['onMessage'];
}

/** Extra context a plugin's `send` receives. */
export interface SendContext {
  /** Aborted when the attempt times out or the flush bound is reached: pass it to the HTTP client. */
  signal: AbortSignal;
  /** 1 for the first try. */
  attempt: number;
}

/** What happened to the messages of one fit, for tests and for `onTrainEnd`'s report. */
export interface DeliveryReport {
  delivered: NotifyEvent[];
  /** Messages given up on: refused by the service, out of retries, or still queued when the flush bound ran out. */
  failed: { event: NotifyEvent; reason: string }[];
  /** Epoch messages replaced by a newer one before they were sent. */
  coalesced: number;
}

interface Job {
  notification: Notification;
}

/** How much longer than `flushTimeoutMs` the last messages may take when they wait behind other runs on a shared budget. */
const SHARED_WAIT_GRACE_MS = 90_000;

const TERMINAL: ReadonlySet<NotifyEvent> = new Set(['end', 'error', 'interrupt']);

const stderrLogger: NotifierLogger = { warn: (line) => process.stderr.write(`${line}\n`) };

/**
 * The base of every notifier plugin. A plugin declares `service` and `limits` and implements
 * `send()`; the base does the rest, the same for all: which events to send, a background queue
 * (the training loop never waits on the network), coalescing of epoch messages, retries with
 * backoff, rate-limit waits, a bounded flush at the end, rank gating, SIGINT/SIGTERM, and
 * redaction of the secrets the plugin registers.
 */
export abstract class Notifier extends Callback {
  override order = 100;
  /** Names the service in warnings, e.g. `telegram`. */
  abstract readonly service: string;
  abstract readonly limits: NotifierLimits;
  /** The events sent when the user does not say (`on`). */
  protected defaultEvents: readonly NotifyEvent[] = NOTIFY_EVENTS;

  readonly enabled: boolean;
  protected readonly options: Required<Omit<NotifierOptions, 'on' | 'runName' | 'enabled' | 'logger' | 'redisUrl'>> & {
    on: readonly NotifyEvent[] | undefined;
    runName: string | undefined;
    redisUrl: string | undefined;
  };
  private readonly logger: NotifierLogger;
  private readonly secrets = new Set<string>();
  private queue: Job[] = [];
  private worker: Promise<void> | undefined;
  private abort = new AbortController();
  private lastSendAt = Number.NEGATIVE_INFINITY;
  /**
   * Stops (false) or restarts (true) the current attempt's time bound, so waiting for a send slot
   * inside `send` does not count and each request of a multi-request send gets the whole bound.
   */
  private attemptTimer: ((running: boolean) => void) | undefined;
  /** This run's place among the runs sharing the account, once joined (see `coordinate`). */
  private scope: { joining: Promise<Membership | undefined>; membership: Membership | undefined } | undefined;
  /** Time this notifier has spent waiting for its turn on the shared budget, and since when it waits now. */
  private sharedSlotWaited = 0;
  private sharedSlotWaitSince: number | undefined;
  /** Epoch messages muted (Telegram's /quiet); the run still reports its progress to the other runs. */
  protected epochMessagesMuted = false;
  private lastEpochQueuedAt = Number.NEGATIVE_INFINITY;
  private epochFailureLogged = false;
  private run: RunInfo | undefined;
  /** The newest epoch message held back by `minIntervalMs`, sent when the interval is over. */
  private deferred: { notification: Notification; timer: NodeJS.Timeout } | undefined;
  report: DeliveryReport = { delivered: [], failed: [], coalesced: 0 };

  constructor(options: NotifierOptions = {}) {
    super();
    const where = new.target.name;
    if (options === null || typeof options !== 'object')
      throw new ConfigError(`${where}: options must be an object; received ${describeValue(options)}.`);
    const on = options.on;
    if (on !== undefined && (!Array.isArray(on) || !on.every((e) => NOTIFY_EVENTS.includes(e))))
      throw new ConfigError(
        `${where}: on must be a list of events from ${NOTIFY_EVENTS.join(', ')}; received ${describeValue(on)}${Array.isArray(on) ? ` containing ${describeValue(on.find((e) => !NOTIFY_EVENTS.includes(e)))}` : ''}.`,
      );
    this.options = {
      on,
      every: positiveInteger(where, 'every', options.every ?? 1),
      minIntervalMs: nonNegative(where, 'minIntervalMs', options.minIntervalMs ?? 0),
      runName: options.runName,
      plot: options.plot ?? true,
      timeoutMs: positive(where, 'timeoutMs', options.timeoutMs ?? 10_000),
      retries: nonNegativeInteger(where, 'retries', options.retries ?? 4),
      flushTimeoutMs: nonNegative(where, 'flushTimeoutMs', options.flushTimeoutMs ?? 30_000),
      handleSignals: options.handleSignals ?? true,
      redisUrl: resolveRedisUrl(where, options.redisUrl),
    };
    if (options.runName !== undefined && (typeof options.runName !== 'string' || options.runName.trim() === ''))
      throw new ConfigError(`${where}: runName must be a non-empty string; received ${describeValue(options.runName)}.`);
    this.logger = options.logger ?? stderrLogger;
    this.enabled = (options.enabled ?? true) && process.env.EPOCHCAST_DISABLE !== '1';
  }

  /** Delivers one message. Throw RateLimitError, PermanentError or TransientError (or any error: retried). */
  protected abstract send(notification: Notification, context: SendContext): Promise<void>;

  /**
   * Checks the configuration against the service before the first epoch (a bad token, an unknown
   * chat): throw a PermanentError with a clear message and the run fails before it starts.
   */
  protected verify?(context: SendContext): Promise<void>;

  /** Declares a value that must never appear in a log line, a warning or a message. */
  protected registerSecret(...values: (string | undefined)[]): void {
    for (const value of values) {
      if (!value || value.length < 4) continue;
      this.secrets.add(value);
      this.secrets.add(encodeURIComponent(value));
    }
  }

  /** `text` with every registered secret replaced by `***`. */
  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join('***');
    return out;
  }

  /** The run being notified about (name, id, host…), from `onTrainBegin` until the end of `onTrainEnd`. */
  protected get currentRun(): RunInfo | undefined {
    return this.run;
  }

  /**
   * Override to join the other runs on the same account (a bot token, a channel): return the scope
   * that names the account (hash tokens into it with `scopeName`) and what the plugin wants of the
   * others. Then the sends of all those runs together keep to `limits.minSendIntervalMs`, listings
   * see this run's progress, and the plugin may be elected leader or be sent messages. The base
   * calls it in `onTrainBegin` before the start message, joins in the background, and leaves after
   * the last message of the fit.
   */
  protected coordination?(state: TrainingState): ScopeRequest | undefined;

  /** This run's membership of its scope: resolves once joined (undefined when it could not join). */
  protected get scopeMembership(): Promise<Membership | undefined> | undefined {
    return this.scope?.joining;
  }

  private joinShared(request: ScopeRequest, run: RunInfo): void {
    const record: RunRecord = {
      id: run.id,
      name: run.name,
      host: run.host,
      pid: process.pid,
      startedAt: run.startedAt,
      epoch: 0,
      totalEpochs: run.totalEpochs,
      status: 'running',
    };
    const slot: { joining: Promise<Membership | undefined>; membership: Membership | undefined } = {
      joining: Promise.resolve(undefined),
      membership: undefined,
    };
    slot.joining = joinScope(request.scope, {
      record,
      redisUrl: this.options.redisUrl,
      onMessage: request.onMessage ?? (() => {}),
      ...(request.leadership ? { leadership: request.leadership } : {}),
      warn: (line) => this.logger.warn(this.redact(`${line} (${this.service})`)),
    }).then(
      (membership) => {
        slot.membership = membership;
        return membership;
      },
      (error: unknown) => {
        this.logger.warn(
          this.redact(
            `epochcast ${this.service}: could not coordinate with other runs (${errorMessage(error)}); this run paces its own sends`,
          ),
        );
        return undefined;
      },
    );
    this.scope = slot;
  }

  /** Whether `event` is sent by this notifier, given `on`, the plugin's default and the rank. */
  wants(event: NotifyEvent): boolean {
    if (!this.enabled) return false;
    if (rank() > 0 && event !== 'error') return false;
    return (this.options.on ?? this.defaultEvents).includes(event);
  }

  // ---- hooks: they only enqueue ----------------------------------------------------------

  override async onTrainBegin(state: TrainingState): Promise<void> {
    if (!this.enabled || state.mode === 'lrFind') return;
    this.abort = new AbortController();
    this.report = { delivered: [], failed: [], coalesced: 0 };
    this.epochFailureLogged = false;
    this.epochMessagesMuted = false;
    this.lastEpochQueuedAt = Number.NEGATIVE_INFINITY;
    const run = runInfo(state, this.options.runName);
    if (this.verify) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), this.options.timeoutMs);
      try {
        await this.verify({ signal: controller.signal, attempt: 1 });
      } catch (error) {
        throw new PermanentError(`${this.service}: ${this.redact(errorMessage(error))}`);
      } finally {
        clearTimeout(timer);
      }
    }
    this.run = run;
    // Other ranks of a distributed job only ever send their crash: they share nothing.
    const request = rank() === 0 ? this.coordination?.(state) : undefined;
    if (request) this.joinShared(request, run);
    if (this.options.handleSignals)
      holdSignals(this, (signal) => state.learner.stop(`interrupted by ${signal}`, 'interrupted'), this.options.flushTimeoutMs);
    if (this.wants('start')) this.enqueue(this.notification('start', state));
  }

  override onEpochEnd(state: TrainingState): void {
    if (!this.run || state.mode === 'lrFind') return;
    this.scope?.membership?.update(progressOf(state));
    if (this.epochMessagesMuted || !this.wants('epoch')) return;
    if ((state.epoch + 1) % this.options.every !== 0) return;
    this.enqueue(this.notification('epoch', state));
  }

  override async onTrainEnd(state: TrainingState): Promise<void> {
    if (!this.run || state.mode === 'lrFind') return;
    // The fit is over: the others see it, and a leader's duties (polling for commands) pass on now
    // rather than after the last messages, which still share the budget until the run leaves.
    const membership = this.scope?.membership;
    membership?.update({ status: state.status });
    membership?.resign();
    try {
      const event: NotifyEvent = state.status === 'failed' ? 'error' : state.status === 'interrupted' ? 'interrupt' : 'end';
      if (this.wants(event)) this.enqueue(this.notification(event, state));
      // Whatever is not delivered now has been reported, a warning line per message, by fail().
      await this.flush(this.options.flushTimeoutMs);
    } finally {
      await this.leaveScope();
      if (this.deferred) clearTimeout(this.deferred.timer);
      this.deferred = undefined;
      this.run = undefined;
      releaseSignals(this);
    }
  }

  /** Leaves the shared scope after the last message (bounded: a dead engine must not hold up the end). */
  private async leaveScope(): Promise<void> {
    const scope = this.scope;
    this.scope = undefined;
    if (!scope) return;
    const membership = await settledWithin(scope.joining, 3000);
    await settledWithin(membership?.leave().catch(() => {}) ?? Promise.resolve(), 3000);
  }

  /**
   * Waits until every queued message is delivered or given up on, at most `timeoutMs`; what is
   * still queued then is abandoned (and listed in the report). Never throws.
   */
  async flush(timeoutMs = this.options.flushTimeoutMs): Promise<DeliveryReport> {
    const started = performance.now();
    const waitedBefore = this.sharedSlotWaitedMs();
    let deadline = started + timeoutMs;
    while (this.worker) {
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, Math.max(0, deadline - performance.now()));
      });
      await Promise.race([this.worker, bound]);
      clearTimeout(timer);
      if (!this.worker) break;
      // Waiting for our turn behind the other runs on the account is no failure of the service:
      // that time does not count against the bound (up to SHARED_WAIT_GRACE_MS more).
      const extended = started + timeoutMs + Math.min(this.sharedSlotWaitedMs() - waitedBefore, SHARED_WAIT_GRACE_MS);
      if (extended > deadline + 1) {
        deadline = extended;
        continue;
      }
      this.abort.abort(new TransientError(`flush bound of ${timeoutMs} ms reached`));
      for (const job of this.queue.splice(0)) this.fail(job, `not sent within the flush bound of ${timeoutMs} ms`);
      await this.worker;
    }
    return this.report;
  }

  /** Time spent waiting for slots on the shared budget so far, the wait in progress included. */
  private sharedSlotWaitedMs(): number {
    const current = this.sharedSlotWaitSince === undefined ? 0 : performance.now() - this.sharedSlotWaitSince;
    return this.sharedSlotWaited + current;
  }

  /**
   * Sends a notification built elsewhere (the CLI's `run`, `notifyRun`) through the same queue,
   * retries and redaction. Resolves when it is delivered or given up on.
   */
  async notify(notification: Notification, timeoutMs = this.options.flushTimeoutMs): Promise<DeliveryReport> {
    if (!this.wants(notification.event)) return this.report;
    // A flush that timed out aborted the queue's signal; a new message needs a live one.
    if (this.abort.signal.aborted && !this.worker) this.abort = new AbortController();
    this.enqueue(redactNotification(notification, (t) => this.redact(t)));
    return this.flush(timeoutMs);
  }

  // ---- delivery ------------------------------------------------------------------------------

  private enqueue(notification: Notification): void {
    if (notification.event === 'epoch') {
      const now = performance.now();
      const pending = this.queue.findIndex((j) => j.notification.event === 'epoch');
      if (pending >= 0) {
        this.queue[pending] = { notification };
        this.report.coalesced += 1;
        return;
      }
      if (now - this.lastEpochQueuedAt < this.options.minIntervalMs) {
        this.defer(notification, this.lastEpochQueuedAt + this.options.minIntervalMs - now);
        return;
      }
      this.lastEpochQueuedAt = now;
    } else if (TERMINAL.has(notification.event)) {
      // The last word carries the whole table: epoch updates still waiting are superseded.
      if (this.deferred) {
        clearTimeout(this.deferred.timer);
        this.deferred = undefined;
        this.report.coalesced += 1;
      }
      const before = this.queue.length;
      this.queue = this.queue.filter((j) => j.notification.event !== 'epoch');
      this.report.coalesced += before - this.queue.length;
    }
    this.queue.push({ notification });
    this.worker ??= this.drain().finally(() => {
      this.worker = undefined;
    });
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

  private async drain(): Promise<void> {
    for (let job = this.queue.shift(); job; job = this.queue.shift()) await this.deliver(job);
  }

  private async deliver(job: Job): Promise<void> {
    const { notification } = job;
    const signal = this.abort.signal;
    try {
      await pRetry(
        async (attempt) => {
          await this.spaceSends(signal);
          await withTimeout(
            this.options.timeoutMs,
            signal,
            (attemptSignal) => this.send(notification, { signal: attemptSignal, attempt }),
            (control) => {
              this.attemptTimer = control;
            },
          );
        },
        {
          retries: this.options.retries,
          minTimeout: 500,
          factor: 2,
          maxTimeout: 30_000,
          randomize: true,
          // Rate-limit waits use up no retry, so a service that answers 429 forever needs a bound of its own.
          maxRetryTime: 10 * 60_000,
          signal,
          onFailedAttempt: async ({ error }) => {
            if (error instanceof RateLimitError) await sleep(error.retryAfterMs, signal);
          },
          // A rate-limit wait is the service's pacing, not a failure: it does not use up a retry.
          shouldConsumeRetry: ({ error }) => !(error instanceof RateLimitError),
          shouldRetry: ({ error }) => !(error instanceof PermanentError),
        },
      );
      this.report.delivered.push(notification.event);
      if (notification.event === 'epoch') this.epochFailureLogged = false;
    } catch (error) {
      const reason = signal.aborted ? errorMessage(signal.reason) : errorMessage(error);
      this.fail(job, error instanceof PermanentError ? `refused: ${reason} (not retried)` : reason);
    }
  }

  private fail(job: Job, reason: string): void {
    const event = job.notification.event;
    const redacted = this.redact(reason);
    this.report.failed.push({ event, reason: redacted });
    if (event === 'epoch') {
      // One line per outage, not one per epoch: the next success re-arms it.
      if (this.epochFailureLogged) return;
      this.epochFailureLogged = true;
      this.logger.warn(
        this.redact(
          `epochcast ${this.service}: could not deliver an epoch message: ${redacted} (training goes on; further epoch failures are not logged until one gets through)`,
        ),
      );
      return;
    }
    this.logger.warn(this.redact(`epochcast ${this.service}: could not deliver the ${event} message: ${redacted}`));
  }

  /**
   * Waits for this request's turn, then counts it: `limits.minSendIntervalMs` after the previous
   * request of this run or, once the run has joined the others on its account (`coordinate`), of
   * any of them. The base calls it before every attempt; a plugin whose `send` makes several
   * requests (a text, then a photo) calls it before each further one, and the wait does not count
   * against that request's `timeoutMs`.
   */
  protected async spaceSends(signal: AbortSignal): Promise<void> {
    const gap = this.limits.minSendIntervalMs ?? 0;
    this.attemptTimer?.(false);
    // The first send of a fit may come before the join completes: it waits (briefly) to share the budget.
    const shared = this.scope && (this.scope.membership ?? (await settledWithin(this.scope.joining, 5000)));
    const ownWait = this.lastSendAt + gap - performance.now();
    if (!(gap > 0 && shared && (await this.waitForSharedSlot(shared, gap, signal)))) {
      if (ownWait > 0) await sleep(ownWait, signal);
    }
    this.lastSendAt = performance.now();
    this.attemptTimer?.(true);
  }

  /**
   * Waits for this run's slot on the budget shared with the other runs on the account. A run whose
   * event loop is busy may wake a little late into its slot; booking again would waste the slot and
   * send it to the back of the queue, which under load stretches every run's wait. False when the
   * budget is out of reach: the caller paces itself.
   */
  private async waitForSharedSlot(shared: Membership, gap: number, signal: AbortSignal): Promise<boolean> {
    let wait: number;
    try {
      wait = await shared.reserve(gap);
    } catch {
      return false;
    }
    if (wait > 0) {
      this.sharedSlotWaitSince = performance.now();
      try {
        await sleep(wait, signal);
      } finally {
        this.sharedSlotWaited += performance.now() - this.sharedSlotWaitSince;
        this.sharedSlotWaitSince = undefined;
      }
    }
    return true;
  }

  private notification(event: NotifyEvent, state: TrainingState): Notification {
    const run = this.run as RunInfo;
    const history = historySnapshot(state.learner.recorder.history);
    const n: Notification = {
      event,
      run,
      stats: history.at(-1),
      history,
      metricNames: [...state.learner.metricNames],
      durationMs: Date.now() - run.startedAt,
      status: state.status,
    };
    const signal = receivedSignal();
    if (state.stopReason !== undefined) n.stopReason = state.stopReason;
    else if (event === 'interrupt' && signal) n.stopReason = `interrupted by ${signal}`;
    if (state.error)
      n.error = { name: state.error.name, message: state.error.message, ...(state.error.stack ? { stack: state.error.stack } : {}) };
    if (event === 'end' && this.options.plot && this.limits.images && state.learner.recorder.losses.length > 0)
      n.plot = state.learner.recorder.plotLosses();
    return redactNotification(n, (t) => this.redact(t));
  }
}

function redactNotification(n: Notification, redact: (text: string) => string): Notification {
  const out: Notification = { ...n, run: { ...n.run, name: redact(n.run.name) } };
  if (n.stopReason !== undefined) out.stopReason = redact(n.stopReason);
  if (n.error)
    out.error = {
      name: redact(n.error.name),
      message: redact(n.error.message),
      ...(n.error.stack ? { stack: redact(n.error.stack) } : {}),
    };
  return out;
}

// The hooks run on the training loop: every notifier of a fit shares one copy of the history per
// finished epoch rather than each copying the O(epochs) array. The Recorder starts a new array
// each fit, and its length tells whether an epoch was added since the copy.
const historySnapshots = new WeakMap<readonly EpochStats[], EpochStats[]>();

function historySnapshot(history: readonly EpochStats[]): EpochStats[] {
  const cached = historySnapshots.get(history);
  if (cached && cached.length === history.length) return cached;
  const copy = [...history];
  historySnapshots.set(history, copy);
  return copy;
}

// Every notifier of one fit names it with the same id, so Telegram, Slack and e-mail agree.
const runIds = new WeakMap<object, { startedAt: number; id: string }>();

function sharedRunId(state: TrainingState): string {
  const known = runIds.get(state.learner);
  if (known && known.startedAt === state.startedAt) return known.id;
  const id = randomBytes(4).toString('hex');
  runIds.set(state.learner, { startedAt: state.startedAt, id });
  return id;
}

/** The process's rank in a distributed job: `RANK`, else `LOCAL_RANK`, else 0. */
export function rank(): number {
  const value = Number(process.env.RANK ?? process.env.LOCAL_RANK ?? 0);
  return Number.isInteger(value) && value > 0 ? value : 0;
}

function runInfo(state: TrainingState, runName: string | undefined): RunInfo {
  const script = process.argv[1] ? path.basename(process.argv[1]).replace(/\.[cm]?[jt]s$/, '') : '';
  const r = rank();
  const info: RunInfo = {
    name: runName ?? (process.env.EPOCHCAST_RUN_NAME || script || 'run'),
    id: sharedRunId(state),
    host: r > 0 ? `${hostname()} rank ${r}` : hostname(),
    rank: r,
    startedAt: state.startedAt,
    totalEpochs: state.totalEpochs,
    schedule: state.schedule,
    backend: tf.getBackend(),
  };
  try {
    info.params = state.learner.model.countParams();
  } catch {
    // A model that is not built yet has no parameter count; the messages simply leave it out.
  }
  return info;
}

/**
 * Runs one attempt, settled by the first of: the attempt itself, its time bound, or the outer
 * abort (the flush bound) — so a plugin that ignores its signal still cannot hold up the end.
 */
async function withTimeout<T>(
  ms: number,
  outer: AbortSignal,
  run: (signal: AbortSignal) => Promise<T>,
  exposeControl: (control: ((running: boolean) => void) | undefined) => void,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onOuterAbort: (() => void) | undefined;
  const bounds = new Promise<never>((_, reject) => {
    const arm = (running: boolean) => {
      clearTimeout(timer);
      if (!running) return;
      timer = setTimeout(() => {
        const error = new TransientError(`no answer within ${ms} ms`);
        controller.abort(error);
        reject(error);
      }, ms);
    };
    arm(true);
    exposeControl(arm);
    onOuterAbort = () => {
      controller.abort(outer.reason);
      reject(outer.reason);
    };
    if (outer.aborted) onOuterAbort();
    else outer.addEventListener('abort', onOuterAbort, { once: true });
  });
  try {
    return await Promise.race([run(controller.signal), bounds]);
  } finally {
    exposeControl(undefined);
    clearTimeout(timer);
    if (onOuterAbort) outer.removeEventListener('abort', onOuterAbort);
  }
}

async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

/** What the other runs of a scope see of this one after an epoch: its count and its main metric. */
function progressOf(state: TrainingState): Partial<RunRecord> {
  const stats = state.learner.recorder.history.at(-1);
  if (!stats) return { epoch: state.epoch + 1 };
  const name = state.learner.metricNames[0];
  const value = name !== undefined ? stats.metrics[name] : undefined;
  const metric =
    name !== undefined && value !== undefined && Number.isFinite(value)
      ? { name, value }
      : Number.isFinite(stats.validLoss)
        ? { name: 'valid_loss', value: stats.validLoss }
        : { name: 'train_loss', value: stats.trainLoss };
  return { epoch: stats.epoch + 1, metric };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

function positive(where: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value))
    throw new ConfigError(`${where}: ${name} must be a finite number > 0; received ${describeValue(value)}.`);
  return value;
}

function nonNegative(where: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value))
    throw new ConfigError(`${where}: ${name} must be a finite number >= 0; received ${describeValue(value)}.`);
  return value;
}

function positiveInteger(where: string, name: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 1)
    throw new ConfigError(`${where}: ${name} must be an integer >= 1; received ${describeValue(value)}.`);
  return value as number;
}

function nonNegativeInteger(where: string, name: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 0)
    throw new ConfigError(`${where}: ${name} must be an integer >= 0; received ${describeValue(value)}.`);
  return value as number;
}
