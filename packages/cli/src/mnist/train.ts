import { accuracy, type Callback, type DataLoader, DataLoaders, type EpochStats, Learner } from '@epochcast/core';
import * as tf from '@tensorflow/tfjs';
import { CLASSES, loadMnist, MNIST_SIZE, PIXELS } from './digits.js';

export interface TrainMnistOptions {
  /** Digits to load from the 10,000 in the `mnist` package. Default all 10,000. */
  samples?: number;
  /** Default 3. */
  epochs?: number;
  /** Peak learning rate of the one-cycle schedule. Default 1e-2. */
  lrMax?: number;
  /** Default 64. */
  batchSize?: number;
  /** Fraction held out for validation. Default 0.2. */
  validPct?: number;
  /** Seeds the digit subset, the split, the shuffles and the initial weights. Default 42. */
  seed?: number;
  /** Hidden units of the MLP. Default 128. */
  hidden?: number;
  callbacks?: readonly Callback[];
}

export interface MnistRun {
  learn: Learner;
  history: EpochStats[];
  /** Validation accuracy after the last epoch, in [0, 1]. */
  validAccuracy: number;
  trainSamples: number;
  validSamples: number;
  /** Wall time of the fit alone (loading and model building excluded), in ms. */
  fitMs: number;
  /** Frees the model, the data loaders and the optimizer. */
  dispose(): void;
}

/** What the demo trains: all 10,000 digits, 80/20 split, 3 epochs of one-cycle at lrMax 1e-2. */
export const DEMO_CONFIG = { samples: MNIST_SIZE, epochs: 3, lrMax: 1e-2, batchSize: 64, validPct: 0.2, seed: 42 } as const;

/** The demo's model: 784 → hidden (ReLU) → 10 (softmax), with seeded initial weights. */
export function mnistModel(hidden = 128, seed = 42): tf.Sequential {
  const model = tf.sequential();
  model.add(
    tf.layers.dense({
      inputShape: [PIXELS],
      units: hidden,
      activation: 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed }),
    }),
  );
  model.add(
    tf.layers.dense({ units: CLASSES, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
  );
  return model;
}

/**
 * Trains the MLP on real MNIST digits with `fitOneCycle` and returns the learner (its Recorder
 * holds the losses, lrs and epoch table). Whatever backend is active is used: call
 * `selectBackend()` first. Only the returned `dispose()` leaves tensors behind.
 */
export async function trainMnist(options: TrainMnistOptions = {}): Promise<MnistRun> {
  const { samples, epochs, lrMax, batchSize, validPct, seed } = { ...DEMO_CONFIG, ...definedOnly(options) };
  const hidden = options.hidden ?? 128;
  const { x, y } = loadMnist(samples, seed);
  let data: DataLoaders<DataLoader, DataLoader>;
  try {
    data = DataLoaders.fromTensors(x, y, { validPct, batchSize, seed });
  } finally {
    tf.dispose([x, y]);
  }
  const model = mnistModel(hidden, seed);
  const learn = new Learner({
    model,
    data,
    loss: 'categoricalCrossentropy',
    metrics: [accuracy],
    callbacks: [...(options.callbacks ?? [])],
  });
  const dispose = () => {
    learn.dispose();
    data.dispose();
    model.dispose();
  };
  const started = performance.now();
  try {
    await learn.fitOneCycle(epochs, { lrMax });
  } catch (error) {
    dispose();
    throw error;
  }
  const fitMs = performance.now() - started;
  const history = learn.recorder.history;
  return {
    learn,
    history,
    validAccuracy: history.at(-1)?.metrics.accuracy ?? Number.NaN,
    trainSamples: data.train.size,
    validSamples: data.valid.size,
    fitMs,
    dispose,
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
