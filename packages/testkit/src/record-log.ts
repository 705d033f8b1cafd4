/** The growing list of what a server received, with waiters for records still to come. */

interface Waiter<T> {
  matches: (record: T) => boolean;
  count: number;
  found: T[];
  resolve: (records: T[]) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class RecordLog<T> {
  readonly items: T[] = [];
  readonly #waiters = new Set<Waiter<T>>();
  readonly #describe: (record: T) => string;
  #closed = false;

  constructor(describe: (record: T) => string) {
    this.#describe = describe;
  }

  push(record: T): void {
    this.items.push(record);
    this.touch(record);
  }

  /** Re-match a record that changed (answered, faulted), so predicates on `status` resolve too. */
  touch(record: T): void {
    for (const waiter of this.#waiters) {
      if (waiter.found.includes(record) || !waiter.matches(record)) continue;
      waiter.found.push(record);
      if (waiter.found.length >= waiter.count) this.#settle(waiter);
    }
  }

  /**
   * Resolve with the first `count` matching records, counting those already received, so a
   * test never races a request that landed before it started waiting.
   */
  waitFor(matches: (record: T) => boolean, count: number, timeoutMs: number, what: string): Promise<T[]> {
    if (this.#closed) return Promise.reject(new Error(`server closed while waiting for ${what}`));
    const found = this.items.filter(matches).slice(0, count);
    if (found.length >= count) return Promise.resolve(found);
    return new Promise<T[]>((resolve, reject) => {
      const waiter: Waiter<T> = {
        matches,
        count,
        found,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          const seen = this.items.map(this.#describe).join(', ') || 'nothing';
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${count} × ${what}; received: ${seen}`));
        }, timeoutMs),
      };
      this.#waiters.add(waiter);
    });
  }

  clear(): void {
    this.items.length = 0;
  }

  /** Fail every waiter: a closed server will receive nothing more. */
  close(): void {
    this.#closed = true;
    for (const waiter of this.#waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error('server closed while waiting for a record'));
    }
    this.#waiters.clear();
  }

  #settle(waiter: Waiter<T>): void {
    clearTimeout(waiter.timer);
    this.#waiters.delete(waiter);
    waiter.resolve(waiter.found);
  }
}

/** A record matcher: a predicate, or for API servers a method name. */
export type Match<T> = string | ((record: T) => boolean);

export function toPredicate<T extends { method: string }>(match: Match<T> | undefined): (record: T) => boolean {
  if (match === undefined) return () => true;
  if (typeof match === 'function') return match;
  const name = match.toLowerCase();
  return (record) => record.method.toLowerCase() === name;
}

export function describeMatch<T>(match: Match<T> | undefined): string {
  if (match === undefined) return 'any record';
  return typeof match === 'string' ? `"${match}"` : 'a matching record';
}

export const DEFAULT_WAIT_MS = 5_000;
