/** Shared pieces of the reliability suite: a small deterministic training run and secret checks. */
import { accuracy, type Callback, DataLoaders, Learner } from '@epochcast/core';
import * as tf from '@tensorflow/tfjs';

/** A 3-class toy problem from a fixed LCG: the class is the largest of three inputs. */
export function seededLoaders(n = 96, batchSize = 32): DataLoaders {
  let s = 11;
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
  const x = tf.tensor2d(xs);
  const y = tf.tensor2d(ys);
  const dls = DataLoaders.fromTensors(x, y, { validPct: 0.25, batchSize, seed: 5 });
  tf.dispose([x, y]);
  return dls;
}

export function seededModel(): tf.Sequential {
  const model = tf.sequential();
  model.add(
    tf.layers.dense({
      inputShape: [3],
      units: 8,
      activation: 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 21 }),
      biasInitializer: 'zeros',
    }),
  );
  model.add(tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 22 }) }));
  return model;
}

/** What a run produced, minus wall-clock times: final weights and the per-epoch history. */
export interface RunResult {
  status: string;
  weights: number[][];
  history: { epoch: number; trainLoss: number; validLoss: number; metrics: Record<string, number> }[];
}

export async function trainSeeded(callbacks: Callback[], epochs = 3): Promise<RunResult> {
  const model = seededModel();
  const data = seededLoaders();
  const learn = new Learner({ model, data, loss: 'categoricalCrossentropy', optimizer: 'adam', metrics: [accuracy], callbacks });
  await learn.fit(epochs, { lr: 1e-2 });
  const weights = model.getWeights().map((w) => Array.from(w.dataSync()));
  const history = learn.recorder.history.map(({ epoch, trainLoss, validLoss, metrics }) => ({ epoch, trainLoss, validLoss, metrics }));
  const result = { status: learn.state.status, weights, history };
  model.dispose();
  return result;
}

/** Every secret, and its URL-encoded form, absent from `text`. Returns the ones found. */
export function leakedSecrets(text: string, secrets: readonly string[]): string[] {
  return secrets.filter((s) => s.length >= 4 && (text.includes(s) || text.includes(encodeURIComponent(s))));
}
