import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import { ConfigError, describeValue } from './errors.js';
import { invalidOption } from './options.js';
import { type DataSourceOptions, datasetSources, iterableSources, type MakeBatches } from './sources.js';

export interface DataLoadersOptions {
  /** Fraction of the samples held out for validation, in (0, 1). Default 0.2 unless `valid` is given. */
  validPct?: number;
  /** An explicit validation set, instead of `validPct`. */
  valid?: readonly [tf.Tensor, tf.Tensor];
  /** Samples per batch; the last batch of an epoch may be smaller. Default 64. */
  batchSize?: number;
  /** Shuffle the training set every epoch. Default true. */
  shuffle?: boolean;
  /** Seed for the split and the shuffles, so a run can be repeated exactly. Default 42. */
  seed?: number | string;
}

/** One batch: inputs and targets, owned by the caller (dispose both). */
export interface Batch {
  readonly xs: tf.Tensor;
  readonly ys: tf.Tensor;
}

/**
 * One split of the data as the Learner iterates it: the in-memory `DataLoader`, or a streamed
 * source from `DataLoaders.fromDataset` / `fromIterables`. Each call to `batches()` is a fresh
 * pass (an epoch); the Learner disposes every batch it takes, checks its shape, stops after
 * `numBatches` and reads an async source ahead while it trains.
 */
export interface BatchSource {
  /** Batches per pass; NaN when the source does not know (fitOneCycle and lrFind then refuse to start). */
  readonly numBatches: number;
  /** Batches an async source reads ahead while the current one trains; 0 reads each when needed. Default 2. */
  readonly prefetch?: number;
  /** A fresh pass over the data. Sync iterables are pulled as needed; async ones are read ahead. */
  batches(): Iterable<Batch> | AsyncIterable<Batch>;
  /** Frees what the source owns (an in-memory loader's tensors); streamed sources own nothing. */
  dispose?(): void;
}

/** Iterates one split of in-memory tensors in batches. Owns its tensors until `dispose()`. */
export class DataLoader implements BatchSource {
  readonly numBatches: number;
  private readonly random: () => number;

  constructor(
    readonly xs: tf.Tensor,
    readonly ys: tf.Tensor,
    readonly batchSize: number,
    readonly shuffle: boolean,
    seed: number | string,
  ) {
    this.numBatches = Math.ceil(this.size / batchSize);
    this.random = seedrandom(String(seed));
  }

  get size(): number {
    return this.xs.shape[0] ?? 0;
  }

  /** The batches of one epoch, freshly shuffled if `shuffle`; each batch must be disposed by the consumer. */
  *batches(): Generator<Batch> {
    const order = this.shuffle ? shuffledIndices(this.size, this.random) : undefined;
    for (let start = 0; start < this.size; start += this.batchSize) {
      const end = Math.min(start + this.batchSize, this.size);
      if (order) {
        const idx = tf.tensor1d(order.subarray(start, end), 'int32');
        const batch = { xs: tf.gather(this.xs, idx), ys: tf.gather(this.ys, idx) };
        idx.dispose();
        yield batch;
      } else {
        yield { xs: this.xs.slice(start, end - start), ys: this.ys.slice(start, end - start) };
      }
    }
  }

  dispose(): void {
    tf.dispose([this.xs, this.ys]);
  }
}

/**
 * A training and an optional validation source: in memory (`fromTensors`), a tf.data.Dataset
 * (`fromDataset`) or any iterable of batches (`fromIterables`).
 */
export class DataLoaders<Train extends BatchSource = BatchSource, Valid extends BatchSource | undefined = BatchSource | undefined> {
  private constructor(
    readonly train: Train,
    /** Undefined when the data has no validation set: epochs then skip validation (valid_loss #na#). */
    readonly valid: Valid,
  ) {}

  /**
   * Splits `x`/`y` (first dimension = samples) into shuffled training and validation sets.
   * The loaders copy what they need: the caller keeps ownership of `x` and `y` (and of `valid`).
   */
  static fromTensors(x: tf.Tensor, y: tf.Tensor, options: DataLoadersOptions = {}): DataLoaders<DataLoader, DataLoader> {
    const where = 'DataLoaders.fromTensors';
    const { batchSize = 64, shuffle = true, seed = 42 } = options;
    checkTensor(where, 'x', x);
    checkTensor(where, 'y', y);
    checkSameLength(where, 'x', x, 'y', y);
    const n = x.shape[0] ?? 0;
    if (n === 0)
      throw new ConfigError(
        `${where}: x and y are empty (0 samples). Pass tensors whose first dimension is the number of samples, at least 2.`,
      );
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw invalidOption(where, 'batchSize', 'an integer >= 1', batchSize, 'Try { batchSize: 64 }.');
    if (typeof seed !== 'number' && typeof seed !== 'string') throw invalidOption(where, 'seed', 'a number or a string', seed);

    if (options.valid !== undefined) {
      if (options.validPct !== undefined)
        throw new ConfigError(
          `${where}: pass either validPct or valid, not both (received validPct ${describeValue(options.validPct)} and a valid set).`,
        );
      const [vx, vy] = options.valid;
      checkTensor(where, 'valid[0]', vx);
      checkTensor(where, 'valid[1]', vy);
      checkSameLength(where, 'valid[0]', vx, 'valid[1]', vy);
      if ((vx.shape[0] ?? 0) === 0) throw new ConfigError(`${where}: the valid set is empty (0 samples).`);
      checkSameSampleShape(where, 'x', x, 'valid[0]', vx);
      checkSameSampleShape(where, 'y', y, 'valid[1]', vy);
      return new DataLoaders(
        new DataLoader(x.clone(), y.clone(), batchSize, shuffle, seed),
        new DataLoader(vx.clone(), vy.clone(), batchSize, false, seed),
      );
    }

    const validPct = options.validPct ?? 0.2;
    if (typeof validPct !== 'number' || !(validPct > 0 && validPct < 1))
      throw invalidOption(
        where,
        'validPct',
        'a number between 0 and 1 (exclusive)',
        validPct,
        'Try { validPct: 0.2 }, or pass { valid: [xValid, yValid] }.',
      );
    const nValid = Math.round(n * validPct);
    if (nValid < 1 || nValid >= n)
      throw new ConfigError(
        `${where}: validPct ${validPct} of ${n} samples leaves ${nValid} for validation and ${n - nValid} for training; both need at least 1. Use more data or another validPct.`,
      );

    const order = shuffledIndices(n, seedrandom(`${seed}:split`));
    const take = (t: tf.Tensor, from: number, to: number) => tf.tidy(() => tf.gather(t, tf.tensor1d(order.subarray(from, to), 'int32')));
    return new DataLoaders(
      new DataLoader(take(x, nValid, n), take(y, nValid, n), batchSize, shuffle, seed),
      new DataLoader(take(x, 0, nValid), take(y, 0, nValid), batchSize, false, seed),
    );
  }

  /**
   * Streams a tf.data.Dataset of `{ xs, ys }` batches (and an optional validation one): a fresh
   * `dataset.iterator()` every epoch, read ahead while the model trains. The length is
   * `dataset.size` when the dataset knows it, else `batchesPerEpoch`. The datasets stay the caller's.
   */
  static fromDataset(
    train: tf.data.Dataset<tf.TensorContainer>,
    valid?: tf.data.Dataset<tf.TensorContainer>,
    options: DataSourceOptions = {},
  ): DataLoaders<BatchSource, BatchSource | undefined> {
    const [trainSource, validSource] = datasetSources(train, valid, options);
    return new DataLoaders(trainSource, validSource);
  }

  /**
   * Streams any iterables of `{ xs, ys }` batches: `makeTrain()` (and `makeValid()`) is called at
   * the start of every epoch for a fresh pass — a generator reading files, say. Async iterables
   * are read ahead while the model trains. The length is `batchesPerEpoch`, or unknown.
   */
  static fromIterables(
    makeTrain: MakeBatches,
    makeValid?: MakeBatches,
    options: DataSourceOptions = {},
  ): DataLoaders<BatchSource, BatchSource | undefined> {
    const [trainSource, validSource] = iterableSources(makeTrain, makeValid, options);
    return new DataLoaders(trainSource, validSource);
  }

  /** Frees what the loaders own: fromTensors' copies. Datasets and iterables stay the caller's. */
  dispose(): void {
    this.train.dispose?.();
    this.valid?.dispose?.();
  }
}

function shuffledIndices(n: number, random: () => number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = order[i] as number;
    order[i] = order[j] as number;
    order[j] = tmp;
  }
  return order;
}

function checkTensor(where: string, name: string, t: unknown): asserts t is tf.Tensor {
  if (!(t instanceof tf.Tensor)) throw invalidOption(where, name, 'a tf.Tensor', t, 'Convert arrays with tf.tensor2d(...) first.');
  if (t.isDisposed) throw new ConfigError(`${where}: ${name} has already been disposed.`);
  if (t.rank < 1) throw new ConfigError(`${where}: ${name} must have a sample dimension (rank >= 1); received a scalar.`);
}

function checkSameLength(where: string, a: string, ta: tf.Tensor, b: string, tb: tf.Tensor): void {
  if (ta.shape[0] !== tb.shape[0])
    throw new ConfigError(
      `${where}: ${a} and ${b} must have the same number of samples; received ${ta.shape[0]} and ${tb.shape[0]} (shapes [${ta.shape}] and [${tb.shape}]).`,
    );
}

function checkSameSampleShape(where: string, a: string, ta: tf.Tensor, b: string, tb: tf.Tensor): void {
  if (ta.shape.slice(1).join() !== tb.shape.slice(1).join())
    throw new ConfigError(`${where}: ${b} must have the same per-sample shape as ${a}; received [${tb.shape}] and [${ta.shape}].`);
}
