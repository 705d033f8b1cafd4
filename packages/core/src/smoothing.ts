/**
 * fastai's SmoothenValue: an exponential moving average of the loss, debiased so the first
 * values are not pulled towards 0. `avg = β·avg + (1−β)·x`, reported as `avg / (1 − βⁿ)`.
 */
export class SmoothenValue {
  private n = 0;
  private avg = 0;
  value = Number.NaN;

  constructor(readonly beta = 0.98) {}

  add(x: number): number {
    this.n += 1;
    this.avg = this.beta * this.avg + (1 - this.beta) * x;
    this.value = this.avg / (1 - this.beta ** this.n);
    return this.value;
  }

  /** Where the average stands, for a checkpoint: a resumed run smooths on as if never stopped. */
  snapshot(): SmootherState {
    return { n: this.n, avg: this.avg, value: this.value };
  }

  restore(state: SmootherState): void {
    this.n = state.n;
    this.avg = state.avg;
    this.value = state.value;
  }

  reset(): void {
    this.n = 0;
    this.avg = 0;
    this.value = Number.NaN;
  }
}

export interface SmootherState {
  n: number;
  avg: number;
  value: number;
}
