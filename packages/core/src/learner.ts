import * as tf from '@tensorflow/tfjs';
import { Callback, type EventName, sortByOrder } from './callback.js';
import { type Batch, DataLoaders } from './data.js';
import { HookDispatcher } from './dispatch.js';
import { CancelBatchError, CancelEpochError, CancelFitError, ConfigError, describeValue } from './errors.js';
import { type LossFn, type LossName, resolveLoss } from './losses.js';
import { type Metric, metricName } from './metrics.js';
import {
  checkLr,
  checkMom,
  type HyperParams,
  hyperParams,
  type OptimizerFactory,
  type OptimizerName,
  resolveOptimizer,
} from './optimizers.js';
import { type LrFindResult, Recorder } from './recorder.js';
import {
  LRFinder,
  type LrFindOptions,
  type OneCycleOptions,
  oneCycleSchedule,
  ParamScheduler,
  resolveLrFind,
  resolveOneCycle,
  suggestLr,
} from './schedules.js';
import { SmoothenValue } from './smoothing.js';
import type { EpochStats, FitMode, TrainingState, TrainStatus } from './state.js';

export interface LearnerOptions {
  /** A tfjs layers model (tf.sequential() or tf.model()); it need not be compiled. */
  model: tf.LayersModel;
  data: DataLoaders;
  loss: LossName | LossFn;
  /** Default 'adam'. A factory receives the starting lr. */
  optimizer?: OptimizerName | OptimizerFactory;
  /** Computed on the validation set every epoch, named by their function's name. */
  metrics?: readonly Metric[];
  callbacks?: readonly Callback[];
  /**
   * Longest stretch of work, in ms, before the loop yields to Node's event loop so timers,
   * sockets and signal handlers run (a tfjs loop never yields by itself). Default 50.
   */
  yieldEveryMs?: number;
}

export interface FitOptions {
  /** Constant learning rate for the fit. Default 1e-3. */
  lr?: number;
  /** Callbacks attached for this fit only. */
  callbacks?: readonly Callback[];
}

export interface FitOneCycleOptions extends OneCycleOptions {
  callbacks?: readonly Callback[];
}

/** Validation loss and metrics over the whole validation set. */
export interface ValidationResult {
  validLoss: number;
  metrics: Record<string, number>;
}

type CancelClass = new (...args: never[]) => Error;

class LoopState implements TrainingState {
  mode: FitMode = 'fit';
  epoch = 0;
  totalEpochs = 0;
  batch = 0;
  numBatches = 0;
  step = 0;
  totalSteps = 0;
  training = false;
  loss = Number.NaN;
  smoothLoss = Number.NaN;
  lr = Number.NaN;
  mom = 0;
  schedule = '';
  stats: EpochStats | undefined = undefined;
  status: TrainStatus = 'running';
  stopReason: string | undefined = undefined;
  error: Error | undefined = undefined;
  startedAt = 0;
  constructor(readonly learner: Learner) {}
}

/** Weighted sums of a validation pass; batch means weighted by batch size. */
class ValidationSums {
  private samples = 0;
  private sums: number[];
  constructor(private readonly names: readonly string[]) {
    this.sums = new Array(names.length + 1).fill(0);
  }
  add(values: ArrayLike<number>, batchSize: number): void {
    this.samples += batchSize;
    for (let i = 0; i < this.sums.length; i++) this.sums[i] = (this.sums[i] ?? 0) + (values[i] ?? Number.NaN) * batchSize;
  }
  result(): ValidationResult {
    const mean = (i: number) => (this.samples > 0 ? (this.sums[i] ?? Number.NaN) / this.samples : Number.NaN);
    return { validLoss: mean(0), metrics: Object.fromEntries(this.names.map((n, i) => [n, mean(i + 1)])) };
  }
}

/**
 * Trains a tfjs model with fastai's loop and callback protocol. Every level of the loop (fit,
 * epoch, validation, batch) runs through `withEvents`, so each is a few lines; hooks get numbers
 * through `TrainingState`, never tensors.
 */
export class Learner {
  readonly model: tf.LayersModel;
  readonly data: DataLoaders;
  readonly recorder = new Recorder();
  readonly metrics: readonly Metric[];
  readonly metricNames: string[];
  private readonly lossFn: LossFn;
  private readonly optimizerFactory: OptimizerFactory;
  private readonly yieldEveryMs: number;
  private callbackList: Callback[] = [];
  private hooks = new HookDispatcher([]);
  private opt: tf.Optimizer | undefined;
  private hp: HyperParams | undefined;
  private readonly s = new LoopState(this);
  private readonly smoother = new SmoothenValue(0.98);
  private running = false;
  private stopRequest: { reason: string; status: 'stopped' | 'interrupted' } | undefined;
  private validation: ValidationSums | undefined;
  private lastYield = 0;
  private variables: tf.Variable[] = [];
  private epochStart = 0;

  constructor(options: LearnerOptions) {
    const o = options ?? ({} as LearnerOptions);
    if (!(o.model instanceof tf.LayersModel))
      throw new ConfigError(
        `Learner: model must be a tfjs LayersModel (tf.sequential() or tf.model()); received ${describeValue(o.model)}.`,
      );
    if (!(o.data instanceof DataLoaders))
      throw new ConfigError(
        `Learner: data must be a DataLoaders, e.g. DataLoaders.fromTensors(x, y, { validPct: 0.2 }); received ${describeValue(o.data)}.`,
      );
    this.model = o.model;
    this.data = o.data;
    this.lossFn = resolveLoss(o.loss);
    this.optimizerFactory = resolveOptimizer(o.optimizer ?? 'adam');
    const metrics = o.metrics ?? [];
    if (!Array.isArray(metrics) || !metrics.every((m) => typeof m === 'function'))
      throw new ConfigError(
        `Learner: metrics must be an array of functions (yTrue, yPred) => tf.Tensor, e.g. [accuracy]; received ${describeValue(metrics)}.`,
      );
    this.metrics = metrics;
    this.metricNames = metrics.map(metricName);
    this.yieldEveryMs = o.yieldEveryMs ?? 50;
    if (!(this.yieldEveryMs >= 0))
      throw new ConfigError(`Learner: yieldEveryMs must be a number >= 0; received ${describeValue(o.yieldEveryMs)}.`);
    this.addCallbacks(this.recorder, ...(o.callbacks ?? []));
  }

  /** The live training state, as hooks receive it. */
  get state(): TrainingState {
    return this.s;
  }

  /** Attached callbacks in the order they run. */
  get callbacks(): readonly Callback[] {
    return this.callbackList;
  }

  /** The optimizer, created from the factory on first use; kept (with its state) across fits. */
  get optimizer(): tf.Optimizer {
    return this.ensureOptimizer(1e-3);
  }

  /** Reads and sets lr/momentum on the current optimizer, whichever kind it is. */
  get hyperParams(): HyperParams {
    this.ensureOptimizer(1e-3);
    return this.hp as HyperParams;
  }

  get lr(): number {
    return this.s.lr;
  }

  get mom(): number {
    return this.s.mom;
  }

  /** Sets the learning rate from the next step on. A schedule (fitOneCycle) overrides it each batch. */
  setLr(lr: number): void {
    checkLr('Learner.setLr', 'lr', lr);
    this.hyperParams.setLr(lr);
    this.s.lr = lr;
  }

  /** Sets the momentum (SGD momentum, Adam's beta1, RMSProp's momentum) from the next step on. */
  setMom(mom: number): void {
    checkMom('Learner.setMom', mom);
    this.hyperParams.setMom(mom);
    this.s.mom = this.hyperParams.mom;
  }

  addCallbacks(...callbacks: Callback[]): void {
    for (const cb of callbacks) {
      if (!(cb instanceof Callback))
        throw new ConfigError(`Learner: callbacks must extend Callback from @epochcast/core; received ${describeValue(cb)}.`);
      if (this.callbackList.includes(cb)) continue;
      this.callbackList.push(cb);
    }
    this.callbackList = sortByOrder(this.callbackList);
  }

  /** Detaches a callback (or the first with that name); changes take effect at the next fit. */
  removeCallback(callback: Callback | string): Callback | undefined {
    const found = this.callbackList.find((cb) => cb === callback || cb.name === callback);
    if (found === this.recorder) throw new ConfigError('Learner.removeCallback: the Recorder is always attached and cannot be removed.');
    if (found) this.callbackList = this.callbackList.filter((cb) => cb !== found);
    return found;
  }

  /**
   * Asks the running fit to stop at the end of the current batch; `onTrainEnd` then sees status
   * `stopped` (or `interrupted`) and this reason. Does nothing when no fit is running.
   */
  stop(reason = 'stopped', status: 'stopped' | 'interrupted' = 'stopped'): void {
    if (this.running) this.stopRequest = { reason, status };
  }

  /** Trains for `epochs` at a constant learning rate. */
  async fit(epochs: number, options: FitOptions = {}): Promise<void> {
    const lr = checkLr('fit', 'lr', options.lr ?? 1e-3);
    await this.run('fit', epochs, `constant lr=${lr}`, options.callbacks ?? [], () => this.setLr(lr));
  }

  /** Trains with the one-cycle policy (see `oneCycleSchedule`). */
  async fitOneCycle(epochs: number, options: FitOneCycleOptions = {}): Promise<void> {
    const o = resolveOneCycle(options);
    checkEpochs('fitOneCycle', epochs);
    const schedule = oneCycleSchedule(epochs * this.data.train.numBatches, o);
    const scheduler = new ParamScheduler(schedule);
    const description = `one-cycle lrMax=${o.lrMax} pctStart=${o.pctStart} divFactor=${o.divFactor}`;
    await this.run('fit', epochs, description, [scheduler, ...(options.callbacks ?? [])], () => this.setLr(schedule(0).lr));
  }

  /**
   * Sweeps the lr exponentially from startLr to endLr over numIt training steps with a throwaway
   * optimizer, then restores the model's weights exactly and keeps the learner's optimizer
   * untouched. Only callbacks with `runDuringLrFind` take part.
   */
  async lrFind(options: LrFindOptions = {}): Promise<LrFindResult> {
    const o = resolveLrFind(options);
    if (this.running) throw new ConfigError('lrFind: a fit is already running on this learner; await it first.');
    const saved = { opt: this.opt, hp: this.hp };
    const weights = this.model.getWeights().map((w) => w.clone());
    this.opt = this.optimizerFactory(o.startLr);
    this.hp = hyperParams(this.opt);
    try {
      const epochs = Math.ceil(o.numIt / this.data.train.numBatches);
      await this.run('lrFind', epochs, `lr sweep ${o.startLr}→${o.endLr}`, [new LRFinder(o)], () => this.setLr(o.startLr));
    } finally {
      this.opt.dispose();
      this.opt = saved.opt;
      this.hp = saved.hp;
      this.s.lr = saved.hp?.lr ?? Number.NaN;
      this.s.mom = saved.hp?.mom ?? 0;
      this.model.setWeights(weights);
      tf.dispose(weights);
    }
    const { lrs, losses } = this.recorder.sweep;
    const result = { ...suggestLr(lrs, losses), lrs: [...lrs], losses: [...losses] };
    this.recorder.lrFindResult = result;
    return result;
  }

  /** Loss and metrics over the validation set, without callbacks. */
  async validate(): Promise<ValidationResult> {
    const sums = new ValidationSums(this.metricNames);
    for (const batch of this.data.valid.batches()) {
      try {
        sums.add(await this.evaluateBatch(batch), batch.xs.shape[0] ?? 0);
      } finally {
        tf.dispose([batch.xs, batch.ys]);
      }
    }
    return sums.result();
  }

  /** Disposes the optimizer (the model and data belong to the caller). */
  dispose(): void {
    this.opt?.dispose();
    this.opt = undefined;
    this.hp = undefined;
  }

  // ---- the loop --------------------------------------------------------------------------

  private async run(mode: FitMode, epochs: number, schedule: string, extra: readonly Callback[], setUp: () => void): Promise<void> {
    checkEpochs(mode === 'fit' ? 'fit' : 'lrFind', epochs);
    if (this.running) throw new ConfigError(`${mode}: a fit is already running on this learner; await it before starting another.`);
    this.running = true;
    this.prepare(mode, epochs, schedule, extra);
    try {
      setUp();
      await this.withEvents('onTrainBegin', undefined, null, async () => {
        for (let epoch = 0; epoch < epochs; epoch++) await this.oneEpoch(epoch);
      });
      this.s.status = 'completed';
    } catch (error) {
      if (error instanceof CancelFitError) {
        this.s.status = error.status;
        this.s.stopReason = error.reason;
      } else if (error instanceof CancelEpochError || error instanceof CancelBatchError) {
        // Thrown from an end hook (onEpochEnd, say) there is no scope of that kind left to cancel.
        this.s.status = 'failed';
        this.s.error = new ConfigError(
          `${error.name} was thrown where there is no ${error instanceof CancelEpochError ? 'epoch' : 'batch'} left to cancel (from an end hook such as onEpochEnd); throw CancelFitError to end the fit.`,
        );
      } else {
        this.s.status = 'failed';
        this.s.error = error instanceof Error ? error : new Error(String(error));
      }
    } finally {
      await this.trainEnd();
    }
  }

  private async oneEpoch(epoch: number): Promise<void> {
    this.epochStart = performance.now();
    this.enterPhase(true, epoch);
    await this.withEvents(
      'onEpochBegin',
      'onEpochEnd',
      CancelEpochError,
      async () => {
        await this.allBatches(this.data.train);
        this.enterPhase(false);
        if (this.s.mode === 'fit') await this.withEvents('onValidateBegin', 'onValidateEnd', null, () => this.allBatches(this.data.valid));
      },
      () => this.finishEpoch(),
    );
    this.throwIfStopRequested();
  }

  private throwIfStopRequested(): void {
    if (this.stopRequest) throw new CancelFitError(this.stopRequest.reason, this.stopRequest.status);
  }

  /** Sets what hooks see at the start of the training or the validation phase of an epoch. */
  private enterPhase(training: boolean, epoch = this.s.epoch): void {
    this.s.epoch = epoch;
    this.s.training = training;
    this.s.batch = 0;
    this.validation = training ? undefined : new ValidationSums(this.metricNames);
  }

  private async allBatches(loader: DataLoaders['train']): Promise<void> {
    const training = this.s.training;
    let index = 0;
    for (const batch of loader.batches()) {
      this.s.batch = index++;
      try {
        await this.withEvents('onBatchBegin', 'onBatchEnd', CancelBatchError, () =>
          training ? this.trainBatch(batch) : this.validBatch(batch),
        );
      } finally {
        tf.dispose([batch.xs, batch.ys]);
      }
      this.throwIfStopRequested();
      await this.yieldIfDue();
    }
  }

  private async trainBatch({ xs, ys }: Batch): Promise<void> {
    const { value, grads } = tf.tidy(() =>
      tf.variableGrads(() => this.lossFn(ys, this.model.apply(xs, { training: true }) as tf.Tensor) as tf.Scalar, this.variables),
    );
    try {
      this.s.loss = (await value.data())[0] ?? Number.NaN;
      this.s.smoothLoss = this.smoother.add(this.s.loss);
      await this.emit('onLossBegin');
      await this.emit('onBackwardBegin');
      (this.opt as tf.Optimizer).applyGradients(grads);
      this.s.step++;
      await this.emit('onStepEnd');
    } finally {
      tf.dispose([value, grads]);
    }
  }

  private async validBatch(batch: Batch): Promise<void> {
    const values = await this.evaluateBatch(batch);
    this.s.loss = values[0] ?? Number.NaN;
    this.validation?.add(values, batch.xs.shape[0] ?? 0);
    await this.emit('onLossBegin');
  }

  /** Loss then each metric for one batch, read back in one transfer. */
  private async evaluateBatch({ xs, ys }: Batch): Promise<Float32Array> {
    const packed = tf.tidy(() => {
      const pred = this.model.apply(xs, { training: false }) as tf.Tensor;
      const values = [this.lossFn(ys, pred), ...this.metrics.map((m) => m(ys, pred))];
      return tf.stack(values.map((v) => tf.mean(v).toFloat()));
    });
    try {
      return (await packed.data()) as Float32Array;
    } finally {
      packed.dispose();
    }
  }

  private finishEpoch(): void {
    const { validLoss, metrics } = this.validation?.result() ?? {
      validLoss: Number.NaN,
      metrics: Object.fromEntries(this.metricNames.map((n) => [n, Number.NaN])),
    };
    this.validation = undefined;
    const s = this.s;
    s.stats = {
      epoch: s.epoch,
      totalEpochs: s.totalEpochs,
      trainLoss: s.smoothLoss,
      validLoss,
      metrics,
      lr: s.lr,
      timeMs: performance.now() - this.epochStart,
    };
  }

  /**
   * fastai's `_with_events`: run `begin`, the body, then `end`; the body's own cancellation is
   * caught here so `end` still runs, anything else propagates and skips `end`.
   */
  private async withEvents(
    begin: EventName,
    end: EventName | undefined,
    cancel: CancelClass | null,
    body: () => Promise<void>,
    beforeEnd?: () => void,
  ): Promise<void> {
    try {
      await this.emit(begin);
      await body();
    } catch (error) {
      if (!cancel || !(error instanceof cancel)) throw error;
    }
    beforeEnd?.();
    if (end) await this.emit(end);
  }

  private emit(event: EventName): Promise<void> {
    return this.hooks.emit(event, this.s);
  }

  /** Every onTrainEnd hook runs even if one throws; the run's own error wins over theirs. */
  private async trainEnd(): Promise<void> {
    const hookError = await this.hooks.trainEnd(this.s);
    this.running = false;
    this.stopRequest = undefined;
    if (this.s.error) throw this.s.error;
    if (hookError) throw hookError;
  }

  private prepare(mode: FitMode, epochs: number, schedule: string, extra: readonly Callback[]): void {
    const s = this.s;
    this.hooks = new HookDispatcher([...this.callbackList, ...extra].filter((cb) => mode === 'fit' || cb.runDuringLrFind));
    this.stopRequest = undefined;
    this.smoother.reset();
    this.ensureOptimizer(1e-3);
    Object.assign(s, {
      mode,
      epoch: 0,
      totalEpochs: epochs,
      batch: 0,
      numBatches: this.data.train.numBatches,
      step: 0,
      totalSteps: epochs * this.data.train.numBatches,
      training: false,
      loss: Number.NaN,
      smoothLoss: Number.NaN,
      mom: this.hyperParams.mom,
      schedule,
      stats: undefined,
      status: 'running',
      stopReason: undefined,
      error: undefined,
      startedAt: Date.now(),
    } satisfies Partial<LoopState>);
    this.variables = this.model.trainableWeights.map((w) => w.read() as tf.Variable);
    this.lastYield = performance.now();
  }

  private async yieldIfDue(): Promise<void> {
    const now = performance.now();
    if (now - this.lastYield < this.yieldEveryMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.lastYield = performance.now();
  }

  private ensureOptimizer(lr: number): tf.Optimizer {
    if (!this.opt) {
      this.opt = this.optimizerFactory(lr);
      if (!(this.opt instanceof tf.Optimizer))
        throw new ConfigError(
          `Learner: the optimizer factory must return a tf.Optimizer (e.g. lr => tf.train.adam(lr)); it returned ${describeValue(this.opt)}.`,
        );
      this.hp = hyperParams(this.opt);
    }
    return this.opt;
  }
}

function checkEpochs(where: string, epochs: number): void {
  if (!Number.isInteger(epochs) || epochs < 1)
    throw new ConfigError(`${where}: epochs must be an integer >= 1; received ${describeValue(epochs)}.`);
}
