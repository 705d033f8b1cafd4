/**
 * Gives Node's event loop a turn once `everyMs` of work has passed since the last one. A tfjs loop
 * of `await tensor.data()` never lets timers, sockets or signal handlers run by itself.
 */
export class EventLoopTurns {
  private last = 0;

  constructor(readonly everyMs: number) {}

  /** Counts from now: call at the start of a fit. */
  restart(): void {
    this.last = performance.now();
  }

  async yieldIfDue(): Promise<void> {
    if (performance.now() - this.last < this.everyMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.last = performance.now();
  }
}
