import * as tf from '@tensorflow/tfjs';
import { Callback, type EventName } from './callback.js';
import { HookDispatcher } from './dispatch.js';
import { CancelBatchError, CancelEpochError, CancelFitError, ConfigError, describeValue, toError } from './errors.js';
import { EventLoopTurns } from './event-loop.js';
import { checkOneSetterEach } from './hyper-param-setters.js';
import { type HyperParams, hyperParams } from './optimizers.js';
import { checkYieldEveryMs } from './options.js';
import { Recorder } from './recorder.js';
import { SmoothenValue } from './smoothing.js';
import { LiveTrainingState, type StopRequest, type TrainingHost, type TrainingState } from './state.js';

export interface TfjsCallbackOptions {
  /**
   * Longest stretch of training, in ms, before the adapter yields to Node's event loop so timers,
   * sockets and signal handlers run (tfjs's `fit` only yields for its own `CustomCallback`s).
   * Default 50, as the Learner.
   */
  yieldEveryMs?: number;
}

/** What `state.schedule` says under model.fit: the lr is whatever the compiled optimizer has. */
const SCHEDULE = 'tfjs model.fit';

/** tfjs passes logs whose values are numbers or (kept) scalar tensors. */
type UnresolvedLogs = { [key: string]: number | tf.Tensor };

/**
 * A tfjs callback (`tf.Callback`) that runs epochcast callbacks — notifiers, CSVLogger,
 * EarlyStopping, … — under a plain `model.fit` / `model.fitDataset`, with its own `Recorder`
 * (`adapter.recorder.history`, `formatStats()`, the plots). Create it with `tfjsCallback()`.
 *
 * How the tfjs loop maps onto the epochcast events (the order is the Learner's):
 * - `onTrainBegin`, `onEpochBegin`, `onBatchBegin` fire when tfjs's do.
 * - tfjs runs forward, backward and the optimizer step in one call, so `onLossBegin`,
 *   `onBackwardBegin` and `onStepEnd` fire together after it, just before `onBatchEnd`; the
 *   state's `loss` is the batch loss and `smoothLoss` the fastai-smoothed one.
 * - tfjs validates inside the loop with no events: `onValidateBegin`/`onValidateEnd` fire just
 *   before `onEpochEnd` when the fit validates, with no validation batch events.
 * - `EpochStats`: `trainLoss` is the smoothed loss (as fastai), `validLoss` is `val_loss`, and
 *   `metrics` holds each compiled metric's validation value under tfjs's name (`acc`, `mse`, …);
 *   NaN without validation data.
 * - `CancelFitError` (or `state.learner.stop()`) sets `model.stopTraining`: tfjs finishes the
 *   current batch and ends the fit; no further events but `onTrainEnd` (status `stopped`).
 *   `CancelEpochError`/`CancelBatchError` skip the hooks of the rest of the epoch/batch, but tfjs
 *   cannot skip the work: those batches still train.
 * - A callback that throws anything else fails the fit: `onTrainEnd` runs (status `failed`) and
 *   `model.fit` rejects with the error.
 *
 * Limitation: when tfjs itself throws during a fit (a bad batch, a tfjs callback's error), tfjs
 * never calls `onTrainEnd`. Use `fitWithCallbacks` / `fitDatasetWithCallbacks`, or call
 * `await adapter.finish(error)` in your own `catch`, so `onTrainEnd` still reports the crash.
 *
 * tfjs uses an array of callbacks as is only if its first element is a `tf.Callback`/`tf.CustomCallback`;
 * wrap plain-object tfjs callbacks in `new tf.CustomCallback({...})` when mixing them with this one.
 */
export class TfjsCallbackAdapter extends tf.Callback {
  /** The Recorder of the latest fit: per-batch losses and lrs, per-epoch `history`. */
  readonly recorder = new Recorder();
  readonly callbacks: readonly Callback[];
  /** The stand-in passed as `state.learner`. */
  readonly host: TrainingHost;
  readonly yieldEveryMs: number;
  private readonly s: LiveTrainingState;
  private hooks = new HookDispatcher([]);
  private hp: HyperParams | undefined;
  private readonly smoother = new SmoothenValue(0.98);
  private names: string[] = [];
  private begun = false;
  private ended = false;
  /** Set once the fit is cancelled, stopped or failed: how it will end. */
  private outcome: { status: 'stopped' | 'interrupted' | 'failed'; reason?: string; error?: Error } | undefined;
  private stopRequest: StopRequest | undefined;
  private skipEpoch = false;
  private skipBatch = false;
  private epochStart = 0;
  private readonly turns: EventLoopTurns;

  constructor(callbacks: readonly Callback[], options: TfjsCallbackOptions = {}) {
    super();
    if (!Array.isArray(callbacks) || !callbacks.every((cb) => cb instanceof Callback))
      throw new ConfigError(
        `tfjsCallback: callbacks must be an array of epochcast callbacks (extending Callback from @epochcast/core), e.g. [new CSVLogger('log.csv')]; received ${describeValue(callbacks)}${Array.isArray(callbacks) ? ` containing ${describeValue(callbacks.find((cb) => !(cb instanceof Callback)))}` : ''}.`,
      );
    this.yieldEveryMs = checkYieldEveryMs('tfjsCallback', options?.yieldEveryMs ?? 50);
    this.turns = new EventLoopTurns(this.yieldEveryMs);
    this.callbacks = [...callbacks];
    // Two setters of one hyper-parameter (ParamSchedulers, ReduceLROnPlateau) would fight under
    // model.fit as under a Learner; the callbacks are fixed here, so they are checked here.
    const removal = (name: string) => `leave ${name} out of the callbacks given to tfjsCallback`;
    checkOneSetterEach({ where: 'tfjsCallback', given: [{ callbacks: this.callbacks, origin: 'given to tfjsCallback', removal }] });
    this.host = createHost(this);
    this.s = new LiveTrainingState(this.host, { schedule: SCHEDULE, numBatches: Number.NaN });
  }

  /** The live state, as hooks receive it. */
  get state(): TrainingState {
    return this.s;
  }

  /** Metric names of the current fit: tfjs's (`acc`, `mse`, …), without `loss`. */
  get metricNames(): readonly string[] {
    return this.names;
  }

  /** The lr and momentum of the model's optimizer (compiled models only), as `state.learner.hyperParams`. */
  get hyperParams(): HyperParams {
    if (!this.model?.optimizer)
      throw new ConfigError(
        'tfjsCallback: the optimizer is known only once model.fit has started with this callback (on a compiled model).',
      );
    this.hp ??= hyperParams(this.model.optimizer);
    return this.hp;
  }

  /** Sets the learning rate of the model's optimizer from the next step on (what `state.learner.setLr` does here). */
  setLr(lr: number): void {
    this.s.setLr('setLr', lr);
  }

  setMom(mom: number): void {
    this.s.setMom('setMom', mom);
  }

  /**
   * Asks the running fit to stop at the end of the current batch (sets `model.stopTraining`);
   * `onTrainEnd` then sees this status and reason. Does nothing when no fit is running.
   */
  stop(reason = 'stopped', status: 'stopped' | 'interrupted' = 'stopped'): void {
    if (!this.live) return;
    this.stopRequest = { reason, status };
    this.model.stopTraining = true;
  }

  /**
   * Runs `onTrainEnd` (status `failed`, with this error) if the fit began and tfjs could not end
   * it: call it from the `catch` around `model.fit`. Does nothing if `onTrainEnd` already ran, or
   * if the fit failed before it began (tfjs checks its inputs before `onTrainBegin`).
   */
  async finish(error?: unknown): Promise<void> {
    if (!this.begun || this.ended) return;
    if (error !== undefined && this.outcome?.status !== 'failed') this.outcome = { status: 'failed', error: toError(error) };
    await this.trainEnd(false);
  }

  // ---- tfjs hooks --------------------------------------------------------------------------

  override async onTrainBegin(): Promise<void> {
    this.prepare();
    await this.guard(() => this.emit('onTrainBegin'));
  }

  override async onEpochBegin(epoch: number): Promise<void> {
    if (!this.live) return;
    Object.assign(this.s, { epoch, batch: 0, training: true });
    this.skipEpoch = false;
    this.epochStart = performance.now();
    await this.guard(() => this.emit('onEpochBegin'));
  }

  override async onBatchBegin(batch: number): Promise<void> {
    if (!this.live || this.skipEpoch) return;
    Object.assign(this.s, { batch, training: true, lr: this.hp?.lr ?? this.s.lr, mom: this.hp?.mom ?? this.s.mom });
    this.skipBatch = false;
    await this.guard(() => this.emit('onBatchBegin'));
  }

  override async onBatchEnd(batch: number, logs?: UnresolvedLogs): Promise<void> {
    if (!this.live) return;
    const s = this.s;
    s.batch = batch;
    s.training = true;
    s.loss = await readLog(logs, 'loss');
    s.smoothLoss = this.smoother.add(s.loss);
    s.step += 1;
    if (!this.skipEpoch) {
      if (!this.skipBatch)
        await this.guard(async () => {
          await this.emit('onLossBegin');
          await this.emit('onBackwardBegin');
          await this.emit('onStepEnd');
        });
      if (this.live) await this.guard(() => this.emit('onBatchEnd'));
    }
    this.honourStopRequest();
    await this.turns.yieldIfDue();
  }

  override async onEpochEnd(epoch: number, logs?: UnresolvedLogs): Promise<void> {
    if (!this.live) return;
    const s = this.s;
    const validated = this.params?.doValidation === true;
    if (validated && !this.skipEpoch) {
      Object.assign(s, { training: false, batch: 0, loss: Number.NaN });
      await this.guard(() => this.emit('onValidateBegin'));
      if (this.live && !this.skipEpoch) await this.guard(() => this.emit('onValidateEnd'));
      if (!this.live) return;
    }
    const metrics: Record<string, number> = {};
    for (const name of this.names) metrics[name] = validated ? await readLog(logs, `val_${name}`) : Number.NaN;
    s.stats = {
      epoch,
      totalEpochs: s.totalEpochs,
      trainLoss: s.smoothLoss,
      validLoss: validated ? await readLog(logs, 'val_loss') : Number.NaN,
      metrics,
      lr: s.lr,
      timeMs: performance.now() - this.epochStart,
    };
    await this.guard(() => this.emit('onEpochEnd'));
    this.honourStopRequest();
  }

  override async onTrainEnd(): Promise<void> {
    if (!this.begun || this.ended) return;
    if (!this.outcome && this.model.stopTraining)
      this.outcome = { status: 'stopped', reason: 'model.stopTraining was set (by a tfjs callback)' };
    await this.trainEnd(true);
  }

  // ---- internals -----------------------------------------------------------------------------

  /** Between onTrainBegin and onTrainEnd, and not cancelled. */
  private get live(): boolean {
    return this.begun && !this.ended && !this.outcome;
  }

  private prepare(): void {
    const p = this.params ?? {};
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
    const epochs = num(p.epochs) ?? 1;
    const samples = num(p.samples);
    const batchSize = num(p.batchSize);
    const numBatches = num(p.steps) ?? (samples !== undefined && batchSize ? Math.ceil(samples / batchSize) : Number.NaN);
    this.names = (this.model.metricsNames ?? []).filter((n) => n !== 'loss');
    this.hp = undefined;
    try {
      this.hp = hyperParams(this.model.optimizer);
    } catch {
      // An optimizer without a learningRate field: lr reads NaN and setLr throws when called.
    }
    this.s.reset({
      mode: 'fit',
      totalEpochs: epochs,
      numBatches,
      schedule: SCHEDULE,
      lr: this.hp?.lr ?? Number.NaN,
      mom: this.hp?.mom ?? 0,
      firstEpoch: num(p.initialEpoch) ?? 0,
    });
    // A callback given twice runs once, as under the Learner.
    this.hooks = new HookDispatcher([...new Set([this.recorder, ...this.callbacks])]);
    this.smoother.reset();
    this.begun = true;
    this.ended = false;
    this.outcome = undefined;
    this.stopRequest = undefined;
    this.skipEpoch = false;
    this.skipBatch = false;
    this.turns.restart();
  }

  private emit(event: EventName): Promise<void> {
    return this.hooks.emit(event, this.s);
  }

  /** Runs hooks; turns cancellations into tfjs's stop flag, and failures into onTrainEnd + rethrow. */
  private async guard(run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (error) {
      if (error instanceof CancelFitError) this.cancel(error.reason, error.status);
      else if (error instanceof CancelEpochError) this.skipEpoch = true;
      else if (error instanceof CancelBatchError) this.skipBatch = true;
      else {
        const failure = toError(error);
        this.outcome = { status: 'failed', error: failure };
        this.model.stopTraining = true;
        await this.trainEnd(false);
        throw failure;
      }
    }
  }

  private cancel(reason: string, status: 'stopped' | 'interrupted'): void {
    this.outcome = { status, reason };
    this.model.stopTraining = true;
  }

  private honourStopRequest(): void {
    if (this.stopRequest && this.live) this.cancel(this.stopRequest.reason, this.stopRequest.status);
  }

  /** Every onTrainEnd hook runs even if one throws; the fit's own error wins over theirs. */
  private async trainEnd(throwHookError: boolean): Promise<void> {
    const s = this.s;
    const outcome = this.outcome;
    s.status = outcome?.status ?? 'completed';
    s.stopReason = outcome?.reason;
    s.error = outcome?.error;
    this.ended = true;
    const hookError = await this.hooks.trainEnd(s);
    this.begun = false;
    if (throwHookError && hookError) throw hookError;
  }
}

/**
 * Runs epochcast callbacks under a plain tfjs `model.fit` / `model.fitDataset`:
 *
 * ```ts
 * const adapter = tfjsCallback([new CSVLogger('log.csv'), new EarlyStopping({ patience: 2 })]);
 * await model.fit(x, y, { epochs: 10, validationSplit: 0.2, callbacks: [adapter] });
 * adapter.recorder.history; // EpochStats[]
 * ```
 *
 * See `TfjsCallbackAdapter` for how the events map, and `fitWithCallbacks` for a fit whose
 * `onTrainEnd` also runs when tfjs itself throws.
 */
export function tfjsCallback(callbacks: readonly Callback[], options?: TfjsCallbackOptions): TfjsCallbackAdapter {
  return new TfjsCallbackAdapter(callbacks, options);
}

async function readLog(logs: UnresolvedLogs | undefined, key: string): Promise<number> {
  const value = logs?.[key];
  if (typeof value === 'number') return value;
  if (value instanceof tf.Tensor) return (await value.data())[0] ?? Number.NaN;
  return Number.NaN;
}

function createHost(adapter: TfjsCallbackAdapter): TrainingHost {
  const host: TrainingHost = {
    get model() {
      return adapter.model;
    },
    recorder: adapter.recorder,
    get metricNames() {
      return [...adapter.metricNames];
    },
    get lr() {
      return adapter.state.lr;
    },
    get mom() {
      return adapter.state.mom;
    },
    get hyperParams() {
      return adapter.hyperParams;
    },
    get optimizer() {
      return adapter.model.optimizer;
    },
    get state() {
      return adapter.state;
    },
    get callbacks() {
      return adapter.callbacks;
    },
    setLr: (lr) => adapter.setLr(lr),
    setMom: (mom) => adapter.setMom(mom),
    stop: (reason, status) => adapter.stop(reason, status),
  };
  return host;
}
