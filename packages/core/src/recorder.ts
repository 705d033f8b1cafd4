import { Callback } from './callback.js';
import { formatStatsTable } from './format.js';
import { renderLossPlot, renderLrFindPlot, renderLrPlot, renderMetricsPlot } from './plot/charts.js';
import type { Plot } from './plot/plot.js';
import type { EpochStats, TrainingState } from './state.js';

/** The LR finder's sweep, as `lrFind()` returns it and `plotLrFind()` draws it. */
export interface LrFindResult {
  /** The suggestion: the lr of steepest descent of the smoothed loss (see `suggestLr`). */
  suggestedLr: number;
  /** The lr with the lowest smoothed loss, divided by 10 (fastai v1's printed hint). */
  minLossLr: number;
  lrs: number[];
  /** Smoothed losses, one per lr. */
  losses: number[];
}

/** The Recorder's record of a fit, as a checkpoint keeps it. */
export interface RecorderSnapshot {
  rawLosses: number[];
  losses: number[];
  lrs: number[];
  moms: number[];
  history: EpochStats[];
  epochEndSteps: number[];
  metricNames: string[];
}

/**
 * Always attached to a Learner (`learn.recorder`). Keeps, for the latest fit, every training
 * batch's raw and smoothed loss, lr and momentum, and every epoch's stats; prints fastai's table
 * and draws the plots. The LR finder's sweep is kept apart, in `lrFindResult`.
 */
export class Recorder extends Callback {
  override order = -10;
  override runDuringLrFind = true;

  rawLosses: number[] = [];
  /** Smoothed losses (fastai's SmoothenValue, β = 0.98, debiased). */
  losses: number[] = [];
  lrs: number[] = [];
  moms: number[] = [];
  history: EpochStats[] = [];
  /** Number of training batches recorded when each epoch ended (x positions of the valid losses). */
  epochEndSteps: number[] = [];
  metricNames: string[] = [];
  lrFindResult: LrFindResult | undefined;
  private sweepLrs: number[] = [];
  private sweepLosses: number[] = [];

  override onTrainBegin(state: TrainingState): void {
    if (state.mode === 'lrFind') {
      this.sweepLrs = [];
      this.sweepLosses = [];
      return;
    }
    // A resumed fit continues the history its checkpoint brought back.
    if (state.resumedFromEpoch !== undefined) return;
    this.rawLosses = [];
    this.losses = [];
    this.lrs = [];
    this.moms = [];
    this.history = [];
    this.epochEndSteps = [];
    this.metricNames = state.learner.metricNames;
  }

  override onBatchEnd(state: TrainingState): void {
    if (!state.training) return;
    if (state.mode === 'lrFind') {
      this.sweepLrs.push(state.lr);
      this.sweepLosses.push(state.smoothLoss);
      return;
    }
    this.rawLosses.push(state.loss);
    this.losses.push(state.smoothLoss);
    this.lrs.push(state.lr);
    this.moms.push(state.mom);
  }

  override onEpochEnd(state: TrainingState): void {
    if (state.mode === 'lrFind' || !state.stats) return;
    this.history.push(state.stats);
    this.epochEndSteps.push(this.losses.length);
  }

  /** What a checkpoint keeps of the latest fit (copies). */
  snapshot(): RecorderSnapshot {
    const { rawLosses, losses, lrs, moms, history, epochEndSteps, metricNames } = this;
    return structuredClone({ rawLosses, losses, lrs, moms, history, epochEndSteps, metricNames });
  }

  /** Brings back what `snapshot()` kept, as `learn.load(dir)` does. */
  restore(saved: RecorderSnapshot): void {
    const copy = structuredClone(saved);
    this.rawLosses = copy.rawLosses;
    this.losses = copy.losses;
    this.lrs = copy.lrs;
    this.moms = copy.moms;
    this.history = copy.history;
    this.epochEndSteps = copy.epochEndSteps;
    this.metricNames = copy.metricNames;
  }

  /** The latest sweep of `lrFind()`, as recorded so far (the finder reads it to decide when to stop). */
  get sweep(): { readonly lrs: readonly number[]; readonly losses: readonly number[] } {
    return { lrs: this.sweepLrs, losses: this.sweepLosses };
  }

  /** fastai's epoch table: `epoch  train_loss  valid_loss  <metrics>  time`. */
  formatStats(): string {
    return formatStatsTable(this.history, this.metricNames);
  }

  /** Smoothed training loss per batch, and validation loss at each epoch's end. */
  plotLosses(): Plot {
    return renderLossPlot({
      losses: this.losses,
      validLosses: this.history.map((s, i) => ({ step: this.epochEndSteps[i] ?? 0, loss: s.validLoss })),
    });
  }

  /** Learning rate (and momentum, when the optimizer has one) per training batch. */
  plotLr(): Plot {
    return renderLrPlot({ lrs: this.lrs, moms: this.moms });
  }

  /** Each validation metric per epoch. */
  plotMetrics(): Plot {
    return renderMetricsPlot({ history: this.history, metricNames: this.metricNames });
  }

  /** Smoothed loss against lr (log scale) from the latest `lrFind()`, with the suggestion marked. */
  plotLrFind(): Plot {
    const result = this.lrFindResult;
    if (!result) throw new Error('Recorder.plotLrFind: no LR finder sweep recorded yet; run `await learn.lrFind()` first.');
    return renderLrFindPlot(result);
  }
}
