import * as tf from '@tensorflow/tfjs';

const END: IteratorResult<unknown> = { done: true, value: undefined };

/**
 * Reads an async source ahead of the loop: while the current batch trains, up to `depth` more are
 * being read. Reads run one after another — the next starts when the one before it has returned —
 * so any async iterator works, even one that cannot take two `next()` calls at once (a generator
 * awaiting a file, a tf.data iterator). At most `limit` elements are read in a pass: with
 * `batchesPerEpoch`, the rest of a longer source is never pulled.
 */
export class Prefetcher {
  /** Reads started and not yet taken, oldest first. */
  private readonly ahead: Promise<IteratorResult<unknown>>[] = [];
  /** The last read started: the next one waits for it. */
  private tail: Promise<unknown> = Promise.resolve();
  private started = 0;
  private ended = false;
  private closed = false;
  private inFlight = false;

  constructor(
    private readonly iterator: AsyncIterator<unknown>,
    private readonly depth: number,
    private readonly limit: number,
  ) {}

  /** Whether the source is working on a read right now (the loop then lets its I/O callbacks run). */
  get reading(): boolean {
    return this.inFlight;
  }

  /** The next element of the pass (done at its end); starts reading the ones after it before returning. */
  next(): Promise<IteratorResult<unknown>> {
    if (this.ahead.length === 0 && this.started < this.limit) this.read();
    const next = this.ahead.shift() ?? Promise.resolve(END);
    while (this.ahead.length < this.depth && this.started < this.limit) this.read();
    return next;
  }

  /**
   * Ends the pass early or late: waits for a read in flight, disposes every element read but not
   * taken, then lets the source clean up (`return()`, which runs a generator's `finally`) unless
   * it already ended by itself.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.ahead.splice(0)) {
      const result = await pending.catch(() => END);
      if (!result.done) disposeTensorsIn(result.value);
    }
    if (!this.ended) await this.iterator.return?.();
  }

  private read(): void {
    this.started++;
    const result = this.tail.then(async () => {
      if (this.ended || this.closed) return END;
      this.inFlight = true;
      try {
        const step = await this.iterator.next();
        if (step.done) this.ended = true;
        return step;
      } catch (error) {
        this.ended = true;
        throw error;
      } finally {
        this.inFlight = false;
      }
    });
    // A failed read reaches the loop when it takes that element; until then it must not count as unhandled.
    this.tail = result.catch(() => undefined);
    this.ahead.push(result);
  }
}

/** Disposes whatever tensors a source's element holds, whatever its shape (a wrong one too). */
export function disposeTensorsIn(value: unknown): void {
  if (value instanceof tf.Tensor) value.dispose();
  else if (typeof value === 'object' && value !== null) tf.dispose(value as tf.TensorContainer);
}
