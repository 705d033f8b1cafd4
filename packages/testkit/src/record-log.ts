/** The growing list of what a server received, with waiters for records still to come. */

import { type FaultKind, Faults } from './faults.js';

/** What every server keeps on each record, whatever the service. */
export interface ServiceRecord {
  /** The status answered (HTTP, or SMTP reply code); `null` while pending, and for ever after a hang or reset. */
  status: number | null;
  /** The fault injected into this call, if any. */
  fault?: FaultKind;
  /** `Date.now()` on arrival. */
  at: number;
}

/** A record matcher: a predicate, or the name of the call (the one fault scopes use, case-insensitive). */
export type Match<T> = string | ((record: T) => boolean);

export const DEFAULT_WAIT_MS = 5_000;

interface Waiter<T> {
  matches: (record: T) => boolean;
  count: number;
  found: T[];
  resolve: (records: T[]) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class RecordLog<T extends object> {
  readonly items: T[] = [];
  readonly #names = new WeakMap<T, string>();
  readonly #waiters = new Set<Waiter<T>>();
  readonly #describe: (record: T, name: string) => string;
  #closed = false;

  constructor(describe: (record: T, name: string) => string) {
    this.#describe = describe;
  }

  /** Appends `record`, received as a call named `name` (`sendMessage`, `webhook`, `message`, …). */
  push(record: T, name: string): void {
    this.#names.set(record, name);
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
  waitFor(match: Match<T> | undefined, count: number, timeoutMs: number): Promise<T[]> {
    const what = match === undefined ? 'any record' : typeof match === 'string' ? `"${match}"` : 'a matching record';
    if (this.#closed) return Promise.reject(new Error(`server closed while waiting for ${what}`));
    const matches = this.#predicate(match);
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
          const seen = this.items.map((record) => this.#describe(record, this.#names.get(record) ?? '')).join(', ') || 'nothing';
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

  #predicate(match: Match<T> | undefined): (record: T) => boolean {
    if (match === undefined) return () => true;
    if (typeof match === 'function') return match;
    const name = match.toLowerCase();
    return (record) => this.#names.get(record)?.toLowerCase() === name;
  }

  #settle(waiter: Waiter<T>): void {
    clearTimeout(waiter.timer);
    this.#waiters.delete(waiter);
    waiter.resolve(waiter.found);
  }
}

/** What every testkit server has: where it listens, what it received, the faults to inject. */
export interface LocalServer<R extends ServiceRecord> {
  /** Where clients point. */
  readonly url: string;
  /** Everything received, in arrival order (the live array). */
  readonly received: readonly R[];
  readonly faults: Faults;
  /** The first record (already received or still to come) matching a call name or predicate. */
  waitFor(match?: Match<R>, timeoutMs?: number): Promise<R>;
  /** The first `count` matching records. */
  waitForCount(match: Match<R> | undefined, count: number, timeoutMs?: number): Promise<R[]>;
  clearReceived(): void;
  /** Stop listening, end pending and hung requests, destroy every socket. */
  close(): Promise<void>;
}

/**
 * The recording half of every testkit server: the records of what it received, waits for records
 * still to come, and the faults to inject. A server names each record's call as it arrives (the
 * Bot API or Web API method, `webhook`, `message`, …), so `waitFor('sendMessage')` works wherever
 * that name does.
 */
export abstract class RecordingServer<R extends ServiceRecord> implements Omit<LocalServer<R>, 'url'> {
  readonly faults = new Faults();
  protected readonly log: RecordLog<R>;

  /** `describe` names a record in a timeout error; by default its call and status: `sendMessage(429)`. */
  constructor(describe: (record: R, name: string) => string = (record, name) => `${name}(${record.status ?? record.fault ?? 'pending'})`) {
    this.log = new RecordLog(describe);
  }

  /** Every record, in arrival order (the live array). */
  get received(): readonly R[] {
    return this.log.items;
  }

  /** The first record (already received or still to come) matching a call name or predicate. */
  async waitFor(match?: Match<R>, timeoutMs = DEFAULT_WAIT_MS): Promise<R> {
    const [record] = await this.log.waitFor(match, 1, timeoutMs);
    return record as R;
  }

  /** The first `count` matching records. */
  waitForCount(match: Match<R> | undefined, count: number, timeoutMs = DEFAULT_WAIT_MS): Promise<R[]> {
    return this.log.waitFor(match, count, timeoutMs);
  }

  clearReceived(): void {
    this.log.clear();
  }

  /** Stop listening, end pending and hung requests, destroy every socket. */
  abstract close(): Promise<void>;
}
