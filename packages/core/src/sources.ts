// The streamed sources behind DataLoaders.fromDataset and fromIterables: what a pass is for each
// (a fresh dataset iterator, a fresh call of the user's function) and how long a pass is.
// Checking the batches, reading ahead and disposing are the loop's (batches.ts), the same for every source.
import * as tf from '@tensorflow/tfjs';
import type { Batch, BatchSource } from './data.js';
import { ConfigError, describeValue } from './errors.js';
import { checkInteger, checkOptions } from './options.js';

export interface DataSourceOptions {
  /**
   * Training batches per epoch. Needed when the source does not know its length (a generator, a
   * tf.data.Dataset of unknown or infinite size) by fitOneCycle, lrFind and the progress bar's
   * total and ETA; `fit` runs without it. A longer source is cut there each epoch (the rest is not
   * read; the next epoch starts a fresh pass); a shorter one ends its epochs early, with a warning.
   */
  batchesPerEpoch?: number;
  /** Batches read ahead while the current one trains (async sources). Default 2; 0 reads each when needed. */
  prefetch?: number;
}

/** What a streamed source yields: `{ xs, ys }` batches, synchronously or not. */
export type BatchIterable = Iterable<Batch> | AsyncIterable<Batch>;

/** Called at the start of each pass (epoch) for a fresh iterable of batches, e.g. `() => readBatches(dir)`. */
export type MakeBatches = () => BatchIterable | Promise<BatchIterable>;

/** A source whose every pass is a fresh iterable from `open`. */
class StreamSource implements BatchSource {
  constructor(
    readonly numBatches: number,
    readonly prefetch: number,
    private readonly open: () => BatchIterable,
  ) {}

  batches(): BatchIterable {
    return this.open();
  }
}

export function datasetSources(
  train: tf.data.Dataset<tf.TensorContainer>,
  valid: tf.data.Dataset<tf.TensorContainer> | undefined,
  options: DataSourceOptions,
): [BatchSource, BatchSource | undefined] {
  const where = 'DataLoaders.fromDataset';
  const o = checkOptions(where, options, '{ batchesPerEpoch: 100 }');
  const { batchesPerEpoch, prefetch } = checkLengths(where, o);
  checkDataset(where, 'train', train);
  const size = datasetSize(train);
  if (size === 0) throw new ConfigError(`${where}: the train dataset is empty (size 0).`);
  if (size === Number.POSITIVE_INFINITY && batchesPerEpoch === undefined)
    throw new ConfigError(
      `${where}: the train dataset never ends (size Infinity, e.g. after .repeat()); pass { batchesPerEpoch: N } to say how many batches make an epoch.`,
    );
  if (batchesPerEpoch !== undefined && batchesPerEpoch > size)
    throw new ConfigError(
      `${where}: batchesPerEpoch ${batchesPerEpoch} is more than the train dataset's ${size} batches; pass at most ${size}, or leave it out to use them all.`,
    );
  const trainSource = new StreamSource(batchesPerEpoch ?? size, prefetch, () => datasetPass(train));
  if (valid === undefined) return [trainSource, undefined];
  checkDataset(where, 'valid', valid);
  const validSize = datasetSize(valid);
  if (validSize === 0 || validSize === Number.POSITIVE_INFINITY)
    throw new ConfigError(
      `${where}: the valid dataset must end and hold at least one batch; its size is ${validSize}. Leave out .repeat() on it, or .take(N).`,
    );
  return [trainSource, new StreamSource(validSize, prefetch, () => datasetPass(valid))];
}

export function iterableSources(
  makeTrain: MakeBatches,
  makeValid: MakeBatches | undefined,
  options: DataSourceOptions,
): [BatchSource, BatchSource | undefined] {
  const where = 'DataLoaders.fromIterables';
  const o = checkOptions(where, options, '{ batchesPerEpoch: 100 }');
  const { batchesPerEpoch, prefetch } = checkLengths(where, o);
  checkMaker(where, 'makeTrain', makeTrain);
  const trainSource = new StreamSource(batchesPerEpoch ?? Number.NaN, prefetch, () => iterablePass(where, 'makeTrain', makeTrain));
  if (makeValid === undefined) return [trainSource, undefined];
  checkMaker(where, 'makeValid', makeValid);
  return [trainSource, new StreamSource(Number.NaN, prefetch, () => iterablePass(where, 'makeValid', makeValid))];
}

function checkLengths(where: string, o: DataSourceOptions): { batchesPerEpoch: number | undefined; prefetch: number } {
  const batchesPerEpoch = o.batchesPerEpoch === undefined ? undefined : checkInteger(where, 'batchesPerEpoch', o.batchesPerEpoch, 1);
  return { batchesPerEpoch, prefetch: checkInteger(where, 'prefetch', o.prefetch ?? 2, 0) };
}

function checkDataset(where: string, name: string, dataset: unknown): void {
  if (!(dataset instanceof tf.data.Dataset) && typeof (dataset as { iterator?: unknown } | null)?.iterator !== 'function')
    throw new ConfigError(
      `${where}: ${name} must be a tf.data.Dataset of { xs, ys } batches; received ${describeValue(dataset)}. For arrays or generators use DataLoaders.fromIterables.${optionsInPlace(name, dataset)}`,
    );
}

/** The dataset's number of elements: a count, Infinity (repeat()), or NaN when it does not know (a generator). */
function datasetSize(dataset: tf.data.Dataset<tf.TensorContainer>): number {
  const size = dataset.size as number | null;
  return typeof size === 'number' && size >= 0 ? size : Number.NaN;
}

/** A fresh dataset iterator, as an async iterable (a tf.data iterator is not one). */
function datasetPass(dataset: tf.data.Dataset<tf.TensorContainer>): AsyncIterable<Batch> {
  return {
    [Symbol.asyncIterator]() {
      // Opened on the first read, so that opening a dataset (which may read a file) is read-ahead too.
      let iterator: ReturnType<typeof dataset.iterator> | undefined;
      return {
        next: async () => {
          iterator ??= dataset.iterator();
          return (await iterator).next() as Promise<IteratorResult<Batch>>;
        },
      };
    },
  };
}

function checkMaker(where: string, name: string, make: unknown): void {
  if (typeof make !== 'function')
    throw new ConfigError(
      `${where}: ${name} must be a function returning a fresh iterable of { xs, ys } batches each epoch, e.g. () => readBatches(dir); received ${describeValue(make)}.${optionsInPlace(name, make)}`,
    );
}

/** The hint for options passed where the validation source goes. */
function optionsInPlace(name: string, value: unknown): string {
  const looksLikeOptions = typeof value === 'object' && value !== null && ('batchesPerEpoch' in value || 'prefetch' in value);
  return looksLikeOptions && name.toLowerCase().includes('valid')
    ? ' Without a validation set, pass undefined in its place: (train, undefined, { batchesPerEpoch }).'
    : '';
}

function iterablePass(where: string, name: string, make: MakeBatches): BatchIterable {
  const made = make();
  if (made instanceof Promise) return laterIterable(made.then((iterable) => checkIterable(where, name, iterable)));
  return checkIterable(where, name, made);
}

function checkIterable(where: string, name: string, made: unknown): BatchIterable {
  const candidate = made as { [Symbol.iterator]?: unknown; [Symbol.asyncIterator]?: unknown } | null;
  if (typeof candidate?.[Symbol.asyncIterator] === 'function' || typeof candidate?.[Symbol.iterator] === 'function')
    return made as BatchIterable;
  throw new ConfigError(
    `${where}: ${name}() must return an iterable or async iterable of { xs, ys } batches (an array, a generator); it returned ${describeValue(made)}.`,
  );
}

/** An async iterable over the iterable a promise gives: for a `makeTrain` that must open something first. */
function laterIterable(pending: Promise<BatchIterable>): AsyncIterable<Batch> {
  return {
    [Symbol.asyncIterator]() {
      const iterator = pending.then((iterable): Iterator<Batch> | AsyncIterator<Batch> =>
        Symbol.asyncIterator in iterable ? iterable[Symbol.asyncIterator]() : iterable[Symbol.iterator](),
      );
      return {
        next: async () => (await iterator).next(),
        return: async () => {
          const opened = await iterator;
          return (await opened.return?.()) ?? { done: true, value: undefined };
        },
      };
    },
  };
}
