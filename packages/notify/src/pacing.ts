/**
 * Pacing: a service's rate limit (`limits.minSendIntervalMs`) holds for its account as a whole —
 * every run posting with one bot token or to one channel shares it. A notifier joins the scope of
 * its account (`SharedAccount`) and books each request on the scope's budget (`SendPacer`); alone,
 * or when the budget is out of reach, it keeps its own pace.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type JoinOptions, joinScope, type Membership, type RunRecord } from '@epochcast/coordination';
import { errorMessage, settledWithin } from './bounds.js';
import type { RunInfo } from './notification.js';

/** What a plugin asks of the runs it shares an account with (see `Notifier.coordination`). */
export interface ScopeRequest {
  /** Names the account; safe to show (see `scopeName`). */
  scope: string;
  /** Compete for the scope's single leader role (Telegram's one getUpdates poller). */
  leadership?: JoinOptions['leadership'];
  /** Messages other runs send this one. */
  onMessage?: JoinOptions['onMessage'];
  /**
   * The scope's key, derived from the account's secret with `scopeAuthKey(service, secret)`: then
   * only runs holding the secret can join the scope, send this run messages or lead it (see
   * `JoinOptions.authKey`). Set it whenever other runs send this one commands.
   */
  authKey?: Uint8Array;
}

/** How long the first send of a fit waits for the join, to share the budget from the start. */
const JOIN_WAIT_MS = 5000;
/** A dead engine must not hold up the end of a run. */
const LEAVE_WAIT_MS = 3000;
/**
 * The longest wait for a turn on the shared budget a notifier honours (or ten of its gaps, if
 * longer): the honest runs of a sweep rarely queue that deep. A budget booked further ahead was
 * booked by something else (any process that can reach the scope can book it), and the run then
 * paces its sends by itself rather than hold its messages, and the end of its fit, back.
 */
export const MAX_SHARED_WAIT_MS = 20_000;

/** This run's membership of the scope of its account, joined in the background. */
export class SharedAccount {
  private current: Membership | undefined;
  readonly joined: Promise<Membership | undefined>;
  private distrusted = false;

  /** `warn` gets whole lines (the engines' own, and this one's), free of secrets. */
  constructor(
    request: ScopeRequest,
    run: RunInfo,
    redisUrl: string | undefined,
    private readonly warn: (line: string) => void,
  ) {
    const record: RunRecord = {
      id: run.id,
      name: run.name,
      host: run.host,
      pid: process.pid,
      startedAt: run.startedAt,
      epoch: 0,
      totalEpochs: run.totalEpochs,
      status: 'running',
    };
    this.joined = joinScope(request.scope, {
      record,
      redisUrl,
      onMessage: request.onMessage ?? (() => {}),
      ...(request.leadership ? { leadership: request.leadership } : {}),
      ...(request.authKey ? { authKey: request.authKey } : {}),
      warn,
    }).then(
      (membership) => {
        this.current = membership;
        return membership;
      },
      (error: unknown) => {
        warn(`epochcast: could not coordinate with other runs (${errorMessage(error)}); this run paces its own sends`);
        return undefined;
      },
    );
  }

  /** The membership once joined. */
  get membership(): Membership | undefined {
    return this.current;
  }

  /** The membership, waiting a little for the join when it is still under way. */
  async settled(): Promise<Membership | undefined> {
    return this.current ?? (await settledWithin(this.joined, JOIN_WAIT_MS));
  }

  /** The budget answered a wait longer than any honest backlog: said once per fit, as every send then paces itself. */
  budgetOverbooked(waitMs: number, limitMs: number): void {
    if (this.distrusted) return;
    this.distrusted = true;
    this.warn(
      `epochcast: the send budget shared with the other runs on this account is booked ${Math.round(waitMs / 1000)} s ahead, ` +
        `more than the ${Math.round(limitMs / 1000)} s any run waits: something booked it far ahead; this run paces its own sends`,
    );
  }

  /** Leaves after the last message, each step bounded. */
  async leave(): Promise<void> {
    const membership = await settledWithin(this.joined, LEAVE_WAIT_MS);
    await settledWithin(membership?.leave().catch(() => {}) ?? Promise.resolve(), LEAVE_WAIT_MS);
  }
}

/**
 * Spaces one notifier's requests `gapMs` apart — apart from every request of every run on the
 * account once joined — and counts the time spent waiting for a turn behind the other runs (the
 * flush bound does not count it).
 */
export class SendPacer {
  /** When this notifier's last request went, or the start of its slot on the shared budget. */
  private lastSendAt = Number.NEGATIVE_INFINITY;
  private sharedWaited = 0;
  private sharedWaitSince: number | undefined;

  /**
   * Waits for this request's turn, then counts it as sent. Its own pace holds in any case, counted
   * from its last slot (so a late wake-up is not carried into the next send): the shared budget
   * books at most a few seconds per slot, which a longer gap goes beyond.
   */
  async wait(gapMs: number, account: SharedAccount | undefined, signal: AbortSignal): Promise<void> {
    const shared = account && (await account.settled());
    const slot = gapMs > 0 && account && shared ? await this.waitForSharedSlot(account, shared, gapMs, signal) : undefined;
    const ownWait = this.lastSendAt + gapMs - performance.now();
    if (ownWait > 0) await sleep(ownWait, undefined, { signal });
    this.lastSendAt = slot !== undefined && ownWait <= 0 ? slot : performance.now();
  }

  /** Time spent waiting for slots on the shared budget so far, the wait in progress included. */
  sharedWaitMs(): number {
    const current = this.sharedWaitSince === undefined ? 0 : performance.now() - this.sharedWaitSince;
    return this.sharedWaited + current;
  }

  /**
   * Waits for this run's slot on the budget shared with the other runs on the account. A run whose
   * event loop is busy may wake a little late into its slot; booking again would waste the slot and
   * send it to the back of the queue, which under load stretches every run's wait. Out of reach, or
   * booked implausibly far ahead (see MAX_SHARED_WAIT_MS), the budget is not waited for: the caller
   * paces itself. Resolves with when the slot began (performance.now()), or undefined without one.
   */
  private async waitForSharedSlot(
    account: SharedAccount,
    shared: Membership,
    gapMs: number,
    signal: AbortSignal,
  ): Promise<number | undefined> {
    let wait: number;
    try {
      wait = await shared.reserve(gapMs);
    } catch {
      return undefined;
    }
    const limit = Math.max(MAX_SHARED_WAIT_MS, 10 * gapMs);
    if (!(wait <= limit)) {
      account.budgetOverbooked(wait, limit);
      return undefined;
    }
    const slot = performance.now() + wait;
    if (wait > 0) {
      this.sharedWaitSince = performance.now();
      try {
        await sleep(wait, undefined, { signal });
      } finally {
        this.sharedWaited += performance.now() - this.sharedWaitSince;
        this.sharedWaitSince = undefined;
      }
    }
    return slot;
  }
}
