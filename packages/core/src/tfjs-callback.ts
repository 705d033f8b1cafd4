import * as tf from '@tensorflow/tfjs';
import { Callback, type EventName } from './callback.js';
import { HookDispatcher } from './dispatch.js';
import { CancelBatchError, CancelEpochError, CancelFitError, ConfigError, describeValue } from './errors.js';
import { checkLr, checkMom, type HyperParams, hyperParams } from './optimizers.js';
import { Recorder } from './recorder.js';
import { SmoothenValue } from './smoothing.js';
import type { EpochStats, FitMode, TrainingHost, TrainingState, TrainStatus } from './state.js';

export interface TfjsCallbackOptions {
  /**
   * Longest stretch of training, in ms, before the adapter yields to Node's event loop so timers,
   * sockets and signal handlers run (tfjs's `fit` only yields for its own `CustomCallback`s).
   * Default 50, as the Learner.
   */
  yieldEveryMs?: number;
}

/** tfjs passes logs whose values are numbers or (kept) scalar tensors. */
type UnresolvedLogs = { [key: string]: number | tf.Tensor };

class AdapterState implements TrainingState {
  readonly mode: FitMode = 'fit';
  epoch = 0;
  totalEpochs = 0;
  batch = 0;
  numBatches = Number.NaN;
  step = 0;
  totalSteps = Number.NaN;
  training = false;
  loss = Number.NaN;
  smoothLoss = Number.NaN;
  lr = Number.NaN;
  mom = 0;
  readonly schedule = 'tfjs model.fit';
  stats: EpochStats | undefined = undefined;
  status: TrainStatus = 'running';
  stopReason: string | undefined = undefined;
  error: Error | undefined = undefined;
  startedAt = 0;
  constructor(readonly learner: TrainingHost) {}
}

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
  private readonly s: AdapterState;
  private hooks = new HookDispatcher([]);
  private hp: HyperParams | undefined;
  private readonly smoother = new SmoothenValue(0.98);
  private names: string[] = [];
  private begun = false;
  private ended = false;
  /** Set once the fit is cancelled, stopped or failed: how it will end. */
  private outcome: { status: 'stopped' | 'interrupted' | 'failed'; reason?: string; error?: Error } | undefined;
  private stopRequest: { reason: string; status: 'stopped' | 'interrupted' } | undefined;
  private skipEpoch = false;
  private skipBatch = false;
  private epochStart = 0;
  private lastYield = 0;

  constructor(callbacks: readonly Callback[], options: TfjsCallbackOptions = {}) {
    super();
    if (!Array.isArray(callbacks) || !callbacks.every((cb) => cb instanceof Callback))
      throw new ConfigError(
        `tfjsCallback: callbacks must be an array of epochcast callbacks (extending Callback from @epochcast/core), e.g. [new CSVLogger('log.csv')]; received ${describeValue(callbacks)}${Array.isArray(callbacks) ? ` containing ${describeValue(callbacks.find((cb) => !(cb instanceof Callback)))}` : ''}.`,
      );
    const yieldEveryMs = options?.yieldEveryMs ?? 50;
    if (typeof yieldEveryMs !== 'number' || !(yieldEveryMs >= 0))
      throw new ConfigError(`tfjsCallback: yieldEveryMs must be a number >= 0; received ${describeValue(yieldEveryMs)}.`);
    this.yieldEveryMs = yieldEveryMs;
    this.callbacks = [...callbacks];
    this.host = createHost(this);
    this.s = new AdapterState(this.host);
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
    checkLr('setLr', 'lr', lr);
    this.hyperParams.setLr(lr);
    this.s.lr = lr;
  }

  setMom(mom: number): void {
    checkMom('setMom', mom);
    this.hyperParams.setMom(mom);
    this.s.mom = this.hyperParams.mom;
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
    await this.yieldIfDue();
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
    Object.assign(this.s, {
      epoch: num(p.initialEpoch) ?? 0,
      totalEpochs: epochs,
      batch: 0,
      numBatches,
      step: 0,
      totalSteps: epochs * numBatches,
      training: false,
      loss: Number.NaN,
      smoothLoss: Number.NaN,
      lr: this.hp?.lr ?? Number.NaN,
      mom: this.hp?.mom ?? 0,
      stats: undefined,
      status: 'running',
      stopReason: undefined,
      error: undefined,
      startedAt: Date.now(),
    } satisfies Partial<AdapterState>);
    this.hooks = new HookDispatcher([this.recorder, ...this.callbacks]);
    this.smoother.reset();
    this.begun = true;
    this.ended = false;
    this.outcome = undefined;
    this.stopRequest = undefined;
    this.skipEpoch = false;
    this.skipBatch = false;
    this.lastYield = performance.now();
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

  private async yieldIfDue(): Promise<void> {
    const now = performance.now();
    if (now - this.lastYield < this.yieldEveryMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.lastYield = performance.now();
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

type TfjsCallbacks = tf.ModelFitArgs['callbacks'];

/**
 * `model.fit(x, y, args)` with epochcast callbacks (or an adapter from `tfjsCallback`) added to
 * `args.callbacks`, inside a try/catch so that `onTrainEnd` runs with status `failed` even when
 * tfjs throws. Resolves to tfjs's History; the adapter's Recorder has the epochcast history.
 */
export async function fitWithCallbacks(
  model: tf.LayersModel,
  x: tf.Tensor | tf.Tensor[] | { [inputName: string]: tf.Tensor },
  y: tf.Tensor | tf.Tensor[] | { [inputName: string]: tf.Tensor },
  args: tf.ModelFitArgs,
  callbacks: readonly Callback[] | TfjsCallbackAdapter,
): Promise<tf.History> {
  const adapter = callbacks instanceof TfjsCallbackAdapter ? callbacks : tfjsCallback(callbacks);
  try {
    return await model.fit(x, y, { ...args, callbacks: withAdapter(args.callbacks, args.yieldEvery, adapter) });
  } catch (error) {
    await adapter.finish(error);
    throw error;
  }
}

/** `model.fitDataset(dataset, args)` with epochcast callbacks; see `fitWithCallbacks`. */
export async function fitDatasetWithCallbacks<T extends tf.TensorContainer>(
  model: tf.LayersModel,
  dataset: tf.data.Dataset<T>,
  args: tf.ModelFitDatasetArgs<T>,
  callbacks: readonly Callback[] | TfjsCallbackAdapter,
): Promise<tf.History> {
  const adapter = callbacks instanceof TfjsCallbackAdapter ? callbacks : tfjsCallback(callbacks);
  try {
    return await model.fitDataset(dataset, { ...args, callbacks: withAdapter(args.callbacks, args.yieldEvery, adapter) });
  } catch (error) {
    await adapter.finish(error);
    throw error;
  }
}

/** The user's tfjs callbacks, as tfjs callback objects, followed by the adapter. */
function withAdapter(
  callbacks: TfjsCallbacks,
  yieldEvery: tf.ModelFitArgs['yieldEvery'],
  adapter: TfjsCallbackAdapter,
): NonNullable<tf.ModelFitArgs['callbacks']> {
  const list = callbacks == null ? [] : Array.isArray(callbacks) ? callbacks : [callbacks];
  // tfjs treats the array as callback objects only if its first element is one: wrap plain `{ onEpochEnd… }` objects.
  const asObjects = list.map((cb) =>
    typeof (cb as { setParams?: unknown }).setParams === 'function' ? cb : new tf.CustomCallback(cb as tf.CustomCallbackArgs, yieldEvery),
  );
  return [...asObjects, adapter] as NonNullable<tf.ModelFitArgs['callbacks']>;
}

async function readLog(logs: UnresolvedLogs | undefined, key: string): Promise<number> {
  const value = logs?.[key];
  if (typeof value === 'number') return value;
  if (value instanceof tf.Tensor) return (await value.data())[0] ?? Number.NaN;
  return Number.NaN;
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
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
