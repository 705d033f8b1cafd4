import { Callback, type HyperParamName } from '../callback.js';
import { checkInteger, checkNonNegative, checkOptions, invalidOption } from '../options.js';
import type { TrainingState } from '../state.js';
import { Monitor, type MonitorOptions } from './monitor.js';

export interface ReduceLROnPlateauOptions extends MonitorOptions {
  /** Smallest change of the monitored value that counts as an improvement. Default 1e-4 (Keras). */
  minDelta?: number;
  /** The lr is multiplied by this, in (0, 1). Default 0.2 (fastai v1; Keras uses 0.1). */
  factor?: number;
  /**
   * Epochs in a row without improvement before the lr is reduced (Keras semantics). Default 2:
   * short fastai-style runs cannot afford Keras's 10, and 0 or 1 (fastai v1) reduce on every dip.
   */
  patience?: number;
  /** The lr never goes below this. Default 0. */
  minLr?: number;
  /** Epochs to wait after a reduction before counting epochs without improvement again. Default 0. */
  cooldown?: number;
}

/**
 * Multiplies the learning rate by `factor` once the monitored value has stopped improving for
 * `patience` epochs, through `state.learner.setLr`. Meant for `learn.fit(epochs, { lr })`: it
 * declares that it sets the lr, so with another setter of the lr in the fit (fitOneCycle's
 * schedule, a ParamScheduler on lr), which would override each reduction, the fit fails at its
 * start with a ConfigError rather than silently ignoring this callback. Runs after the Recorder,
 * at order 70.
 */
export class ReduceLROnPlateau extends Callback {
  override order = 70;
  override setsHyperParams: readonly HyperParamName[] = ['lr'];
  readonly monitor: Monitor;
  readonly factor: number;
  readonly patience: number;
  readonly minLr: number;
  readonly cooldown: number;
  best = Number.NaN;
  wait = 0;
  /** Reductions made in the current fit: after which epoch, and the new lr. */
  reductions: { epoch: number; lr: number }[] = [];
  private cooldownLeft = 0;

  constructor(options?: ReduceLROnPlateauOptions) {
    super();
    const where = 'ReduceLROnPlateau';
    const o = checkOptions(where, options, "{ monitor: 'validLoss', factor: 0.2, patience: 2 }");
    this.monitor = new Monitor(where, o, 1e-4);
    const factor = o.factor ?? 0.2;
    if (typeof factor !== 'number' || !(factor > 0 && factor < 1))
      throw invalidOption(where, 'factor', 'a number in (0, 1), e.g. 0.2 (the lr is multiplied by it)', factor);
    this.factor = factor;
    this.patience = checkInteger(where, 'patience', o.patience ?? 2, 0, 'a number of epochs');
    this.minLr = checkNonNegative(where, 'minLr', o.minLr ?? 0);
    this.cooldown = checkInteger(where, 'cooldown', o.cooldown ?? 0, 0, 'a number of epochs');
  }

  override onTrainBegin(state: TrainingState): void {
    if (state.mode === 'lrFind') return;
    this.monitor.checkAtStart(state);
    this.best = this.monitor.worst;
    this.wait = 0;
    this.cooldownLeft = 0;
    this.reductions = [];
  }

  override onEpochEnd(state: TrainingState): void {
    if (state.mode === 'lrFind' || !state.stats) return;
    const current = this.monitor.value(state.stats);
    if (this.cooldownLeft > 0) {
      this.cooldownLeft -= 1;
      this.wait = 0;
    }
    if (this.monitor.improved(current, this.best)) {
      this.best = current;
      this.wait = 0;
      return;
    }
    if (this.cooldownLeft > 0) return;
    this.wait += 1;
    const old = state.learner.lr;
    if (this.wait < this.patience || !(old > this.minLr)) return;
    const lr = Math.max(old * this.factor, this.minLr);
    state.learner.setLr(lr);
    this.reductions.push({ epoch: state.epoch, lr });
    this.cooldownLeft = this.cooldown;
    this.wait = 0;
  }
}
