import * as tf from '@tensorflow/tfjs';
import type { Batch } from './data.js';
import type { LossFn } from './losses.js';
import type { Metric } from './metrics.js';

/** Validation loss and metrics over the whole validation set. */
export interface ValidationResult {
  validLoss: number;
  metrics: Record<string, number>;
}

/** Weighted sums of a validation pass: loss then each metric, batch means weighted by batch size. */
export class ValidationSums {
  private samples = 0;
  private readonly sums: number[];

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

/** Loss then each metric for one batch, read back in one transfer. */
export async function evaluateBatch(
  model: tf.LayersModel,
  lossFn: LossFn,
  metrics: readonly Metric[],
  { xs, ys }: Batch,
): Promise<Float32Array> {
  const packed = tf.tidy(() => {
    const pred = model.apply(xs, { training: false }) as tf.Tensor;
    const values = [lossFn(ys, pred), ...metrics.map((m) => m(ys, pred))];
    return tf.stack(values.map((v) => tf.mean(v).toFloat()));
  });
  try {
    return (await packed.data()) as Float32Array;
  } finally {
    packed.dispose();
  }
}
