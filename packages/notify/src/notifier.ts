import { type InspectOptionsStylized, inspect } from 'node:util';
import type { Membership } from '@epochcast/coordination';
import { Callback, preloadPlotting, type TrainingHost, type TrainingState } from '@epochcast/core';
import { type AlertOptions, checkAlert } from './alert.js';
import { errorMessage, settledWithin, withTimeout } from './bounds.js';
import { DeliveryQueue, type DeliveryReport, type FirstAttempt } from './delivery.js';
import { ConfigRejectedError, PermanentError, RateLimitError, TransientError } from './errors.js';
import { type FitSession, fitSession } from './fit-session.js';
import { NOTIFY_EVENTS, type Notification, type NotifyEvent, type RunInfo } from './notification.js';
import { type NotifierOptions, type ResolvedNotifierOptions, resolveNotifierOptions } from './options.js';
import { type ScopeRequest, SendPacer, SharedAccount } from './pacing.js';
import { NotifierProxy } from './proxy-fetch.js';
import { fitRunInfo, historySnapshot, jobRunInfo, progressOf, rank } from './run-info.js';
import { redactNotification, redactSecrets, registerSecret, urlCredentials } from './secret-registry.js';
import { createSendContext, type SendContext } from './send-context.js';
import { holdSignals, receivedSignal, releaseSignals } from './signals.js';

/** What a service accepts. The base sizes messages (`context.messages`) and paces requests to it. */
export interface NotifierLimits {
  /** Longest message text the service accepts (Telegram 4096, Slack's section 3000, Discord 2000). */
  maxTextLength: number;
  /** Whether the service can show an image: end messages carry the loss plot only then. */
  images: boolean;
  /** Least time between two requests to the service (its rate limit), in ms, for every run on the account together. Default 0. */
  minSendIntervalMs?: number;
}

/** What a plugin's `verify` gets: a signal aborted when the check runs out of time (`timeoutMs`). */
export interface VerifyContext {
  signal: AbortSignal;
}

/** After `timeoutMs`, how long a check may take to say in its own words what did not answer. */
const VERIFY_GRACE_MS = 250;
/** How long the start message may wait for its turn on a shared budget while it is the configuration check. */
const START_TURN_WAIT_MS = 2000;

/**
 * The base of every notifier plugin. A plugin declares `service` and `limits` and implements
 * `send()`; the base does the rest, the same for all: which events to send, a background queue
 * (the training loop never waits on the network), coalescing of epoch messages, retries with
 * backoff, rate-limit waits, pacing shared with the other runs on the account, a bounded flush at
 * the end (every notifier of a fit side by side), the configuration check before the first epoch,
 * rank gating, SIGINT/SIGTERM, and redaction of secrets: the plugin registers its own in the
 * process's registry, and every notifier redacts every service's from all it sends, logs or throws.
 * Printing a notifier (`console.log`, `util.inspect`, `JSON.stringify`) shows only its class,
 * service and whether it is enabled: a plugin's fields, clients and options never.
 */
export abstract class Notifier extends Callback {
  override order = 100;
  /** Names the service in warnings, e.g. `telegram`. */
  abstract readonly service: string;
  abstract readonly limits: NotifierLimits;
  /** The events sent when the user does not say (`on`). */
  protected defaultEvents: readonly NotifyEvent[] = NOTIFY_EVENTS;
  /** What `verify()` checks, as its warning names it when the service cannot be reached: `could not check the bot token (…)`. */
  protected verifies = 'the configuration';
  /**
   * For a service that can only be checked by posting (a Slack channel): the start message is the
   * check, and its refusal (ConfigRejectedError) fails the run before its first epoch.
   */
  protected checksWithStartMessage = false;
  /** Epoch messages muted (Telegram's /quiet); the run still reports its progress to the other runs. */
  protected epochMessagesMuted = false;

  readonly enabled: boolean;
  protected readonly options: Omit<ResolvedNotifierOptions, 'redisUrl' | 'proxy'>;
  /** May carry a password: kept out of `options`, which a plugin could print. */
  readonly #redisUrl: string | undefined;
  /** The proxy (option or environment) of `httpFetch`; may carry a password, like the Redis URL. */
  readonly #proxy: NotifierProxy;
  private readonly delivery: DeliveryQueue;
  private readonly pacer = new SendPacer();
  /** This run's place among the runs on the same account, from the start of a fit until it left (it holds the Redis URL). */
  #account: SharedAccount | undefined;
  private session: FitSession | undefined;
  private run: RunInfo | undefined;
  /** The learner of the fit under way, whose live state an alert reports; set with `run`. */
  #fitHost: TrainingHost | undefined;

  constructor(options: NotifierOptions = {}) {
    super();
    const { redisUrl, proxy, ...resolved } = resolveNotifierOptions(new.target.name, options);
    this.options = resolved;
    this.#redisUrl = redisUrl;
    this.#proxy = new NotifierProxy(new.target.name, proxy, (text) => this.warn(text));
    // Its password only: the rest of a Redis URL names a host, shown in coordination's warnings.
    registerSecret(...urlCredentials(redisUrl));
    this.enabled = this.options.enabled;
    this.delivery = new DeliveryQueue(this.options, {
      // Redacted as it leaves, against the registry as it is then: a secret registered after the
      // message was queued (another notifier built meanwhile) is redacted too.
      send: (attempt) => {
        const n = redactNotification(attempt.notification);
        const context = createSendContext(attempt, n, {
          limits: this.limits,
          warn: (text) => this.warn(text),
          pace: (signal) => this.pacer.wait(this.limits.minSendIntervalMs ?? 0, this.#account, signal),
        });
        return this.#proxy.attempt(() => this.send(n, context));
      },
      pace: (signal) => this.pacer.wait(this.limits.minSendIntervalMs ?? 0, this.#account, signal),
      warn: (text) => this.warn(text),
      redact: (text) => this.redact(text),
      tellProxyFailure: (error) => this.#proxy.tell(error),
    });
  }

  /**
   * The `fetch` for every HTTP request of the plugin (give it to the service's client): through the
   * user's proxy (see `proxyFetch`), the base warning once when it fails. Read it in the constructor
   * (`readonly #fetch = this.httpFetch;`): a malformed proxy variable then fails there.
   */
  protected get httpFetch(): typeof fetch {
    return this.#proxy.fetch;
  }

  /** Delivers one message. Throw RateLimitError, PermanentError (ConfigRejectedError) or TransientError (or any error: retried). */
  protected abstract send(notification: Notification, context: SendContext): Promise<void>;

  /**
   * Checks the configuration against the service before the first epoch (a bad token, an unknown
   * chat). Throw ConfigRejectedError (or PermanentError) and the run fails before it starts, without
   * the secret; throw TransientError (unreachable, 5xx) or let `timeoutMs` pass and training goes on
   * after one warning — the queue retries each message anyway.
   */
  protected verify?(context: VerifyContext): Promise<void>;

  /**
   * Override to join the other runs on the same account (a bot token, a channel): return the scope
   * that names the account (hash tokens into it with `scopeName`) and what the plugin wants of the
   * others. Then the sends of all those runs together keep to `limits.minSendIntervalMs`, listings
   * see this run's progress, and the plugin may be elected leader or be sent messages. The base
   * calls it in `onTrainBegin` before the start message (rank 0 only, never in lrFind), joins in the
   * background, and leaves after the last message of the fit.
   */
  protected coordination?(state: TrainingState): ScopeRequest | undefined;

  /** Called at the end of a fit before its last message is queued (e.g. to stop listening for commands). */
  protected onFitEnding?(state: TrainingState): void | Promise<void>;

  /** Called once the fit's last message is out (or given up on) and the run has left its scope. */
  protected onFitEnded?(): void;

  /**
   * Declares values that must never appear in a log line, a warning or a message — of this
   * notifier or any other in the process (see `registerSecret` of @epochcast/notify for the forms
   * recognised). Call it in the constructor, before anything can fail.
   */
  protected registerSecret(...values: (string | undefined)[]): void {
    registerSecret(...values);
  }

  /** `text` with every registered secret, of every service in the process, replaced by `***`. */
  redact(text: string): string {
    return redactSecrets(text);
  }

  /** What printing or serialising a notifier shows: never a secret, and no cycles. */
  toJSON(): { notifier: string; service: string; enabled: boolean } {
    return { notifier: this.constructor.name, service: this.service, enabled: this.enabled };
  }

  [inspect.custom](_depth: number, options: InspectOptionsStylized, show: typeof inspect): string {
    const { notifier, ...rest } = this.toJSON();
    return `${notifier} ${show(rest, options)}`;
  }

  /** One warning line, `epochcast <service>: <text>`, secrets redacted, to the `logger`. */
  protected warn(text: string): void {
    this.options.logger.warn(this.redact(`epochcast ${this.service}: ${text}`));
  }

  /** The run being notified about (name, id, host…), from `onTrainBegin` until the fit's last message is out. */
  protected get currentRun(): RunInfo | undefined {
    return this.run;
  }

  /** This run's membership of its scope (see `coordination`): resolves once joined (undefined when it could not join). */
  protected get scopeMembership(): Promise<Membership | undefined> | undefined {
    return this.#account?.joined;
  }

  /** What happened to the messages of the latest fit (or of `notify`). */
  get report(): DeliveryReport {
    return this.delivery.report;
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
    this.delivery.reset();
    this.epochMessagesMuted = false;
    // The end's loss plot would otherwise load the plotting libraries synchronously at the end of
    // the fit, blocking the event loop while every notifier (and, in a sweep, the runs sharing the
    // account) is busy: load them now, beside the check.
    const plotting = this.options.plot && this.limits.images && this.wants('end') ? preloadPlotting() : undefined;
    await this.verifyBeforeFit();
    await plotting;
    const session = fitSession(state);
    session.join(this);
    this.session = session;
    this.run = fitRunInfo(state, this.options.runName, session.runId);
    // The learner keeps the name in its checkpoints, so a resumed run is called the same.
    state.learner.noteRunName?.(this.run.name);
    this.#fitHost = state.learner;
    // Other ranks of a distributed job only ever send their crash: they share nothing.
    const request = rank() === 0 ? this.coordination?.(state) : undefined;
    if (request)
      this.#account = new SharedAccount(request, this.run, this.#redisUrl, (line) =>
        this.options.logger.warn(this.redact(`${line} (${this.service})`)),
      );
    if (this.options.handleSignals)
      holdSignals(this, (signal) => state.learner.stop(`interrupted by ${signal}`, 'interrupted'), this.options.flushTimeoutMs);
    if (!this.wants('start')) return;
    const first = this.delivery.enqueue(this.notification('start', state), this.checksWithStartMessage);
    if (first) await this.checkStartMessage(first);
  }

  override onEpochEnd(state: TrainingState): void {
    if (!this.run || state.mode === 'lrFind') return;
    this.#account?.membership?.update(progressOf(state));
    if (this.epochMessagesMuted || !this.wants('epoch')) return;
    if ((state.epoch + 1) % this.options.every !== 0) return;
    this.delivery.enqueue(this.notification('epoch', state));
  }

  /**
   * Queues the last message, built at the moment the fit ended (the same for every notifier of the
   * fit), and hands its delivery to the fit's session: the notifiers of a fit flush side by side,
   * and the last of them to get here waits for all.
   */
  override async onTrainEnd(state: TrainingState): Promise<void> {
    const session = this.session;
    if (!this.run || !session || state.mode === 'lrFind') return;
    await session.finish(this, this.finishFit(state, session.endMoment()));
  }

  /**
   * Waits until every queued message is delivered or given up on, at most `timeoutMs` (plus time
   * spent waiting for this run's turn behind other runs on the account); what is still queued then
   * is abandoned and listed in the report. Never throws.
   */
  flush(timeoutMs = this.options.flushTimeoutMs): Promise<DeliveryReport> {
    return this.delivery.flush(timeoutMs, () => this.pacer.sharedWaitMs());
  }

  /**
   * Sends an alert — `notifier.alert('loss is NaN', { level: 'critical' })` — loud where the service
   * has loud and quiet (`info` is quiet, `warning`, the default, and `critical` are loud). Only
   * queues it and returns: the training loop never waits. During a fit it names the fit's run and
   * carries its epochs so far, as an epoch message does; outside a fit it names this process as a
   * job (`runName`, started when the process did) and is delivered in the background: `flush()`
   * waits for it. Alerts are never coalesced or superseded by the end message; at most 20 wait at a
   * time, later ones are dropped with one warning line saying how many. The text is cut to 1000
   * characters and redacted like every other message.
   *
   * @throws ConfigError when `text` is not a non-empty string or `level` is unknown.
   */
  alert(text: string, options?: AlertOptions): void {
    const alert = checkAlert(`${this.constructor.name}.alert`, text, options);
    if (!this.wants('alert')) return;
    const host = this.#fitHost;
    if (this.run && host) {
      this.delivery.enqueue({ ...this.notification('alert', host.state), alert });
      return;
    }
    const run = processJobRun(this.options.runName);
    this.delivery.revive();
    this.delivery.enqueue({
      event: 'alert',
      run,
      history: [],
      metricNames: [],
      durationMs: Date.now() - run.startedAt,
      status: 'running',
      alert,
    });
  }

  /**
   * Sends a notification built elsewhere (`notifyRun`, the CLI's `run`) through the same queue,
   * retries and redaction. Resolves when it is delivered or given up on; never throws.
   */
  async notify(notification: Notification, timeoutMs = this.options.flushTimeoutMs): Promise<DeliveryReport> {
    if (!this.wants(notification.event)) return this.report;
    this.delivery.revive();
    this.delivery.enqueue(notification);
    return this.flush(timeoutMs);
  }

  /**
   * Asks the service now whether the configuration works — what `verify` checks before a fit's first
   * epoch — and rejects with the reason (redacted) when it does not, whatever kind of failure it is.
   * For `epochcast test`; resolves at once for a plugin with nothing to check.
   */
  async checkConfiguration(): Promise<void> {
    try {
      await this.#proxy.attempt(() => this.runVerify());
    } catch (error) {
      throw new Error(this.redact(errorMessage(error)));
    }
  }

  /** Releases what the plugin holds between fits (a pooled connection); the base holds nothing. */
  async close(): Promise<void> {}

  // ---- internals -------------------------------------------------------------------------

  /** `verify`, bounded by `timeoutMs` even when the plugin ignores its signal. */
  private async runVerify(): Promise<void> {
    const verify = this.verify?.bind(this);
    if (verify) await withTimeout(this.options.timeoutMs, new AbortController().signal, (signal) => verify({ signal }), VERIFY_GRACE_MS);
  }

  /** The verify policy: rejected → the run fails (without the secret); unreachable or slow → one warning. */
  private async verifyBeforeFit(): Promise<void> {
    try {
      await this.#proxy.attempt(() => this.runVerify());
    } catch (error) {
      // The proxy's refusal is no verdict on the configuration: the run goes on, told once.
      if (this.#proxy.tell(error)) return;
      if (error instanceof TransientError || error instanceof RateLimitError) {
        this.warn(`could not check ${this.verifies} (${errorMessage(error)}); training goes on`);
        return;
      }
      throw new PermanentError(`${this.service}: ${this.redact(errorMessage(error))}`);
    }
  }

  /** The start message as the configuration check: a short wait for its turn, then for its answer. */
  private async checkStartMessage(first: FirstAttempt): Promise<void> {
    const turn = START_TURN_WAIT_MS + (this.limits.minSendIntervalMs ?? 0);
    if (
      (await settledWithin(
        first.begun.then(() => true),
        turn,
      )) === undefined
    )
      return;
    const error = await settledWithin(first.settled, this.options.timeoutMs + 100);
    if (error instanceof ConfigRejectedError) throw new PermanentError(`${this.service}: ${this.redact(error.message)}`);
  }

  /** The last message of the fit, the wait for it and leaving the scope. Never rejects. */
  private async finishFit(state: TrainingState, endedAt: number): Promise<void> {
    try {
      await this.onFitEnding?.(state);
      // The fit is over: the others see it, and a leader's duties (polling for commands) pass on now
      // rather than after the last messages, which still share the budget until the run leaves.
      const membership = this.#account?.membership;
      membership?.update({ status: state.status });
      membership?.resign();
      const event: NotifyEvent = state.status === 'failed' ? 'error' : state.status === 'interrupted' ? 'interrupt' : 'end';
      if (this.wants(event)) this.delivery.enqueue(this.notification(event, state, endedAt));
      // Whatever is not delivered now has been reported, a warning line per message.
      await this.flush(this.options.flushTimeoutMs);
    } catch (error) {
      this.warn(`could not finish the run's messages: ${errorMessage(error)}`);
    } finally {
      await this.#account?.leave();
      this.#account = undefined;
      this.delivery.dropDeferred();
      this.run = undefined;
      this.#fitHost = undefined;
      this.session = undefined;
      releaseSignals(this);
      try {
        this.onFitEnded?.();
      } catch (error) {
        this.warn(`could not clean up after the run: ${errorMessage(error)}`);
      }
    }
  }

  private notification(event: NotifyEvent, state: TrainingState, at = Date.now()): Notification {
    const run = this.run as RunInfo;
    // A reported training (`epochcast run`) learns its planned epochs and maybe its name once running
    // (Keras prints `Epoch 1/10`), and says at the end how its command ended (`→ exit code 1`).
    if (state.totalEpochs !== run.totalEpochs) run.totalEpochs = state.totalEpochs;
    if (state.schedule !== run.schedule) run.schedule = state.schedule;
    const renamed = state.learner.runName;
    if (renamed !== undefined && renamed !== run.name) run.name = renamed;
    const history = historySnapshot(state.learner.recorder.history);
    const n: Notification = {
      event,
      run,
      stats: history.at(-1),
      history,
      metricNames: [...state.learner.metricNames],
      durationMs: at - run.startedAt,
      status: state.status,
    };
    const signal = receivedSignal();
    if (state.stopReason !== undefined) n.stopReason = state.stopReason;
    else if (event === 'interrupt' && signal) n.stopReason = `interrupted by ${signal}`;
    if (state.error)
      n.error = { name: state.error.name, message: state.error.message, ...(state.error.stack ? { stack: state.error.stack } : {}) };
    if (event === 'end' && this.options.plot && this.limits.images) {
      const plot = this.session?.lossPlot(state);
      if (plot) n.plot = plot;
    }
    // Redacted once, as it leaves the queue (the delivery's send): not here, on the training's path.
    return n;
  }
}

/** The job an alert outside a fit names, by run name: one per process, so its alerts share an id. */
const processJobs = new Map<string, RunInfo>();

/** This process as a job: named by `runName` (else as a job is), started when the process did. */
function processJobRun(runName: string | undefined): RunInfo {
  const key = runName ?? '';
  let run = processJobs.get(key);
  if (!run) {
    run = { ...jobRunInfo(runName === undefined ? {} : { name: runName }), startedAt: Math.round(performance.timeOrigin) };
    processJobs.set(key, run);
  }
  return run;
}
