import * as tf from '@tensorflow/tfjs';
import { BatchChecks, type BatchPass, forEachBatch, knownLength } from './batches.js';
import { Callback, type EventName, sortByOrder } from './callback.js';
import { type CheckpointSummary, loadCheckpointInto, saveCheckpoint } from './checkpoint.js';
import { type Batch, type BatchSource, DataLoader, DataLoaders } from './data.js';
import { HookDispatcher } from './dispatch.js';
import { CancelFitError, ConfigError, describeValue } from './errors.js';
import { EventLoopTurns } from './event-loop.js';
import { checkOneSetterEach, learnerCallbacks, type OwnSchedule, ownLrSweep, ownOneCycle, scheduleOfFit } from './hyper-param-setters.js';
import type { FitOneCycleOptions, FitOptions, LearnerOptions } from './learner-options.js';
import { type LossFn, resolveLoss } from './losses.js';
import { type Metric, metricName } from './metrics.js';
import { type HyperParams, noMomentumError, OptimizerSlot, resolveOptimizer } from './optimizers.js';
import { checkEpochs, checkLr, checkYieldEveryMs, invalidOption } from './options.js';
import { type GetPredsOptions, type PredictOptions, type Preds, predictInBatches, predsOver, resolvePredictOptions } from './predict.js';
import { type LrFindResult, Recorder } from './recorder.js';
import { type FitPlan, RunLog, replayShuffles, resumedOneCycle, resumePoint } from './resume.js';
import { LRFinder, type LrFindOptions, oneCycleSchedule, ParamScheduler, resolveLrFind, resolveOneCycle, suggestLr } from './schedules.js';
import { SCOPES, type ScopeName } from './scopes.js';
import { SmoothenValue } from './smoothing.js';
import { LiveTrainingState, outcomeOf, type StopRequest, type TrainingState } from './state.js';
import { evaluateBatch, type ValidationResult, ValidationSums } from './validation.js';

export type { FitOneCycleOptions, FitOptions, LearnerOptions } from './learner-options.js';

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
  /** The metrics are given at construction: a callback may check a monitored name before the first batch. */
  readonly metricNamesKnownAtStart = true;
  /**
   * The run's name in notifications, overriding a notifier's `runName` when set; `learn.load(dir)`
   * sets it to the checkpoint's, so a resumed run keeps its name. Kept in checkpoints.
   */
  runName: string | undefined;
  /** The name the notifiers of the latest fit gave the run, kept in checkpoints when `runName` is unset. */
  private notedRunName: string | undefined;
  private readonly lossFn: LossFn;
  private readonly lossName: string;
  private readonly slot: OptimizerSlot;
  private readonly turns: EventLoopTurns;
  private callbackList: Callback[] = [];
  private hooks = new HookDispatcher([]);
  private readonly s = new LiveTrainingState(this);
  private readonly smoother = new SmoothenValue(0.98);
  private running = false;
  private stopRequest: StopRequest | undefined;
  private validation: ValidationSums | undefined;
  private checks = new BatchChecks(undefined);
  private variables: tf.Variable[] = [];
  private epochStart = 0;
  private readonly runLog = new RunLog();

  constructor(options: LearnerOptions) {
    const o = options ?? ({} as LearnerOptions);
    if (!(o.model instanceof tf.LayersModel))
      throw invalidOption('Learner', 'model', 'a tfjs LayersModel (tf.sequential() or tf.model())', o.model);
    if (!(o.data instanceof DataLoaders))
      throw invalidOption('Learner', 'data', 'a DataLoaders, e.g. DataLoaders.fromTensors(x, y, { validPct: 0.2 })', o.data);
    this.model = o.model;
    this.data = o.data;
    this.lossFn = resolveLoss(o.loss);
    this.lossName = typeof o.loss === 'string' ? o.loss : o.loss.name || 'custom loss';
    this.slot = new OptimizerSlot(resolveOptimizer(o.optimizer ?? 'adam'));
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
    return this.slot.optimizer;
  }

  /** Reads and sets lr/momentum on the current optimizer, whichever kind it is. */
  get hyperParams(): HyperParams {
    return this.slot.hyperParams;
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
    if (!this.hyperParams.hasMomentum) throw noMomentumError('Learner.setMom', this.optimizer);
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

  /** Notifiers tell the learner the name their messages give the run, so a checkpoint keeps it. */
  noteRunName(name: string): void {
    this.notedRunName ??= name;
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
    const resume = options.resume ? resumePoint('fit', epochs, this.runLog.loadedRun, this.data.train.numBatches) : undefined;
    const lr = checkLr('fit', 'lr', options.lr ?? resume?.saved.lr ?? 1e-3);
    const plan = { mode: 'fit', totalEpochs: epochs, schedule: `constant lr=${lr}`, progress: { method: 'fit', lr }, resume } as const;
    await this.run(plan, undefined, options.callbacks ?? [], () => this.setLr(lr));
  }

  /** Trains with the one-cycle policy (see `oneCycleSchedule`). */
  async fitOneCycle(epochs: number, options: FitOneCycleOptions = {}): Promise<void> {
    const numBatches = knownLength(this.data.train, 'fitOneCycle', 'the one-cycle schedule');
    const resume = options.resume ? resumePoint('fitOneCycle', epochs, this.runLog.loadedRun, numBatches) : undefined;
    const o = resume ? resumedOneCycle(options, resume.saved) : resolveOneCycle(options);
    checkEpochs('fitOneCycle', epochs);
    const schedule = oneCycleSchedule(epochs * numBatches, o);
    const description = `one-cycle lrMax=${o.lrMax} pctStart=${o.pctStart} divFactor=${o.divFactor}`;
    const plan = {
      mode: 'fit',
      totalEpochs: epochs,
      schedule: description,
      progress: { method: 'fitOneCycle', oneCycle: o },
      resume,
    } as const;
    const own = ownOneCycle(new ParamScheduler(schedule, { momsGiven: options.moms !== undefined }), description);
    await this.run(plan, own, options.callbacks ?? [], () => this.setLr(schedule(resume?.step ?? 0).lr));
  }

  /**
   * Saves a checkpoint to the directory `dir`: the model's weights, the optimizer's state, the
   * Recorder's record and the run so far (to resume it), replacing any checkpoint there atomically.
   * During a fit, call it between epochs (from an `onEpochEnd` hook, say), not mid-epoch.
   */
  async save(dir: string): Promise<void> {
    if (typeof dir !== 'string' || dir === '')
      throw invalidOption('learn.save', 'dir', "a directory path such as './checkpoints/run1'", dir);
    const run = this.runLog.forCheckpoint('learn.save');
    const { lr, mom } = this.hyperParams;
    const parts = { model: this.model, optimizer: this.optimizer, hyperParams: { lr, mom }, recorder: this.recorder };
    await saveCheckpoint(dir, {
      ...parts,
      metricNames: this.metricNames,
      lossName: this.lossName,
      runName: this.runName ?? this.notedRunName,
      run,
    });
  }

  /**
   * Loads a checkpoint saved by `learn.save(dir)` into this learner (same model architecture,
   * optimizer kind and metrics): weights, optimizer state, Recorder history and the run's name;
   * `fit`/`fitOneCycle(n, { resume: true })` then continue its run.
   */
  async load(dir: string): Promise<CheckpointSummary> {
    if (typeof dir !== 'string' || dir === '') throw invalidOption('learn.load', 'dir', 'the directory given to learn.save(dir)', dir);
    if (this.running) throw new ConfigError('learn.load: a fit is running on this learner; await it first.');
    const loaded = await loadCheckpointInto(dir, {
      model: this.model,
      optimizerKind: this.optimizer.getClassName(),
      metricNames: this.metricNames,
      recorder: this.recorder,
      newOptimizer: (lr) => this.slot.create(lr),
      adoptOptimizer: (optimizer, { lr, mom }) => {
        this.slot.replace(optimizer);
        this.setLr(lr);
        if (this.hyperParams.hasMomentum) this.setMom(mom);
      },
    });
    this.runLog.loaded(loaded.run);
    if (loaded.runName !== undefined) this.runName = loaded.runName;
    return { dir: loaded.dir, epochsDone: loaded.run?.epochsDone ?? 0, totalEpochs: loaded.run?.totalEpochs, runName: loaded.runName };
  }

  /** The model's outputs for `x` (first dimension = samples), in inference mode, in batches. Dispose the result. */
  async predict(x: tf.Tensor, options?: PredictOptions): Promise<tf.Tensor> {
    return predictInBatches(this.model, x, resolvePredictOptions('learn.predict', options, this.data).batchSize);
  }

  /** Predictions and targets over the validation set (or, with `valid: false`, the training set in order). Dispose both. */
  async getPreds(options?: GetPredsOptions): Promise<Preds> {
    return predsOver(this.model, this.data, resolvePredictOptions('learn.getPreds', options, this.data));
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
    const weights = this.model.getWeights().map((w) => w.clone());
    const giveBack = this.slot.lend(this.slot.create(o.startLr));
    try {
      const epochs = Math.ceil(o.numIt / numBatches);
      const plan = { mode: 'lrFind', totalEpochs: epochs, schedule: `lr sweep ${o.startLr}→${o.endLr}` } as const;
      await this.run(plan, ownLrSweep(new LRFinder(o), plan.schedule), [], () => this.setLr(o.startLr));
    } finally {
      const kept = giveBack();
      this.s.lr = kept?.lr ?? Number.NaN;
      this.s.mom = kept?.mom ?? 0;
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
      sums.add(await this.evaluate(batch), batch.xs.shape[0] ?? 0),
    );
    return sums.result();
  }

  /** Disposes the optimizer (the model and data belong to the caller). */
  dispose(): void {
    this.slot.replace(undefined);
  }

  // ---- the loop: one method a level, each run through withEvents ----------------------------

  /** `own` is the fit method's schedule (fitOneCycle's, lrFind's sweep); `passed` the fit's `callbacks` option. */
  private async run(plan: FitPlan, own: OwnSchedule | undefined, passed: readonly Callback[], setUp: () => void): Promise<void> {
    this.beginFit(plan, own, passed);
    try {
      setUp();
      await this.withEvents('fit', () => this.allEpochs(plan.resume?.epochsDone ?? 0, plan.totalEpochs));
      this.s.status = 'completed';
    } catch (error) {
      Object.assign(this.s, outcomeOf(error));
    } finally {
      await this.endFit();
    }
  }

  private async allEpochs(first: number, epochs: number): Promise<void> {
    for (let epoch = first; epoch < epochs; epoch++) {
      this.epochStart = performance.now();
      this.runLog.atEpochBoundary = false;
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
      this.slot.optimizer.applyGradients(grads);
      this.s.step++;
      await this.emit('onStepEnd');
    } finally {
      tf.dispose([value, grads]);
    }
  }

  private async validBatch(batch: Batch): Promise<void> {
    const values = await this.evaluate(batch);
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

  private beginFit(plan: FitPlan, own: OwnSchedule | undefined, passed: readonly Callback[]): void {
    const { mode, totalEpochs, schedule, resume } = plan;
    checkEpochs(mode === 'fit' ? 'fit' : 'lrFind', totalEpochs);
    if (this.running) throw new ConfigError(`${mode}: a fit is already running on this learner; await it before starting another.`);
    const attached = this.callbackList.filter((cb) => mode === 'fit' || cb.runDuringLrFind);
    checkOneSetterEach({ where: plan.progress?.method ?? mode, own, given: learnerCallbacks(attached, passed) });
    const { lr, mom } = this.hyperParams;
    const numBatches = this.data.train.numBatches;
    // A callback both attached and passed to the fit runs once.
    this.hooks = new HookDispatcher([...new Set([...attached, ...(own ? [own.callback] : []), ...passed])]);
    if (mode === 'fit') this.notedRunName = undefined;
    const resumed = resume && { firstEpoch: resume.epochsDone, firstStep: resume.step, resumedFromEpoch: resume.epochsDone };
    this.s.reset({ mode, totalEpochs, numBatches, schedule: scheduleOfFit(schedule, [...attached, ...passed]), lr, mom, ...resumed });
    this.smoother.reset();
    if (resume) {
      this.smoother.restore(resume.saved.smoother);
      if (this.data.train instanceof DataLoader) replayShuffles(this.data.train, resume.epochsDone);
    }
    this.runLog.begin(plan, numBatches, this.smoother.snapshot());
    this.variables = this.model.trainableWeights.map((w) => w.read() as tf.Variable);
    this.checks = BatchChecks.forModel(this.model);
    this.stopRequest = undefined;
    this.running = true;
    this.turns.restart();
  }

  /** The end of every fit, however it ended: every onTrainEnd hook runs even if one throws; the run's own error wins over theirs. */
  private async endFit(): Promise<void> {
    const hookError = await this.hooks.trainEnd(this.s);
    this.running = false;
    this.runLog.atEpochBoundary = true;
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
    this.runLog.epochEnded(s.mode, s.epoch, s.step, this.smoother.snapshot());
  }

  private evaluate(batch: Batch): Promise<Float32Array> {
    return evaluateBatch(this.model, this.lossFn, this.metrics, batch);
  }
}
