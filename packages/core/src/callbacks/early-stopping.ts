import * as tf from '@tensorflow/tfjs';
import { Callback } from '../callback.js';
import { CancelFitError } from '../errors.js';
import { checkBoolean, checkInteger, checkOptions, invalidOption } from '../options.js';
import type { TrainingState } from '../state.js';
import { formatValue, Monitor, type MonitorOptions } from './monitor.js';

export interface EarlyStoppingOptions extends MonitorOptions {
  /** Smallest change of the monitored value that counts as an improvement. Default 0. */
  minDelta?: number;
  /**
   * How many epochs in a row may fail to improve before the fit stops (Keras semantics: the
   * counter resets on each improvement). Default 1: stop at the first epoch that does not improve
   * (Keras's default 0 behaves the same). Never stops after the first epoch.
   */
  patience?: number;
  /** A value the monitored quantity must beat before the patience counter resets. Default none. */
  baseline?: number;
  /**
   * Keep a copy of the weights of the best epoch and put them back into the model when the fit
   * ends, however it ends. Default false (the model keeps the last epoch's weights).
   */
  restoreBest?: boolean;
}

/**
 * Stops the fit (status `stopped`, with a reason naming the monitored value) once the monitored
 * value has stopped improving for `patience` epochs. Runs after the Recorder, at order 70.
 */
export class EarlyStopping extends Callback {
  override order = 70;
  readonly monitor: Monitor;
  readonly patience: number;
  readonly baseline: number | undefined;
  readonly restoreBest: boolean;
  /** Best monitored value of the current fit, and the epoch it was seen (−1 before any). */
  best = Number.NaN;
  bestEpoch = -1;
  /** Epochs since the last improvement. */
  wait = 0;
  private bestWeights: tf.Tensor[] | undefined;

  constructor(options?: EarlyStoppingOptions) {
    super();
    const where = 'EarlyStopping';
    const o = checkOptions(where, options, "{ monitor: 'validLoss', patience: 3 }");
    this.monitor = new Monitor(where, o, 0);
    this.patience = checkInteger(where, 'patience', o.patience ?? 1, 0, 'a number of epochs');
    if (o.baseline !== undefined && (typeof o.baseline !== 'number' || !Number.isFinite(o.baseline)))
      throw invalidOption(where, 'baseline', 'a finite number or omitted', o.baseline);
    this.baseline = o.baseline;
    this.restoreBest = checkBoolean(where, 'restoreBest', o.restoreBest ?? false);
  }

  override onTrainBegin(state: TrainingState): void {
    if (state.mode === 'lrFind') return;
    this.monitor.checkAtStart(state);
    this.best = this.monitor.worst;
    this.bestEpoch = -1;
    this.wait = 0;
    this.dropWeights();
  }

  override onEpochEnd(state: TrainingState): void {
    if (state.mode === 'lrFind' || !state.stats) return;
    const current = this.monitor.value(state.stats);
    this.wait += 1;
    if (this.monitor.improved(current, this.best)) {
      this.best = current;
      this.bestEpoch = state.epoch;
      if (this.restoreBest) {
        this.dropWeights();
        this.bestWeights = state.learner.model.getWeights().map((w) => w.clone());
      }
      if (this.baseline === undefined || this.monitor.improved(current, this.baseline)) this.wait = 0;
      return;
    }
    if (this.wait >= this.patience && state.epoch > 0) {
      const best = this.bestEpoch >= 0 ? `best ${formatValue(this.best)} at epoch ${this.bestEpoch}` : 'no improvement yet';
      throw new CancelFitError(
        `early stopping: ${this.monitor.describe(current)} has not improved for ${this.wait} epoch${this.wait === 1 ? '' : 's'} (${best})`,
      );
    }
  }

  override onTrainEnd(state: TrainingState): void {
    if (state.mode === 'lrFind' || !this.bestWeights) return;
    try {
      state.learner.model.setWeights(this.bestWeights);
    } finally {
      this.dropWeights();
    }
  }

  private dropWeights(): void {
    if (this.bestWeights) tf.dispose(this.bestWeights);
    this.bestWeights = undefined;
  }
}
