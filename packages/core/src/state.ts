import { CancelBatchError, CancelEpochError, CancelFitError, ConfigError, toError } from './errors.js';
import type { Learner } from './learner.js';
import { checkLr, checkMom } from './options.js';

/**
 * What hooks may use of `state.learner`: the Learner, or — when callbacks run under a plain
 * tfjs `model.fit` through `tfjsCallback` — a stand-in offering just these members.
 */
export type TrainingHost = Pick<
  Learner,
  'model' | 'recorder' | 'metricNames' | 'lr' | 'mom' | 'hyperParams' | 'optimizer' | 'state' | 'callbacks' | 'setLr' | 'setMom' | 'stop'
> & {
  /**
   * The run's name, when the training names it (overriding a notifier's `runName`): a reported
   * training's `start` line, or a Learner's `runName` (set by you, or kept by a checkpoint that
   * `learn.load(dir)` read, so a resumed run keeps its name).
   */
  readonly runName?: string | undefined;
  /**
   * What a stop does, in the words of a question asking for one (Telegram's /stop), when it is not
   * the Learner's "at the end of the current batch": a reported training's command gets SIGINT.
   */
  readonly stopAction?: string | undefined;
  /**
   * Whether `metricNames` is complete before the first epoch (the Learner's metrics are), so a
   * callback can check a monitored name at `onTrainBegin`; a reported training learns its names as
   * the output shows them.
   */
  readonly metricNamesKnownAtStart?: boolean | undefined;
  /** Whether the learning rate is the training program's own and cannot be set from here (`setLr` throws). */
  readonly lrSetElsewhere?: boolean | undefined;
  /** Lines a status reply (Telegram's /status) shows below the epoch table: a command's last output lines. */
  statusLines?(): readonly string[];
  /**
   * Takes note of the name a notifier's messages give the run (its `runName`, `EPOCHCAST_RUN_NAME`
   * or the script's name), so `learn.save(dir)` keeps it and a resumed run is called the same.
   */
  noteRunName?(name: string): void;
};

/** How a fit ended, as seen by `onTrainEnd`; `running` until then. */
export type TrainStatus = 'running' | 'completed' | 'stopped' | 'failed' | 'interrupted';

/** One finished epoch, as the Recorder keeps it and the table shows it. */
export interface EpochStats {
  /** 0-based, as in the training state and fastai's table. */
  epoch: number;
  totalEpochs: number;
  /** The smoothed training loss at the end of the epoch (fastai's `train_loss`). */
  trainLoss: number;
  /** Mean loss over the validation set; NaN when the epoch was cancelled before validation. */
  validLoss: number;
  /** Validation metrics by name (the metric function's name). */
  metrics: Record<string, number>;
  /** The learning rate of the epoch's last training batch. */
  lr: number;
  /** Wall time of the epoch, training and validation, in milliseconds. */
  timeMs: number;
}

/** What a fit is doing: a normal fit, or the LR finder's sweep (most callbacks sit that out). */
export type FitMode = 'fit' | 'lrFind';

/**
 * The learner's state, passed read-only to every hook. Values are plain numbers, never tensors:
 * the loss is read once per batch by the loop.
 */
export interface TrainingState {
  readonly learner: TrainingHost;
  readonly mode: FitMode;
  /** 0-based epoch index. */
  readonly epoch: number;
  readonly totalEpochs: number;
  /** Index of the batch within the current epoch (training or validation). */
  readonly batch: number;
  /** Number of training batches per epoch; NaN when the source does not know (a stream without batchesPerEpoch). */
  readonly numBatches: number;
  /**
   * Global training step: optimizer steps taken in this fit; in a resumed fit, counted from the
   * start of the run it resumes (so schedules pick up where they were).
   */
  readonly step: number;
  /** Training steps planned for this fit (NaN when numBatches is). */
  readonly totalSteps: number;
  /** False during validation. */
  readonly training: boolean;
  /** This batch's raw loss (NaN before the first batch). */
  readonly loss: number;
  /** fastai's smoothed loss (exponential moving average, debiased). */
  readonly smoothLoss: number;
  readonly lr: number;
  /** Momentum (SGD momentum, Adam's beta1, RMSProp's momentum); 0 for plain SGD. */
  readonly mom: number;
  /** A short description of the lr schedule of this fit, e.g. `one-cycle lrMax=0.003`. */
  readonly schedule: string;
  /** The EpochStats just finished (set at `onEpochEnd`, kept until the next one). */
  readonly stats: EpochStats | undefined;
  readonly status: TrainStatus;
  /** Why the run stopped (`learn.stop(reason)`, early stopping, …), when it did. */
  readonly stopReason: string | undefined;
  /** The error that failed the run (at `onTrainEnd` with status `failed`). */
  readonly error: Error | undefined;
  /** Date.now() when the fit began. */
  readonly startedAt: number;
  /**
   * In a fit resuming a checkpoint (`fitOneCycle(n, { resume: true })`), the epochs the run had
   * completed before: the fit starts at this (0-based) epoch. Undefined in any other fit.
   */
  readonly resumedFromEpoch: number | undefined;
}

/** How a fit was asked to stop: by `learner.stop()`, a signal handler, a stop command. */
export interface StopRequest {
  reason: string;
  status: 'stopped' | 'interrupted';
}

/** What a fit starts from. */
export interface FitStart {
  mode: FitMode;
  totalEpochs: number;
  /** Training batches per epoch (NaN when tfjs does not say). */
  numBatches: number;
  schedule: string;
  /** The optimizer's lr and momentum as the fit begins. */
  lr: number;
  mom: number;
  /** tfjs's `initialEpoch`, or the epochs a resumed run had completed; else 0. */
  firstEpoch?: number;
  /** A resumed run's steps taken before this fit; else 0. */
  firstStep?: number;
  /** Set when the fit resumes a checkpoint: the epochs it had completed. */
  resumedFromEpoch?: number;
}

/**
 * The training state the Learner and the model.fit adapter write and hooks read (as the read-only
 * `TrainingState`): one place for a fit's fresh values and for what `setLr`/`setMom` do.
 */
export class LiveTrainingState implements TrainingState {
  mode: FitMode = 'fit';
  epoch = 0;
  totalEpochs = 0;
  batch = 0;
  numBatches: number;
  step = 0;
  totalSteps: number;
  training = false;
  loss = Number.NaN;
  smoothLoss = Number.NaN;
  lr = Number.NaN;
  mom = 0;
  schedule: string;
  stats: EpochStats | undefined = undefined;
  status: TrainStatus = 'running';
  stopReason: string | undefined = undefined;
  error: Error | undefined = undefined;
  startedAt = 0;
  resumedFromEpoch: number | undefined = undefined;

  constructor(
    readonly learner: TrainingHost,
    beforeFirstFit: { schedule?: string; numBatches?: number } = {},
  ) {
    this.schedule = beforeFirstFit.schedule ?? '';
    this.numBatches = beforeFirstFit.numBatches ?? 0;
    this.totalSteps = this.numBatches * this.totalEpochs;
  }

  /** Every value back to the start of a fit. */
  reset(start: FitStart): void {
    this.mode = start.mode;
    this.epoch = start.firstEpoch ?? 0;
    this.totalEpochs = start.totalEpochs;
    this.batch = 0;
    this.numBatches = start.numBatches;
    this.step = start.firstStep ?? 0;
    this.totalSteps = start.totalEpochs * start.numBatches;
    this.training = false;
    this.loss = Number.NaN;
    this.smoothLoss = Number.NaN;
    this.lr = start.lr;
    this.mom = start.mom;
    this.schedule = start.schedule;
    this.stats = undefined;
    this.status = 'running';
    this.stopReason = undefined;
    this.error = undefined;
    this.startedAt = Date.now();
    this.resumedFromEpoch = start.resumedFromEpoch;
  }

  /** `setLr` of the Learner and of the adapter's host: checked, set on the optimizer, shown to hooks. */
  setLr(where: string, lr: number): void {
    checkLr(where, 'lr', lr);
    this.learner.hyperParams.setLr(lr);
    this.lr = lr;
  }

  /** `setMom`, likewise; hooks see what the optimizer took (0 where it has no momentum). */
  setMom(where: string, mom: number): void {
    checkMom(where, mom);
    const hyperParams = this.learner.hyperParams;
    hyperParams.setMom(mom);
    this.mom = hyperParams.mom;
  }
}

/** The outcome of a fit that threw: cancelled (`stopped` or `interrupted`, with the reason), or `failed`. */
export function outcomeOf(error: unknown): Pick<LiveTrainingState, 'status'> & Partial<Pick<LiveTrainingState, 'stopReason' | 'error'>> {
  if (error instanceof CancelFitError) return { status: error.status, stopReason: error.reason };
  // Thrown from an end hook (onEpochEnd, say), an epoch or batch cancellation has no scope left to cancel.
  if (error instanceof CancelEpochError || error instanceof CancelBatchError)
    return {
      status: 'failed',
      error: new ConfigError(
        `${error.name} was thrown where there is no ${error instanceof CancelEpochError ? 'epoch' : 'batch'} left to cancel (from an end hook such as onEpochEnd); throw CancelFitError to end the fit.`,
      ),
    };
  return { status: 'failed', error: toError(error) };
}
