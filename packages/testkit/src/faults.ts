/**
 * Fault injection shared by every testkit server.
 *
 * Faults queue up in the order they are declared and each applies to the next N calls it
 * matches, so `faults.rateLimit(1).serverError(1)` answers the first call 429 and the second
 * 5xx. A scope (`{ methods: ['sendMessage'] }`) keeps a fault away from calls it was not meant
 * for — e.g. a notifier's background `getUpdates` poll would otherwise eat a 429 aimed at
 * `sendMessage`.
 */

/** What a server does instead of answering normally. */
export type FaultKind = 'rateLimit' | 'serverError' | 'hang' | 'reset' | 'unauthorized';

/** Restricts a fault to calls of the named methods (Telegram/Slack method names, `upload`, `webhook`, `message`, `auth`). */
export interface FaultScope {
  methods?: readonly string[];
}

/** A fault as a server applies it. */
export type Fault =
  | { kind: 'rateLimit'; retryAfterSec: number }
  | { kind: 'serverError'; status: number | undefined }
  | { kind: 'hang' }
  | { kind: 'reset' }
  | { kind: 'unauthorized' };

interface PendingFault {
  fault: Fault;
  remaining: number;
  methods: ReadonlySet<string> | undefined;
}

interface FaultState {
  queue: PendingFault[];
  latencyMs: number;
}

// Kept outside the class so servers can consume faults without that becoming public API.
const states = new WeakMap<Faults, FaultState>();

function stateOf(faults: Faults): FaultState {
  const state = states.get(faults);
  if (!state) throw new Error('unknown Faults instance');
  return state;
}

function checkCount(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`fault count must be a positive integer, got ${n}`);
}

/** The `faults` property of every testkit server. Methods chain. */
export class Faults {
  constructor() {
    states.set(this, { queue: [], latencyMs: 0 });
  }

  /**
   * Answer the next `n` calls as the service does when it rate-limits: Telegram 429 with
   * `parameters.retry_after`, Slack and webhooks 429 with a `Retry-After` header, SMTP 421.
   */
  rateLimit(n: number, retryAfterSec = 1, scope?: FaultScope): this {
    if (!Number.isInteger(retryAfterSec) || retryAfterSec < 0) throw new RangeError('retryAfterSec must be a non-negative integer');
    return this.#push({ kind: 'rateLimit', retryAfterSec }, n, scope);
  }

  /** Answer the next `n` calls with a server error: HTTP 500 by default, SMTP 451 by default. */
  serverError(n: number, status?: number, scope?: FaultScope): this {
    return this.#push({ kind: 'serverError', status }, n, scope);
  }

  /** Read the next `n` requests and never answer them, until the client gives up or the server closes. */
  hang(n: number, scope?: FaultScope): this {
    return this.#push({ kind: 'hang' }, n, scope);
  }

  /** Reset the connection (TCP RST) on the next `n` requests: clients see ECONNRESET. */
  reset(n: number, scope?: FaultScope): this {
    return this.#push({ kind: 'reset' }, n, scope);
  }

  /** Reject the next `n` calls as a revoked credential would: Telegram 401, Slack `invalid_auth`, webhook 401, SMTP 535. */
  unauthorized(n: number, scope?: FaultScope): this {
    return this.#push({ kind: 'unauthorized' }, n, scope);
  }

  /** Delay every answer by `ms` (0 turns it off). Unlike the others it stays until changed or `clear()`. */
  latency(ms: number): this {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('latency must be a non-negative number of ms');
    stateOf(this).latencyMs = ms;
    return this;
  }

  /** Drop every queued fault and the latency. */
  clear(): this {
    const state = stateOf(this);
    state.queue.length = 0;
    state.latencyMs = 0;
    return this;
  }

  /** Calls still to be faulted, summed over the queue. */
  get pending(): number {
    return stateOf(this).queue.reduce((sum, p) => sum + p.remaining, 0);
  }

  /** The latency applied to every answer, in ms. */
  get latencyMs(): number {
    return stateOf(this).latencyMs;
  }

  #push(fault: Fault, n: number, scope: FaultScope | undefined): this {
    checkCount(n);
    const methods = scope?.methods ? new Set(scope.methods.map((m) => m.toLowerCase())) : undefined;
    stateOf(this).queue.push({ fault, remaining: n, methods });
    return this;
  }
}

/**
 * Consume the first queued fault that applies to `method` and that the caller can apply at
 * this point of its protocol (`accepts`); SMTP, for one, can only answer `unauthorized` at AUTH.
 */
export function takeFault(faults: Faults, method: string, accepts: (kind: FaultKind) => boolean = () => true): Fault | undefined {
  const queue = stateOf(faults).queue;
  const name = method.toLowerCase();
  const index = queue.findIndex((p) => (!p.methods || p.methods.has(name)) && accepts(p.fault.kind));
  const pending = queue[index];
  if (!pending) return undefined;
  pending.remaining -= 1;
  if (pending.remaining === 0) queue.splice(index, 1);
  return pending.fault;
}
