/**
 * `learn.predict(x)` and `learn.getPreds()`: the model in inference mode (dropout off, batch norm on
 * its moving statistics), batch by batch so a large input never needs one huge activation, yielding
 * to the event loop between batches (notifiers and signal handlers keep running). The returned
 * tensors are the caller's to dispose; nothing else is left behind.
 */
import * as tf from '@tensorflow/tfjs';
import { BatchChecks, forEachBatch } from './batches.js';
import { type BatchSource, DataLoader, type DataLoaders } from './data.js';
import { ConfigError } from './errors.js';
import { checkInteger, checkOptions, invalidOption } from './options.js';

export interface PredictOptions {
  /** Samples per forward pass. Default: the in-memory loader's batch size, else 64. A streamed source keeps its own batches. */
  batchSize?: number;
}

export interface GetPredsOptions extends PredictOptions {
  /**
   * true (default): over the validation set. false: over the training set, in its stored order
   * (never shuffled, and without touching the training shuffle's random state).
   */
  valid?: boolean;
}

/** What `getPreds` returns: the model's outputs and the targets, sample i of each matching. */
export interface Preds {
  preds: tf.Tensor;
  targets: tf.Tensor;
}

/** The options checked, with their defaults: the batch size of an in-memory loader of `data`, else 64. */
export function resolvePredictOptions(where: string, options: GetPredsOptions | undefined, data: DataLoaders): Required<GetPredsOptions> {
  const o = checkOptions(where, options, '{ batchSize: 64 }');
  const valid = o.valid ?? true;
  if (typeof valid !== 'boolean') throw invalidOption(where, 'valid', 'true (the validation set) or false (the training set)', valid);
  const loader = [data.valid, data.train].find((source) => source instanceof DataLoader);
  const defaultBatchSize = loader instanceof DataLoader ? loader.batchSize : 64;
  return { valid, batchSize: checkInteger(where, 'batchSize', o.batchSize ?? defaultBatchSize, 1) };
}

/** `model` on `x` (first dimension = samples), `batchSize` samples at a time. */
export async function predictInBatches(model: tf.LayersModel, x: tf.Tensor, batchSize: number): Promise<tf.Tensor> {
  const where = 'learn.predict';
  if (!(x instanceof tf.Tensor)) throw invalidOption(where, 'x', 'a tf.Tensor whose first dimension is the samples', x);
  if (x.isDisposed) throw new ConfigError(`${where}: x has already been disposed.`);
  const n = x.rank > 0 ? (x.shape[0] ?? 0) : 0;
  if (n === 0) throw new ConfigError(`${where}: x must hold at least one sample (first dimension >= 1); received shape [${x.shape}].`);
  return (await predictBatches(model, inOrder(x, undefined, batchSize))).preds;
}

/**
 * Predictions and targets over a source. An in-memory loader: its own batches for the validation
 * set, in-order slices for the training set. A streamed source (a dataset, an iterable): one fresh
 * pass in the source's own order and batches, each checked as training checks it.
 */
export async function predsOver(model: tf.LayersModel, data: DataLoaders, { valid, batchSize }: Required<GetPredsOptions>): Promise<Preds> {
  const source = valid ? data.valid : data.train;
  if (!source) throw new ConfigError('learn.getPreds: the data has no validation set; pass { valid: false } for the training set.');
  const split = valid ? 'validation' : 'training';
  if (!(source instanceof DataLoader)) return predsOverPass(model, source, split);
  // The training loader shuffles (and advances its random state) on every pass: read its tensors in order instead.
  const batches = split === 'training' || batchSize !== source.batchSize ? inOrder(source.xs, source.ys, batchSize) : source.batches();
  const { preds, targets } = await predictBatches(model, batches);
  return { preds, targets: targets as tf.Tensor };
}

async function predsOverPass(model: tf.LayersModel, source: BatchSource, split: 'training' | 'validation'): Promise<Preds> {
  const preds: tf.Tensor[] = [];
  const targets: tf.Tensor[] = [];
  try {
    await forEachBatch({ source, split, epoch: undefined }, BatchChecks.forModel(model), async ({ xs, ys }) => {
      preds.push(tf.tidy(() => model.apply(xs, { training: false }) as tf.Tensor));
      targets.push(ys.clone());
      await new Promise<void>((resolve) => setImmediate(resolve));
    });
    return { preds: tf.concat(preds), targets: tf.concat(targets) };
  } finally {
    tf.dispose([...preds, ...targets]);
  }
}

/** A batch to predict on; its targets, when given, are collected beside the predictions. */
interface InputBatch {
  readonly xs: tf.Tensor;
  readonly ys?: tf.Tensor | undefined;
}

function* inOrder(xs: tf.Tensor, ys: tf.Tensor | undefined, batchSize: number): Generator<InputBatch> {
  const n = xs.shape[0] ?? 0;
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    yield { xs: xs.slice(start, size), ys: ys?.slice(start, size) };
  }
}

async function predictBatches(model: tf.LayersModel, batches: Iterable<InputBatch>): Promise<{ preds: tf.Tensor; targets?: tf.Tensor }> {
  const preds: tf.Tensor[] = [];
  const targets: tf.Tensor[] = [];
  try {
    for (const batch of batches) {
      try {
        preds.push(tf.tidy(() => model.apply(batch.xs, { training: false }) as tf.Tensor));
        if (batch.ys) targets.push(batch.ys.clone());
      } finally {
        tf.dispose(batch.ys ? [batch.xs, batch.ys] : batch.xs);
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (preds.length === 0) throw new ConfigError('learn.getPreds: the loader gave no batches; there is nothing to predict.');
    const all = tf.concat(preds);
    return targets.length > 0 ? { preds: all, targets: tf.concat(targets) } : { preds: all };
  } finally {
    tf.dispose([...preds, ...targets]);
  }
}
