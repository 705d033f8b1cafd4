import { accuracy, type Batch, Callback, type DataLoaders, Learner, type TrainingState } from '@epochcast/core';
import { toyData, toyModel } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';

/** The toy problem's samples as plain arrays, so that each pass makes fresh tensors as a reader of files would. */
export function toyArrays(n: number, seed = 1): { x: number[][]; y: number[][] } {
  const { x, y } = toyData(n, seed);
  const arrays = { x: x.arraySync(), y: y.arraySync() };
  tf.dispose([x, y]);
  return arrays;
}

/** Batch `index` of `batchSize` samples, as new tensors. */
export function batchAt(data: { x: number[][]; y: number[][] }, index: number, batchSize: number): Batch {
  const from = index * batchSize;
  return { xs: tf.tensor2d(data.x.slice(from, from + batchSize)), ys: tf.tensor2d(data.y.slice(from, from + batchSize)) };
}

/**
 * A source that records what the loop asked of it: passes opened, batches read (as they are read,
 * before they are yielded), and passes closed by `return()` or ended by themselves. `log` holds
 * `open`, `request i` (an async read begins), `read i` (it has its batch), `end`, `return` and
 * `threw` in the order they happened; the learner callback
 * `LoopLog` adds its own entries to the same log.
 */
export class Instrumented {
  readonly log: string[] = [];
  opened = 0;
  read = 0;
  returned = 0;
  /** Batches read but not yet handed to a batch hook, at each `onBatchBegin` (the current one excluded). */
  readonly aheadAtBatchBegin: number[] = [];

  constructor(
    readonly data: { x: number[][]; y: number[][] },
    readonly batchSize: number,
    readonly options: {
      batches?: number;
      /** A read waits this long (a timer). */
      waitMs?: number;
      /** A read needs this many turns of the event loop (setImmediate each, as I/O callbacks do), but no time. */
      ioTurns?: number;
      throwAt?: number;
      error?: Error;
    } = {},
  ) {}

  get batches(): number {
    return this.options.batches ?? Math.ceil(this.data.x.length / this.batchSize);
  }

  /** An async generator function, for fromIterables. */
  readonly asyncPass = () => this.passAsync();

  /** A sync generator function, for fromIterables. */
  readonly syncPass = () => this.passSync();

  private async *passAsync(): AsyncGenerator<Batch> {
    this.opened++;
    this.log.push('open');
    let done = false;
    try {
      for (let i = 0; i < this.batches; i++) {
        this.log.push(`request ${i}`);
        if (this.options.waitMs) await new Promise((resolve) => setTimeout(resolve, this.options.waitMs));
        for (let turn = 0; turn < (this.options.ioTurns ?? 0); turn++) await new Promise((resolve) => setImmediate(resolve));
        yield this.readBatch(i);
      }
      done = true;
      this.log.push('end');
    } catch (error) {
      done = true;
      this.log.push('threw');
      throw error;
    } finally {
      if (!done) {
        this.returned++;
        this.log.push('return');
      }
    }
  }

  private *passSync(): Generator<Batch> {
    this.opened++;
    this.log.push('open');
    let done = false;
    try {
      for (let i = 0; i < this.batches; i++) yield this.readBatch(i);
      done = true;
      this.log.push('end');
    } catch (error) {
      done = true;
      this.log.push('threw');
      throw error;
    } finally {
      if (!done) {
        this.returned++;
        this.log.push('return');
      }
    }
  }

  private readBatch(i: number): Batch {
    if (i === this.options.throwAt) throw this.options.error ?? new Error(`disk read failed at batch ${i}`);
    this.read++;
    this.log.push(`read ${i}`);
    return batchAt(this.data, i % Math.ceil(this.data.x.length / this.batchSize), this.batchSize);
  }

  /** A callback logging the loop's batch events into this source's log, and how far ahead the source is. */
  loopLog(): Callback {
    const source = this;
    let readBeforeEpoch = 0;
    return new (class LoopLog extends Callback {
      override onEpochBegin() {
        readBeforeEpoch = source.read;
      }
      override onBatchBegin(s: TrainingState) {
        if (!s.training) return;
        source.aheadAtBatchBegin.push(source.read - readBeforeEpoch - (s.batch + 1));
        source.log.push(`begin ${s.batch}`);
      }
      override onBatchEnd(s: TrainingState) {
        if (s.training) source.log.push(`batchEnd ${s.batch}`);
      }
    })();
  }
}

/** `tf.memory().numTensors` at the end of every epoch, after every other callback. */
export class TensorsPerEpoch extends Callback {
  override order = 1000;
  readonly counts: number[] = [];
  override onEpochEnd() {
    this.counts.push(tf.memory().numTensors);
  }
}

/** A Learner on the toy model (3 inputs, 3 classes) over `data`. */
export function streamLearner(data: DataLoaders, callbacks: Callback[] = []): Learner {
  return new Learner({ model: toyModel(7, 16), data, loss: 'categoricalCrossentropy', metrics: [accuracy], callbacks });
}

/** Frees the learner's optimizer and model (the streamed data owns nothing). */
export function disposeStreamLearner(learn: Learner): void {
  learn.dispose();
  learn.model.dispose();
  learn.data.dispose();
}
