import type * as tf from '@tensorflow/tfjs';
import { type Callback, type EventName, sortByOrder } from './callback.js';
import { HookDispatcher } from './dispatch.js';
import { CallbackError, CancelBatchError, CancelEpochError, CancelFitError, ConfigError, describeValue, toError } from './errors.js';
import type { HyperParams } from './optimizers.js';
import { Recorder } from './recorder.js';
import { type EpochStats, LiveTrainingState, type StopRequest, type TrainingHost, type TrainingState } from './state.js';

/** Options of {@link ReportedTraining}. */
export interface ReportedTrainingOptions {
  /** What runs, shown where a Learner run shows its lr schedule: e.g. `$ python train.py`. Default `reported training`. */
  schedule?: string;
  /**
   * Called once when the training is asked to stop — by `stop()` (Telegram's /stop), or by a callback
   * throwing `CancelFitError` (EarlyStopping) — to stop it where it runs. The reason is kept for `end()`.
   */
  onStop?: (request: StopRequest) => void;
  /** What a stop does, in the words of a question asking for one. Default `stop it`. */
  stopAction?: string;
  /** Lines a status reply shows below the epoch table (e.g. the command's last output lines). */
  statusLines?: () => readonly string[];
  /**
   * Most training-loss points kept for the loss plot. Beyond it, neighbouring points are averaged
   * in pairs and later ones arrive averaged in twos (then fours…): memory stays bounded over any
   * number of reported losses, and the plot keeps the whole run's shape. Default 10,000.
   */
  maxLossPoints?: number;
  /** A hook that threw (the training runs elsewhere and goes on). Default: `console.warn`. */
  onCallbackError?: (error: CallbackError) => void;
}

/** One finished epoch, as reported. Every field but the count is optional. */
export interface EpochReport {
  /** Finished epochs, counted from 1 (the 3rd epoch done → 3). Default: one more than the last. */
  epoch?: number;
  /** The planned number of epochs, when the report knows it. */
  totalEpochs?: number;
  /** The training loss. Default: the last loss given to `batch()` in this epoch, else NaN. Without any `batch()` in the epoch, it is the epoch's point of the loss plot. */
  trainLoss?: number;
  validLoss?: number;
  /** Every other number by name, e.g. `{ val_accuracy: 0.91 }`. */
  metrics?: Readonly<Record<string, number>>;
  lr?: number;
  /** Wall time of the epoch. Default: the time since the previous epoch (or the start) was reported. */
  timeMs?: number;
}

/** How a reported training ended. A stop asked for (`stop()`) wins over `status` and names the reason. */
export interface ReportedEnd {
  status: 'completed' | 'failed' | 'interrupted' | 'stopped';
  /** Why it stopped (status `stopped` or `interrupted`). */
  reason?: string;
  /** What failed; for a stopped or interrupted training, how it then ended. */
  error?: Error;
  /** How it ended, appended to the schedule the end message shows: `exit code 130` → `$ python train.py → exit code 130`. */
  outcome?: string;
}

const DEFAULT_MAX_LOSS_POINTS = 10_000;

/**
 * Runs epochcast callbacks — notifiers above all — for a training that runs elsewhere (another
 * process, another language) and reports its progress: `begin()`, then `batch(loss)` and
 * `epoch(report)` as they are read, then `end()`. Hooks see the same events and state as under a
 * Learner, with its own `Recorder` (the epoch table, the loss plot), so every notifier reports it
 * as it reports a Learner run. `epochcast run` drives one from a command's output.
 *
 * ```ts
 * const run = new ReportedTraining([new TelegramCallback()], { schedule: '$ python train.py', onStop: () => child.kill('SIGINT') });
 * await run.begin({ totalEpochs: 10 });
 * await run.epoch({ epoch: 1, trainLoss: 0.42, validLoss: 0.39, metrics: { val_accuracy: 0.88 } });
 * await run.end({ status: 'completed' });
 * ```
 *
 * What differs from a Learner: there is no model, optimizer or lr here (`model`, `optimizer`,
 * `hyperParams` and `setLr` throw ConfigError); a hook that throws after `begin()` is reported to
 * `onCallbackError` and the run goes on (the training is not ours to fail); `CancelEpochError` and
 * `CancelBatchError` change nothing; `CancelFitError` asks for a stop (`onStop`).
 */
export class ReportedTraining implements TrainingHost {
  readonly recorder = new Recorder();
  readonly callbacks: readonly Callback[];
  /** What a stop does, in the words of a question asking for one. */
  readonly stopAction: string;
  /** The learning rate is the training program's own. */
  readonly lrSetElsewhere = true;
  private readonly s: LiveTrainingState;
  private readonly names: string[] = [];
  private hooks = new HookDispatcher([]);
  private sorted: readonly Callback[] = [];
  private readonly schedule: string;
  private readonly maxLossPoints: number;
  private readonly options: ReportedTrainingOptions;
  private phase: 'idle' | 'running' | 'ended' = 'idle';
  private name: string | undefined;
  private stopRequest: StopRequest | undefined;
  private finished = 0;
  private epochStartedAt = 0;
  private lastLoss = Number.NaN;
  private lossesThisEpoch = 0;
  private firstEpochMarked = false;
  /** Losses averaged into one plot point: `stride` of them, `pending` so far summing to `sum`. */
  private stride = 1;
  private pending = 0;
  private sum = 0;

  constructor(callbacks: readonly Callback[], options: ReportedTrainingOptions = {}) {
    if (!Array.isArray(callbacks))
      throw new ConfigError(`ReportedTraining: callbacks must be an array of epochcast callbacks; received ${describeValue(callbacks)}.`);
    this.callbacks = [...callbacks];
    this.options = options;
    this.schedule = options.schedule ?? 'reported training';
    this.stopAction = options.stopAction ?? 'stop it';
    const max = options.maxLossPoints ?? DEFAULT_MAX_LOSS_POINTS;
    if (!Number.isInteger(max) || max < 2)
      throw new ConfigError(`ReportedTraining: maxLossPoints must be an integer >= 2; received ${describeValue(max)}.`);
    this.maxLossPoints = max;
    this.s = new LiveTrainingState(this, { schedule: this.schedule, numBatches: Number.NaN });
  }

  // ---- TrainingHost ---------------------------------------------------------------------------

  get state(): TrainingState {
    return this.s;
  }

  /** Metric names in order of first report (validation ones first where the reader ordered them so). */
  get metricNames(): string[] {
    return this.names;
  }

  get lr(): number {
    return this.s.lr;
  }

  get mom(): number {
    return this.s.mom;
  }

  get model(): tf.LayersModel {
    throw noModel('model');
  }

  get optimizer(): tf.Optimizer {
    throw noModel('optimizer');
  }

  get hyperParams(): HyperParams {
    throw noModel('hyperParams');
  }

  setLr(_lr: number): void {
    throw new ConfigError('ReportedTraining: the learning rate is set by the program that trains, not from here.');
  }

  setMom(_mom: number): void {
    throw new ConfigError('ReportedTraining: momentum is set by the program that trains, not from here.');
  }

  /** Asks the training to stop (`onStop`, once); `end()` then reports this reason and status. */
  stop(reason = 'stopped', status: 'stopped' | 'interrupted' = 'stopped'): void {
    if (this.phase !== 'running' || this.stopRequest) return;
    this.stopRequest = { reason, status };
    try {
      this.options.onStop?.(this.stopRequest);
    } catch (error) {
      this.report(new CallbackError('onStop', 'stop', error));
    }
  }

  /** The run's name, once the training named it (`rename`); notifiers use it for the messages from then on. */
  get runName(): string | undefined {
    return this.name;
  }

  /** Names the run for the messages from now on (the start message has gone out already). */
  rename(name: string): void {
    const trimmed = typeof name === 'string' ? name.trim() : '';
    if (trimmed !== '') this.name = trimmed.slice(0, 200);
  }

  /** The stop asked for, if any. */
  get stopRequested(): StopRequest | undefined {
    return this.stopRequest;
  }

  /** Lines a status reply shows below the table (`statusLines`). */
  statusLines(): readonly string[] {
    try {
      return this.options.statusLines?.() ?? [];
    } catch {
      return [];
    }
  }

  // ---- what the training reports ----------------------------------------------------------------

  /**
   * The training has started: `onTrainBegin` (notifiers check their configuration and send the
   * start message). `totalEpochs` 0 or absent: not known yet. A hook that fails here fails the
   * report, as it would fail a Learner's fit: `onTrainEnd` runs (status `failed`) and the error is rethrown.
   */
  async begin(options: { totalEpochs?: number } = {}): Promise<void> {
    if (this.phase !== 'idle') throw new ConfigError('ReportedTraining.begin: called twice; use a new ReportedTraining for each training.');
    const total = options.totalEpochs ?? 0;
    if (!(Number.isInteger(total) && total >= 0))
      throw new ConfigError(`ReportedTraining.begin: totalEpochs must be a whole number >= 0; received ${describeValue(total)}.`);
    this.s.reset({ mode: 'fit', totalEpochs: total, numBatches: Number.NaN, schedule: this.schedule, lr: Number.NaN, mom: 0 });
    this.s.training = true;
    this.hooks = new HookDispatcher([this.recorder, ...this.callbacks]);
    this.sorted = sortByOrder([this.recorder, ...this.callbacks]);
    this.phase = 'running';
    this.epochStartedAt = Date.now();
    try {
      await this.hooks.emit('onTrainBegin', this.s);
      await this.hooks.emit('onEpochBegin', this.s);
    } catch (error) {
      if (error instanceof CancelFitError) return this.stop(error.reason, error.status);
      if (error instanceof CancelEpochError || error instanceof CancelBatchError) return;
      const failure = toError(error);
      await this.end({ status: 'failed', error: failure });
      throw failure;
    }
  }

  /**
   * The training shows its first sign of work (a bar drawn, `Epoch 1/10` printed): the first
   * epoch's time counts from here rather than from `begin()` — a script's imports and data loading
   * are not its first epoch. Only the first call before the first epoch counts.
   */
  markFirstEpochStart(): void {
    if (this.phase !== 'running' || this.finished > 0 || this.firstEpochMarked) return;
    this.firstEpochMarked = true;
    this.epochStartedAt = Date.now();
  }

  /** The planned number of epochs, learned after the start. */
  setTotalEpochs(total: number): void {
    if (this.phase !== 'running' || !(Number.isInteger(total) && total > 0)) return;
    this.s.totalEpochs = Math.max(total, this.finished);
  }

  /** A training loss (a batch's, or a running mean): a point of the loss plot. Non-finite ones count too (a NaN shows). */
  async batch(loss: number): Promise<void> {
    if (this.phase !== 'running' || typeof loss !== 'number') return;
    this.lossesThisEpoch += 1;
    this.lastLoss = loss;
    this.s.step += 1;
    this.sum += loss;
    this.pending += 1;
    if (this.pending < this.stride) return;
    const mean = this.sum / this.pending;
    this.sum = 0;
    this.pending = 0;
    Object.assign(this.s, { loss: mean, smoothLoss: mean, training: true });
    await this.emit('onBatchEnd');
    if (this.recorder.losses.length >= this.maxLossPoints) this.halveLossPoints();
  }

  /**
   * One finished epoch: `onEpochEnd` (notifiers send their epoch message). Resolves false, changing
   * nothing, for an epoch already reported (a count not above the last).
   */
  async epoch(report: EpochReport = {}): Promise<boolean> {
    if (this.phase !== 'running') return false;
    const count = report.epoch ?? this.finished + 1;
    if (!Number.isInteger(count) || count <= this.finished) return false;
    const s = this.s;
    // Output that shows only epochs (Keras at verbose 2, the fastai table) still gets a loss plot:
    // one point per epoch.
    if (this.lossesThisEpoch === 0 && typeof report.trainLoss === 'number') await this.batch(report.trainLoss);
    if (report.totalEpochs !== undefined) this.setTotalEpochs(report.totalEpochs);
    if (s.totalEpochs > 0 && s.totalEpochs < count) s.totalEpochs = count;
    const metrics: Record<string, number> = {};
    for (const [name, value] of Object.entries(report.metrics ?? {})) {
      if (typeof value !== 'number') continue;
      if (!this.names.includes(name)) this.names.push(name);
      metrics[name] = value;
    }
    const now = Date.now();
    const stats: EpochStats = {
      epoch: count - 1,
      totalEpochs: s.totalEpochs,
      trainLoss: report.trainLoss ?? this.lastLoss,
      validLoss: report.validLoss ?? Number.NaN,
      metrics,
      lr: report.lr ?? s.lr,
      timeMs: report.timeMs ?? now - this.epochStartedAt,
    };
    if (report.lr !== undefined) s.lr = report.lr;
    Object.assign(s, { epoch: count - 1, stats, training: false, batch: 0 });
    this.finished = count;
    this.epochStartedAt = now;
    this.lastLoss = Number.NaN;
    this.lossesThisEpoch = 0;
    await this.emit('onEpochEnd');
    if (this.phase === 'running' && (s.totalEpochs === 0 || count < s.totalEpochs)) {
      Object.assign(s, { epoch: count, training: true });
      await this.emit('onEpochBegin');
    }
    return true;
  }

  /** The training ended: `onTrainEnd` (notifiers send the end message and wait for it, bounded). */
  async end(end: ReportedEnd): Promise<void> {
    if (this.phase !== 'running') return;
    const s = this.s;
    const request = this.stopRequest;
    s.status = request ? request.status : end.status;
    s.stopReason = request ? request.reason : end.status === 'stopped' || end.status === 'interrupted' ? end.reason : undefined;
    // An error also tells how a stopped or interrupted command ended (`killed by SIGTERM`, its last line).
    s.error = end.error ?? (s.status === 'failed' ? new Error(end.reason ?? 'failed') : undefined);
    s.training = false;
    if (end.outcome) s.schedule = `${this.schedule} → ${end.outcome}`;
    this.phase = 'ended';
    const failure = await this.hooks.trainEnd(s);
    if (failure) this.report(failure);
  }

  // ---- internals ------------------------------------------------------------------------------

  /** Every hook of `event`, each in turn: one that throws is reported, and the others still run. */
  private async emit(event: EventName): Promise<void> {
    for (const cb of this.sorted) {
      if (typeof cb[event] !== 'function') continue;
      try {
        const pending = cb[event]?.(this.s);
        if (pending) await pending;
      } catch (error) {
        if (error instanceof CancelFitError) this.stop(error.reason, error.status);
        else if (!(error instanceof CancelEpochError || error instanceof CancelBatchError))
          this.report(new CallbackError(cb.name, event, error));
      }
    }
  }

  private report(error: CallbackError): void {
    if (this.options.onCallbackError) this.options.onCallbackError(error);
    else console.warn(`epochcast: ${error.message}; the reported training goes on`);
  }

  /** Neighbouring plot points averaged in pairs; from now on each point averages twice as many losses. */
  private halveLossPoints(): void {
    const r = this.recorder;
    const pairs = (values: number[]) => {
      const out: number[] = [];
      for (let i = 0; i + 1 < values.length; i += 2) out.push(((values[i] as number) + (values[i + 1] as number)) / 2);
      if (values.length % 2 === 1) out.push(values[values.length - 1] as number);
      return out;
    };
    r.losses = pairs(r.losses);
    r.rawLosses = pairs(r.rawLosses);
    r.lrs = pairs(r.lrs);
    r.moms = pairs(r.moms);
    r.epochEndSteps = r.epochEndSteps.map((step) => Math.ceil(step / 2));
    this.stride *= 2;
  }
}

function noModel(what: string): ConfigError {
  return new ConfigError(`ReportedTraining: there is no ${what} here: the training runs elsewhere and only reports its progress.`);
}
