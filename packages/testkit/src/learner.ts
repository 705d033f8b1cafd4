/**
 * A tiny, real Learner for tests: a learnable 3-class problem (the class is which of three inputs
 * is largest), drawn from a fixed generator so every backend sees the same numbers, and a small
 * MLP with seeded weights. An epoch of the default learner takes a few ms on the cpu backend.
 *
 * ```ts
 * import { toyLearner } from '@epochcast/testkit/learner';
 * const learn = toyLearner([new TelegramCallback({ … })]);
 * await learn.fit(3);
 * ```
 */
import { accuracy, type Callback, type DataLoader, DataLoaders, Learner, type LearnerOptions, type Metric } from '@epochcast/core';
import * as tf from '@tensorflow/tfjs';

export { AlertsAt, AwaitEpochDeliveries, CrashAt, EpochClock, EpochCounter, SlowEpochs } from './callbacks.js';

/** `n` samples of the toy problem: `x` is `[n, 3]` in [0, 1), `y` the one-hot index of the largest input. */
export function toyData(n = 256, seed = 1): { x: tf.Tensor2D; y: tf.Tensor2D } {
  // A Lehmer generator rather than tf.random*: the same data whatever the backend.
  let s = seed;
  const rand = () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
  const xs: number[][] = [];
  const ys: number[][] = [];
  for (let i = 0; i < n; i++) {
    const row = [rand(), rand(), rand()];
    xs.push(row);
    const k = row.indexOf(Math.max(...row));
    ys.push([0, 1, 2].map((j) => (j === k ? 1 : 0)));
  }
  return { x: tf.tensor2d(xs), y: tf.tensor2d(ys) };
}

/**
 * 3 → `hidden` (ReLU) → 3 (softmax), weights seeded by `seed` and `seed + 1`; with `hidden` 0, a
 * single softmax layer (12 parameters) seeded by `seed + 1`.
 */
export function toyModel(seed = 7, hidden = 16): tf.Sequential {
  const model = tf.sequential();
  const input = { inputShape: [3] };
  if (hidden > 0) {
    model.add(tf.layers.dense({ ...input, units: hidden, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }));
  }
  const output = { units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) } as const;
  model.add(tf.layers.dense(hidden > 0 ? output : { ...input, ...output }));
  return model;
}

export interface ToyDataOptions {
  /** The share of the samples held out for validation. Default 0.25. */
  validPct?: number;
  /** Seeds the data generator. Default 1. */
  dataSeed?: number;
  /** Seeds the train/validation split and the batch order (`DataLoaders`' `seed`). Default 3. */
  splitSeed?: number;
}

/** Loaders over `n` samples of the toy problem, a quarter held out for validation unless `validPct` says otherwise. */
export function toyLoaders(n = 256, batchSize = 32, options: ToyDataOptions = {}): DataLoaders<DataLoader, DataLoader> {
  const { validPct = 0.25, dataSeed = 1, splitSeed = 3 } = options;
  const { x, y } = toyData(n, dataSeed);
  const dls = DataLoaders.fromTensors(x, y, { validPct, batchSize, seed: splitSeed });
  tf.dispose([x, y]);
  return dls;
}

export interface ToyLearnerOptions extends ToyDataOptions, Partial<Omit<LearnerOptions, 'model' | 'data' | 'callbacks'>> {
  /** Samples of the toy problem, `validPct` of them for validation. Default 96: 3 training batches of 32. */
  samples?: number;
  /** Default 32. */
  batchSize?: number;
  /** Seeds the model's weights. Default 7. */
  seed?: number;
  /** Hidden units of the model; 0 for none (a single softmax layer). Default 16. */
  hidden?: number;
}

/**
 * A Learner on the toy problem with `callbacks` attached: categorical cross-entropy, Adam, and the
 * `accuracy` metric unless the options say otherwise. Dispose of it with `disposeToyLearner`.
 */
export function toyLearner(callbacks: readonly Callback[] = [], options: ToyLearnerOptions = {}): Learner {
  const {
    samples = 96,
    batchSize = 32,
    seed = 7,
    hidden = 16,
    validPct,
    dataSeed,
    splitSeed,
    loss = 'categoricalCrossentropy',
    metrics = [accuracy] as Metric[],
    ...rest
  } = options;
  return new Learner({
    ...rest,
    loss,
    metrics,
    model: toyModel(seed, hidden),
    data: toyLoaders(samples, batchSize, { validPct, dataSeed, splitSeed }),
    callbacks,
  });
}

/** Frees what `toyLearner` made: the optimizer, the model and the data. */
export function disposeToyLearner(learn: Learner): void {
  learn.dispose();
  learn.model.dispose();
  learn.data.dispose();
}
