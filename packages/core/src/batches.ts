import * as tf from '@tensorflow/tfjs';
import type { Batch, BatchSource } from './data.js';
import { ConfigError, describeValue } from './errors.js';
import { disposeTensorsIn, Prefetcher } from './prefetch.js';

/** How many batches an async source reads ahead unless it says otherwise. */
export const DEFAULT_PREFETCH = 2;

/** Where a pass is in the run, for error messages. */
export interface BatchPass {
  readonly source: BatchSource;
  readonly split: 'training' | 'validation';
  /** 0-based; undefined outside a fit (`learn.validate()`). */
  readonly epoch: number | undefined;
}

interface SampleShape {
  readonly shape: readonly number[];
  readonly dtype: string;
  /** Where it was first seen, for the message when a later batch differs. */
  readonly seenAt: string;
}

/**
 * What every batch of one fit is checked against, before it reaches the model: a `{ xs, ys }` of
 * tensors with as many samples in each, whose per-sample shapes and dtypes are those of the
 * first batch (training and validation alike) and, for xs, the model's input. A source is
 * outside code: a wrong batch gets an error naming the batch and both shapes, not a broadcast
 * error from deep inside tfjs.
 */
export class BatchChecks {
  private xs: SampleShape | undefined;
  private ys: SampleShape | undefined;
  private readonly warnedShort = new Set<BatchSource>();

  /** `modelInput` is the model's input shape with its batch dimension, e.g. `[null, 784]`. */
  constructor(private readonly modelInput: readonly (number | null)[] | undefined) {}

  static forModel(model: tf.LayersModel): BatchChecks {
    return new BatchChecks(model.inputs.length === 1 ? model.inputs[0]?.shape : undefined);
  }

  /** The element as a batch, or an error naming what is wrong with it (its tensors disposed). */
  check(value: unknown, pass: BatchPass, index: number): Batch {
    const at = `${pass.split} batch ${index}${pass.epoch === undefined ? '' : ` of epoch ${pass.epoch}`}`;
    try {
      const { xs, ys } = asBatch(value, at);
      if (xs.shape[0] !== ys.shape[0] || xs.shape[0] === 0)
        throw new ConfigError(
          `${at} (counting from 0): xs and ys must hold the same number of samples, at least 1; received xs [${xs.shape}] and ys [${ys.shape}].`,
        );
      if (!this.xs) this.checkModelInput(xs, at);
      this.xs = sameAsBefore('xs', xs, this.xs, at);
      this.ys = sameAsBefore('ys', ys, this.ys, at);
      return { xs, ys };
    } catch (error) {
      disposeTensorsIn(value);
      throw error;
    }
  }

  /** A training pass that ended before `numBatches`: said once per source and fit. */
  warnShort(pass: BatchPass, count: number): void {
    if (this.warnedShort.has(pass.source)) return;
    this.warnedShort.add(pass.source);
    console.warn(
      `epochcast: the training source ended after ${count} batches in epoch ${pass.epoch}, short of the ${pass.source.numBatches} ` +
        'it was said to have (batchesPerEpoch, or the dataset size); its epochs end there, and a one-cycle schedule does not reach its end. ' +
        'Pass the number of batches the source really yields.',
    );
  }

  private checkModelInput(xs: tf.Tensor, at: string): void {
    const expected = this.modelInput?.slice(1);
    if (!expected) return;
    const sample = xs.shape.slice(1);
    if (sample.length === expected.length && sample.every((d, i) => expected[i] === null || expected[i] === d)) return;
    const hint =
      sample.length + 1 === expected.length
        ? ' The source yields single samples rather than batches: batch them (a tf.data.Dataset: .batch(32)).'
        : ' Reshape the batches in the source, or build the model for this input.';
    throw new ConfigError(
      `${at} (counting from 0): xs has per-sample shape [${sample}] (batch [${xs.shape}]), but the model takes [${expected.map((d) => d ?? '?')}] (input shape [${this.modelInput?.map((d) => d ?? 'null')}]).${hint}`,
    );
  }
}

function asBatch(value: unknown, at: string): Batch {
  const batch = value as Partial<Record<'xs' | 'ys', unknown>> | null;
  const fix = 'Yield objects { xs: tf.Tensor, ys: tf.Tensor } holding a batch each (first dimension = samples).';
  if (typeof batch !== 'object' || batch === null || !('xs' in batch) || !('ys' in batch))
    throw new ConfigError(`${at} (counting from 0) is not a batch: expected { xs, ys }; received ${describeValue(value)}. ${fix}`);
  for (const name of ['xs', 'ys'] as const) {
    const t = batch[name];
    if (!(t instanceof tf.Tensor))
      throw new ConfigError(`${at} (counting from 0): ${name} must be a tf.Tensor; received ${describeValue(t)}. ${fix}`);
    if (t.isDisposed) throw new ConfigError(`${at} (counting from 0): ${name} was already disposed when the source yielded it.`);
    if (t.rank < 1) throw new ConfigError(`${at} (counting from 0): ${name} is a scalar; it needs a first dimension of samples. ${fix}`);
  }
  return batch as Batch;
}

function sameAsBefore(name: string, t: tf.Tensor, before: SampleShape | undefined, at: string): SampleShape {
  const shape = t.shape.slice(1);
  if (!before) return { shape, dtype: t.dtype, seenAt: at };
  if (before.dtype === t.dtype && before.shape.length === shape.length && before.shape.every((d, i) => d === shape[i])) return before;
  throw new ConfigError(
    `${at} (counting from 0): ${name} has per-sample shape [${shape}] ${t.dtype} (batch [${t.shape}]), but ${before.seenAt} had [${before.shape}] ${before.dtype}. Every batch must hold samples of one shape and dtype; fix the source.`,
  );
}

/** Training batches per epoch, for what cannot run without: a source of unknown length gets a ConfigError saying how to give one. */
export function knownLength(source: BatchSource, where: string, what: string): number {
  if (Number.isFinite(source.numBatches)) return source.numBatches;
  throw new ConfigError(
    `${where}: ${what} needs the number of training batches per epoch, and the training source does not know it (a generator, or a tf.data.Dataset of unknown size). ` +
      'Pass it: DataLoaders.fromIterables(makeTrain, makeValid, { batchesPerEpoch: N }) (fromDataset likewise); learn.fit(epochs) runs without it.',
  );
}

/**
 * One pass over a source: each batch checked, handed to `body`, then disposed. A sync source (the
 * in-memory DataLoader, a generator reading files synchronously) is pulled as the loop needs it;
 * an async one is read ahead (`Prefetcher`), and while a read is under way the loop gives Node's
 * event loop turns around each batch (`turnWhileReading`). However the pass ends (the limit, a stop, an error) the
 * source's `return()` runs and nothing read is left undisposed. Returns the number of batches.
 */
export async function forEachBatch(
  pass: BatchPass,
  checks: BatchChecks,
  body: (batch: Batch, index: number) => Promise<void>,
): Promise<number> {
  const { source } = pass;
  const limit = Number.isFinite(source.numBatches) ? source.numBatches : Number.POSITIVE_INFINITY;
  const iterable = source.batches();
  const count =
    Symbol.asyncIterator in iterable
      ? await prefetched(iterable, source.prefetch ?? DEFAULT_PREFETCH, limit, pass, checks, body)
      : await inOrder(iterable, limit, pass, checks, body);
  if (count === 0)
    throw new ConfigError(
      `the ${pass.split} source yielded no batches${pass.epoch === undefined ? '' : ` in epoch ${pass.epoch}`}. A function given to DataLoaders.fromIterables must return a new iterable on each call (an iterator or generator object runs only once).`,
    );
  if (pass.split === 'training' && Number.isFinite(limit) && count < limit) checks.warnShort(pass, count);
  return count;
}

async function inOrder(
  iterable: Iterable<unknown>,
  limit: number,
  pass: BatchPass,
  checks: BatchChecks,
  body: (batch: Batch, index: number) => Promise<void>,
): Promise<number> {
  let index = 0;
  // for…of calls the iterator's return() when the loop breaks or throws.
  for (const value of iterable) {
    const batch = checks.check(value, pass, index);
    try {
      await body(batch, index);
    } finally {
      tf.dispose([batch.xs, batch.ys]);
    }
    if (++index >= limit) break;
  }
  return index;
}

/**
 * A read progresses only when the event loop turns: each I/O step of it (open, read, close; a
 * timer) needs a turn to deliver its result and start the next, and a training step never gives
 * one. So while a read is under way the loop turns before and after each batch (a few µs each),
 * letting a read of a few I/O steps advance during one batch instead of stalling until the loop
 * next waits for it.
 */
async function turnWhileReading(reader: Prefetcher): Promise<void> {
  if (reader.reading) await new Promise<void>((resolve) => setImmediate(resolve));
}

async function prefetched(
  iterable: AsyncIterable<unknown>,
  depth: number,
  limit: number,
  pass: BatchPass,
  checks: BatchChecks,
  body: (batch: Batch, index: number) => Promise<void>,
): Promise<number> {
  const reader = new Prefetcher(iterable[Symbol.asyncIterator](), depth, limit);
  let index = 0;
  try {
    for (let next = await reader.next(); !next.done; next = await reader.next()) {
      const batch = checks.check(next.value, pass, index);
      await turnWhileReading(reader);
      try {
        await body(batch, index);
      } finally {
        tf.dispose([batch.xs, batch.ys]);
      }
      index++;
      await turnWhileReading(reader);
    }
  } catch (error) {
    // The pass's own error is the one to report; a source that also fails to clean up must not hide it.
    await reader.close().catch(() => undefined);
    throw error;
  }
  await reader.close();
  return index;
}
