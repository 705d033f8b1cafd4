import { Callback } from '../callback.js';
import { CancelFitError } from '../errors.js';
import type { TrainingState } from '../state.js';

/**
 * Stops the fit (status `stopped`) at the end of the first training batch whose loss is NaN or
 * ±Infinity: once the weights hold NaN nothing more can be learned, and every further epoch only
 * wastes time. The reason names the epoch and batch, e.g.
 * `loss is NaN at epoch 2, batch 17 (step 487); …`. A batch cancelled before its forward pass
 * (so with no loss of its own) is not judged.
 */
export class TerminateOnNaN extends Callback {
  override order = 50;
  private lossComputed = false;

  override onBatchBegin(): void {
    this.lossComputed = false;
  }

  override onLossBegin(state: TrainingState): void {
    if (state.training) this.lossComputed = true;
  }

  override onBatchEnd(state: TrainingState): void {
    if (state.mode === 'lrFind' || !state.training || !this.lossComputed || Number.isFinite(state.loss)) return;
    throw new CancelFitError(
      `loss is ${state.loss} at epoch ${state.epoch}, batch ${state.batch} (step ${state.step}); the training diverged, try a lower learning rate`,
    );
  }
}
