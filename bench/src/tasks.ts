// The tasks (model + data) and the training loops the scenarios compare. Fairness rules, the same
// for every variant:
// - a fresh model with identical initial weights and a fresh Adam at the same constant lr;
// - the same training and validation tensors, batch size 64, the training set reshuffled every
//   epoch and each batch gathered from it (DataLoader for raw and Learner, fitLoop's own gather
//   for model.fit);
// - validation loss and accuracy over the whole validation set after every epoch (model.fit is
//   given `validationData` and `metrics: ['accuracy']`; tfjs then also computes the accuracy of
//   every training batch, which the others do not: that is how model.fit works, so another row
//   runs model.fit without metrics — validation loss only, less work than the others);
// - the training loss read back every batch in raw and Learner (both report it);
// - the ProgressCallback draws its live bar (`tty: true`, at most 10 redraws a second) into a
//   stream that discards the bytes: its formatting and writes are measured, a terminal's
//   rendering is not (that depends on the terminal, not on epochcast).

import { loadMnist, mnistModel } from '@epochcast/cli/mnist';
import { accuracy, type Callback, type DataLoader, DataLoaders, Learner, ProgressCallback } from '@epochcast/core';
import * as tf from '@tensorflow/tfjs';
import { nullStream } from './harness.js';

export interface Task {
  name: string;
  describe: string;
  epochs: number;
  /** Measured rounds (after one warm-up round) unless --rounds says otherwise. */
  rounds: number;
  lr: number;
  batchSize: number;
  /** Builds a model with the task's seeded initial weights. */
  model(): tf.LayersModel;
  data(): InMemory;
}

// ---- tasks -------------------------------------------------------------------------------------

/** Compute-bound: the demo's model and data (a batch is ~10 ms of matmuls on wasm). */
export const mnistTask: Task = {
  name: 'mnist-mlp',
  describe: 'MLP 784-128-10 on real MNIST (the demo), 8000 train / 2000 valid',
  epochs: 1,
  rounds: 10,
  lr: 1e-3,
  batchSize: 64,
  model: () => mnistModel(128, 42),
  data() {
    const { x, y } = loadMnist(10_000, 42);
    try {
      return DataLoaders.fromTensors(x, y, { validPct: 0.2, batchSize: this.batchSize, seed: 42 });
    } finally {
      tf.dispose([x, y]);
    }
  },
};

/** Overhead-bound: a batch is under a millisecond, so per-batch loop costs show. */
export const smallTask: Task = {
  name: 'small-mlp',
  describe: 'MLP 16-32-2 on a synthetic 2-class task, 3072 train / 1024 valid',
  epochs: 4,
  rounds: 24,
  lr: 1e-2,
  batchSize: 64,
  model() {
    const model = tf.sequential();
    const init = (seed: number) => tf.initializers.glorotUniform({ seed });
    model.add(tf.layers.dense({ inputShape: [16], units: 32, activation: 'relu', kernelInitializer: init(11) }));
    model.add(tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: init(12) }));
    return model;
  },
  data() {
    // The class is the side of a fixed random hyperplane through tanh(x), with 5% of labels flipped.
    const n = 4096;
    const { x, y } = tf.tidy(() => {
      const x = tf.randomNormal([n, 16], 0, 1, 'float32', 5);
      const w = tf.randomNormal([16, 1], 0, 1, 'float32', 6);
      const score = tf.matMul(tf.tanh(x), w).reshape([n]);
      const flip = tf.less(tf.randomUniform([n], 0, 1, 'float32', 7), 0.05);
      const label = tf.logicalXor(tf.greater(score, 0), flip).toInt();
      return { x, y: tf.oneHot(label, 2).toFloat() };
    });
    try {
      return DataLoaders.fromTensors(x, y, { validPct: 0.25, batchSize: this.batchSize, seed: 42 });
    } finally {
      tf.dispose([x, y]);
    }
  },
};

export const TASKS = [mnistTask, smallTask];

/** Loaders over tensors in memory, whose tensors model.fit takes as they are. */
export type InMemory = DataLoaders<DataLoader, DataLoader>;

// ---- the loops ---------------------------------------------------------------------------------

const categoricalCrossentropy = (yTrue: tf.Tensor, yPred: tf.Tensor): tf.Scalar =>
  tf.mean(tf.metrics.categoricalCrossentropy(yTrue, yPred)) as tf.Scalar;

/** What one writes by hand: minimize per batch, read the loss, then a validation pass. */
export async function rawLoop(model: tf.LayersModel, data: InMemory, task: Task): Promise<number> {
  const opt = tf.train.adam(task.lr);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let validAccuracy = Number.NaN;
  let lastLoss = Number.NaN;
  try {
    for (let epoch = 0; epoch < task.epochs; epoch++) {
      for (const { xs, ys } of data.train.batches()) {
        const loss = tf.tidy(
          () => opt.minimize(() => categoricalCrossentropy(ys, model.apply(xs, { training: true }) as tf.Tensor), true, vars) as tf.Scalar,
        );
        lastLoss = (await loss.data())[0] ?? Number.NaN;
        tf.dispose([loss, xs, ys]);
      }
      let seen = 0;
      let correct = 0;
      let lossSum = 0;
      for (const { xs, ys } of data.valid.batches()) {
        const packed = tf.tidy(() => {
          const pred = model.apply(xs) as tf.Tensor;
          return tf.stack([categoricalCrossentropy(ys, pred), accuracy(ys, pred)]);
        });
        const [loss = Number.NaN, acc = Number.NaN] = await packed.data();
        const n = xs.shape[0] ?? 0;
        seen += n;
        lossSum += loss * n;
        correct += acc * n;
        tf.dispose([packed, xs, ys]);
      }
      validAccuracy = correct / seen;
      if (!Number.isFinite(lossSum)) throw new Error('raw loop: the validation loss is not finite');
    }
  } finally {
    opt.dispose();
  }
  if (!Number.isFinite(lastLoss)) throw new Error('raw loop: the training loss is not finite');
  return validAccuracy;
}

/** `Learner.fit` with the ProgressCallback into a null stream, plus `extra` callbacks; returns the learner (disposed). */
export async function learnerFit(
  model: tf.LayersModel,
  data: DataLoaders,
  task: Pick<Task, 'epochs' | 'lr'>,
  extra: Callback[] = [],
  progressBar = true,
): Promise<Learner> {
  const learn = new Learner({
    model,
    data,
    loss: 'categoricalCrossentropy',
    optimizer: (lr) => tf.train.adam(lr),
    metrics: [accuracy],
    callbacks: [...(progressBar ? [new ProgressCallback({ stream: nullStream(), tty: true })] : []), ...extra],
  });
  try {
    await learn.fit(task.epochs, { lr: task.lr });
  } finally {
    learn.dispose();
  }
  return learn;
}

export const validAccuracy = (learn: Learner): number => learn.recorder.history.at(-1)?.metrics.accuracy ?? Number.NaN;

export async function modelFit(model: tf.LayersModel, data: InMemory, task: Task, metrics: string[]): Promise<number> {
  const opt = tf.train.adam(task.lr);
  model.compile({ optimizer: opt, loss: 'categoricalCrossentropy', metrics });
  try {
    const history = await model.fit(data.train.xs, data.train.ys, {
      epochs: task.epochs,
      batchSize: task.batchSize,
      shuffle: true,
      validationData: [data.valid.xs, data.valid.ys],
      verbose: 0,
    });
    return Number((history.history.val_acc ?? []).at(-1) ?? Number.NaN);
  } finally {
    opt.dispose();
  }
}
