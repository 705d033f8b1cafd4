import type { Learner } from './learner.js';

/**
 * What hooks may use of `state.learner`: the Learner, or — when callbacks run under a plain
 * tfjs `model.fit` through `tfjsCallback` — a stand-in offering just these members.
 */
export type TrainingHost = Pick<
  Learner,
  'model' | 'recorder' | 'metricNames' | 'lr' | 'mom' | 'hyperParams' | 'optimizer' | 'state' | 'callbacks' | 'setLr' | 'setMom' | 'stop'
>;

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
  /** Number of training batches per epoch. */
  readonly numBatches: number;
  /** Global training step: optimizer steps taken in this fit. */
  readonly step: number;
  /** Training steps planned for this fit. */
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
}
