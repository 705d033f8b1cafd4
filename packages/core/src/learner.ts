import * as tf from '@tensorflow/tfjs';
import { BatchChecks, type BatchPass, forEachBatch, knownLength } from './batches.js';
import { Callback, type EventName, sortByOrder } from './callback.js';
import { type Batch, type BatchSource, DataLoaders } from './data.js';
import { HookDispatcher } from './dispatch.js';
import { CancelBatchError, CancelEpochError, CancelFitError, ConfigError, describeValue, toError } from './errors.js';
import { EventLoopTurns } from './event-loop.js';
import { type LossFn, type LossName, resolveLoss } from './losses.js';
import { type Metric, metricName } from './metrics.js';
import { type HyperParams, hyperParams, type OptimizerFactory, type OptimizerName, resolveOptimizer } from './optimizers.js';
import { checkEpochs, checkLr, checkYieldEveryMs, invalidOption } from './options.js';
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
import { type FitMode, LiveTrainingState, type StopRequest, type TrainingState } from './state.js';
import { evaluateBatch, type ValidationResult, ValidationSums } from './validation.js';

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

interface Scope {
  readonly begin: EventName;
  readonly end: EventName | undefined;
  /** The cancellation that skips the rest of the scope's body; its end event still runs. */
  readonly cancel: (new (...args: never[]) => Error) | undefined;
}

/**
 * Each level of the loop: its events and its cancellation. `CancelFitError` is not caught at the
 * fit's level like the others: how the fit was cancelled is its outcome (`settle`), and the fit's
 * end, `onTrainEnd`, runs however it ended (`endFit`).
 */
const SCOPES = {
  fit: { begin: 'onTrainBegin', end: undefined, cancel: undefined },
  epoch: { begin: 'onEpochBegin', end: 'onEpochEnd', cancel: CancelEpochError },
  validate: { begin: 'onValidateBegin', end: 'onValidateEnd', cancel: undefined },
  batch: { begin: 'onBatchBegin', end: 'onBatchEnd', cancel: CancelBatchError },
} as const satisfies Record<string, Scope>;

type ScopeName = keyof typeof SCOPES;

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
  private readonly turns: EventLoopTurns;
  private callbackList: Callback[] = [];
  private hooks = new HookDispatcher([]);
  private opt: tf.Optimizer | undefined;
  private hp: HyperParams | undefined;
  private readonly s = new LiveTrainingState(this);
  private readonly smoother = new SmoothenValue(0.98);
  private running = false;
  private stopRequest: StopRequest | undefined;
  private validation: ValidationSums | undefined;
  private checks = new BatchChecks(undefined);
  private variables: tf.Variable[] = [];
  private epochStart = 0;

  constructor(options: LearnerOptions) {
    const o = options ?? ({} as LearnerOptions);
    if (!(o.model instanceof tf.LayersModel))
      throw invalidOption('Learner', 'model', 'a tfjs LayersModel (tf.sequential() or tf.model())', o.model);
    if (!(o.data instanceof DataLoaders))
      throw invalidOption('Learner', 'data', 'a DataLoaders, e.g. DataLoaders.fromTensors(x, y, { validPct: 0.2 })', o.data);
    this.model = o.model;
    this.data = o.data;
    this.lossFn = resolveLoss(o.loss);
    this.optimizerFactory = resolveOptimizer(o.optimizer ?? 'adam');
    const metrics = o.metrics ?? [];
    if (!Array.isArray(metrics) || !metrics.every((m) => typeof m === 'function'))
      throw invalidOption('Learner', 'metrics', 'an array of functions (yTrue, yPred) => tf.Tensor, e.g. [accuracy]', metrics);
    this.metrics = metrics;
    this.metricNames = metrics.map(metricName);
    this.turns = new EventLoopTurns(checkYieldEveryMs('Learner', o.yieldEveryMs ?? 50));
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
    this.s.setLr('Learner.setLr', lr);
  }

  /** Sets the momentum (SGD momentum, Adam's beta1, RMSProp's momentum) from the next step on. */
  setMom(mom: number): void {
    this.s.setMom('Learner.setMom', mom);
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
    const schedule = oneCycleSchedule(epochs * knownLength(this.data.train, 'fitOneCycle', 'the one-cycle schedule'), o);
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
    const numBatches = knownLength(this.data.train, 'lrFind', 'the sweep');
    if (this.running) throw new ConfigError('lrFind: a fit is already running on this learner; await it first.');
    const saved = { opt: this.opt, hp: this.hp };
    const weights = this.model.getWeights().map((w) => w.clone());
    this.opt = this.optimizerFactory(o.startLr);
    this.hp = hyperParams(this.opt);
    try {
      const epochs = Math.ceil(o.numIt / numBatches);
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
    const source = this.data.valid;
    if (!source)
      throw new ConfigError(
        'Learner.validate: the data has no validation set. Pass one to DataLoaders.fromDataset / fromIterables as the second argument.',
      );
    const sums = new ValidationSums(this.metricNames);
    const pass: BatchPass = { source, split: 'validation', epoch: undefined };
    await forEachBatch(pass, BatchChecks.forModel(this.model), async (batch) =>
      sums.add(await evaluateBatch(this.model, this.lossFn, this.metrics, batch), batch.xs.shape[0] ?? 0),
    );
    return sums.result();
  }

  /** Disposes the optimizer (the model and data belong to the caller). */
  dispose(): void {
    this.opt?.dispose();
    this.opt = undefined;
    this.hp = undefined;
  }

  // ---- the loop: one method a level, each run through withEvents ----------------------------

  private async run(mode: FitMode, epochs: number, schedule: string, extra: readonly Callback[], setUp: () => void): Promise<void> {
    this.beginFit(mode, epochs, schedule, extra);
    try {
      setUp();
      await this.withEvents('fit', () => this.allEpochs(epochs));
      this.s.status = 'completed';
    } catch (error) {
      this.settle(error);
    } finally {
      await this.endFit();
    }
  }

  private async allEpochs(epochs: number): Promise<void> {
    for (let epoch = 0; epoch < epochs; epoch++) {
      this.epochStart = performance.now();
      this.enterPhase(true, epoch);
      await this.withEvents(
        'epoch',
        () => this.oneEpoch(),
        () => this.finishEpoch(),
      );
      this.throwIfStopRequested();
    }
  }

  private async oneEpoch(): Promise<void> {
    await this.allBatches(this.data.train);
    this.enterPhase(false);
    const valid = this.data.valid;
    if (this.s.mode === 'fit' && valid) await this.withEvents('validate', () => this.allBatches(valid));
  }

  /** One pass over a source; `forEachBatch` checks, reads ahead and disposes. */
  private async allBatches(source: BatchSource): Promise<void> {
    const training = this.s.training;
    const pass: BatchPass = { source, split: training ? 'training' : 'validation', epoch: this.s.epoch };
    await forEachBatch(pass, this.checks, async (batch, index) => {
      this.s.batch = index;
      await this.withEvents('batch', () => (training ? this.trainBatch(batch) : this.validBatch(batch)));
      this.throwIfStopRequested();
      await this.turns.yieldIfDue();
    });
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
    const values = await evaluateBatch(this.model, this.lossFn, this.metrics, batch);
    this.s.loss = values[0] ?? Number.NaN;
    this.validation?.add(values, batch.xs.shape[0] ?? 0);
    await this.emit('onLossBegin');
  }

  /**
   * fastai's `_with_events`: the scope's begin event, the body, then its end event. The scope's
   * own cancellation is caught here so the end event still runs; anything else propagates and
   * skips it. `beforeEnd` prepares what the end event shows (the epoch's stats).
   */
  private async withEvents(scope: ScopeName, body: () => Promise<void>, beforeEnd?: () => void): Promise<void> {
    const { begin, end, cancel } = SCOPES[scope];
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

  // ---- around the loop -----------------------------------------------------------------------

  private beginFit(mode: FitMode, epochs: number, schedule: string, extra: readonly Callback[]): void {
    checkEpochs(mode === 'fit' ? 'fit' : 'lrFind', epochs);
    if (this.running) throw new ConfigError(`${mode}: a fit is already running on this learner; await it before starting another.`);
    const { lr, mom } = this.hyperParams;
    this.hooks = new HookDispatcher([...this.callbackList, ...extra].filter((cb) => mode === 'fit' || cb.runDuringLrFind));
    this.s.reset({ mode, totalEpochs: epochs, numBatches: this.data.train.numBatches, schedule, lr, mom });
    this.smoother.reset();
    this.variables = this.model.trainableWeights.map((w) => w.read() as tf.Variable);
    this.checks = BatchChecks.forModel(this.model);
    this.stopRequest = undefined;
    this.running = true;
    this.turns.restart();
  }

  /** The outcome of a fit that threw: cancelled (`stopped` or `interrupted`), or `failed`. */
  private settle(error: unknown): void {
    const s = this.s;
    if (error instanceof CancelFitError) {
      s.status = error.status;
      s.stopReason = error.reason;
      return;
    }
    s.status = 'failed';
    // Thrown from an end hook (onEpochEnd, say), an epoch or batch cancellation has no scope left to cancel.
    s.error =
      error instanceof CancelEpochError || error instanceof CancelBatchError
        ? new ConfigError(
            `${error.name} was thrown where there is no ${error instanceof CancelEpochError ? 'epoch' : 'batch'} left to cancel (from an end hook such as onEpochEnd); throw CancelFitError to end the fit.`,
          )
        : toError(error);
  }

  /** The end of every fit, however it ended: every onTrainEnd hook runs even if one throws; the run's own error wins over theirs. */
  private async endFit(): Promise<void> {
    const hookError = await this.hooks.trainEnd(this.s);
    this.running = false;
    this.stopRequest = undefined;
    if (this.s.error) throw this.s.error;
    if (hookError) throw hookError;
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
