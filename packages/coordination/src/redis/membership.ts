/**
 * One run's membership of a scope through Redis: a heartbeat keeps its record alive, a lease on
 * the `leader` key makes it the leader, and every answer or failure from Redis is counted by the
 * shared connection, which warns once per outage.
 */
import { ConfigError } from '@epochcast/core/errors';
import { callHandler, LeaderCallbacks, safeWarn, type Warn } from '../callbacks.js';
import { isRunRecord, parseJsonObject } from '../json.js';
import { withDeadline } from '../timing.js';
import type { JoinOptions, Membership, RunRecord, ScopeMessage } from '../types.js';
import type { Connection, ConnectionMember } from './connection.js';
import {
  BUDGET_MARGIN_MS,
  channelOf,
  INDEX_LEASES,
  RELEASE_LEADER,
  RENEW_LEADER,
  RESERVE_SLOT,
  runKey,
  type ScopeKeys,
  scopeKeys,
} from './schema.js';

/** `leave` never waits longer than this on an unreachable Redis: the keys expire by themselves. */
const LEAVE_TIMEOUT_MS = 2000;

export class RedisMembership implements Membership, ConnectionMember {
  readonly engine = 'redis' as const;
  readonly runId: string;
  private readonly record: RunRecord;
  private readonly keys: ScopeKeys;
  private readonly channel: string;
  private readonly warn: Warn;
  private readonly leadership: LeaderCallbacks;
  /** Renewal, heartbeat and acquisition period. */
  private readonly periodMs: number;
  /** Leadership is given up this long before the lease would expire on Redis, renewed or not. */
  private readonly marginMs: number;
  private closed = false;
  private leaving: Promise<void> | undefined;
  private tickTimer: NodeJS.Timeout | undefined;

  private beating = false;
  private beatAgain = false;

  private leader = false;
  /** Gave up the leader role for good (`resign`). */
  private resigned = false;
  /** Bumped at every change of leadership, so that a late answer about an old term changes nothing. */
  private term = 0;
  private leading = false;
  private watchdog: NodeJS.Timeout | undefined;
  /** After a deposition by the watchdog the key may still name this run: it may take it back. */
  private mayHoldLease = false;

  constructor(
    private readonly connection: Connection,
    private readonly scope: string,
    private readonly options: JoinOptions,
    private readonly leaseMs: number,
  ) {
    this.runId = options.record.id;
    this.record = { ...options.record };
    this.keys = scopeKeys(scope, this.runId);
    this.channel = channelOf(scope, this.runId);
    this.warn = safeWarn(options.warn);
    this.leadership = new LeaderCallbacks(options.leadership, this.warn, this.runId);
    this.periodMs = Math.max(50, Math.floor(leaseMs / 3));
    this.marginMs = Math.max(50, Math.round(leaseMs / 6));
  }

  get isLeader(): boolean {
    return this.leader;
  }

  /** Subscribes, registers and makes a first bid for leadership, once Redis answers; the caller bounds the wait. */
  async start(): Promise<void> {
    await this.connection.subscribe(this.channel, this);
    if (this.closed) return;
    await this.beat();
    if (this.closed) return;
    if (this.options.leadership) await this.lead();
    if (this.closed) return;
    this.connection.members.add(this);
    this.tickTimer = setInterval(() => this.tick(), this.periodMs);
    // The ioredis sockets keep the process alive until `leave`; the timers need not.
    this.tickTimer.unref();
  }

  /** Undoes a join that did not complete, without callbacks: the keys written so far expire by themselves. */
  async abandon(): Promise<void> {
    this.closed = true;
    this.stopTimers();
    this.connection.unsubscribe(this.channel);
    await this.connection.release();
  }

  update(patch: Partial<Omit<RunRecord, 'id'>>): void {
    const { id: _id, ...rest } = patch as Partial<RunRecord>;
    Object.assign(this.record, rest);
    this.heartbeat();
  }

  async runs(): Promise<RunRecord[]> {
    const { command } = this.connection;
    let ids: string[];
    let values: (string | null)[];
    try {
      ids = await command.zrange(this.keys.index, 0, -1);
      values = ids.length > 0 ? await command.mget(ids.map((id) => runKey(this.scope, id))) : [];
      this.connection.answered();
    } catch (error) {
      this.connection.failed(error);
      throw new Error(`epochcast: could not list the runs of scope ${this.scope}: ${this.connection.explain(error)}`);
    }
    const expired = ids.filter((_, i) => values[i] == null);
    if (expired.length > 0) command.zrem(this.keys.index, ...expired).catch(() => {});
    // A foreign or corrupt value under our prefix is not a run.
    const records = values.flatMap((value): RunRecord[] => {
      const record = value == null ? undefined : parseJsonObject(value);
      return isRunRecord(record) && record.id !== this.runId ? [record] : [];
    });
    // This run's own record as it is now, even when its key lapsed during an outage.
    records.push({ ...this.record });
    return records.sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async sendTo(runId: string, message: ScopeMessage): Promise<boolean> {
    try {
      const receivers = await this.connection.command.publish(channelOf(this.scope, runId), JSON.stringify(message));
      this.connection.answered();
      return receivers > 0;
    } catch (error) {
      this.connection.failed(error);
      return false;
    }
  }

  async reserve(intervalMs: number): Promise<number> {
    if (!Number.isFinite(intervalMs) || intervalMs < 0)
      throw new ConfigError(`reserve: intervalMs must be a finite number of milliseconds >= 0; received ${intervalMs}.`);
    const interval = Math.ceil(intervalMs);
    try {
      const wait = await this.connection.command.eval(RESERVE_SLOT, 1, this.keys.budget, interval, BUDGET_MARGIN_MS);
      this.connection.answered();
      if (typeof wait !== 'number') throw new Error(`unexpected reply to the budget script: ${String(wait)}`);
      return Math.max(0, wait);
    } catch (error) {
      this.connection.failed(error);
      const now = Date.now();
      const slot = Math.max(now, this.connection.fallbackBudget.get(this.scope) ?? 0);
      this.connection.fallbackBudget.set(this.scope, slot + interval);
      return slot - now;
    }
  }

  leave(): Promise<void> {
    this.leaving ??= this.close();
    return this.leaving;
  }

  /** Called by the connection with a message published to this run's channel. */
  receive(text: string): void {
    if (this.closed) return;
    const message = parseJsonObject(text);
    if (message) callHandler(this.warn, 'onMessage', this.runId, () => this.options.onMessage(message));
  }

  warnOutage(reason: string): void {
    this.warn(
      `epochcast: lost Redis for scope ${this.scope} (${reason}); until it answers again, runs on other machines ` +
        'do not see this one' +
        (this.options.leadership ? ', leadership is given up within one lease' : '') +
        ' and sends are paced by this process alone',
    );
  }

  private async close(): Promise<void> {
    this.closed = true;
    this.stopTimers();
    // The leader's duties stop before the lease is released, so two leaders never overlap.
    if (this.leader) this.depose();
    this.connection.members.delete(this);
    this.connection.unsubscribe(this.channel);
    // Only over a live connection: queued behind a reconnect, the writes would hold the process up
    // for their timeout, and the record and the lease expire within one lease anyway.
    if (this.connection.command.status === 'ready')
      try {
        await withDeadline(
          this.connection.command
            .multi()
            .del(this.keys.run)
            .zrem(this.keys.index, this.runId)
            .eval(RELEASE_LEADER, 1, this.keys.leader, this.runId)
            .exec(),
          LEAVE_TIMEOUT_MS,
          () => 'leave timed out',
        );
      } catch {
        // Unreachable: the record and the lease expire within one lease.
      }
    await this.connection.release();
  }

  resign(): void {
    if (this.resigned || !this.options.leadership) return;
    this.resigned = true;
    // Duties stop before the lease is released, so two leaders never overlap; then the next run
    // need not wait for the lease to run out.
    if (this.leader) this.depose();
    this.release();
  }

  private release(): void {
    if (this.connection.command.status !== 'ready') return;
    this.connection.command.eval(RELEASE_LEADER, 1, this.keys.leader, this.runId).catch(() => {});
  }

  private tick(): void {
    if (this.closed) return;
    this.heartbeat();
    if (this.options.leadership && !this.resigned) void this.lead();
  }

  /** Refreshes the record in the background: one write in flight at most, plus one for what changed meanwhile. */
  private heartbeat(): void {
    if (this.closed) return;
    if (this.beating) {
      this.beatAgain = true;
      return;
    }
    this.beating = true;
    this.beat()
      .catch((error: unknown) => this.connection.failed(error))
      .finally(() => {
        this.beating = false;
        if (this.beatAgain) {
          this.beatAgain = false;
          this.heartbeat();
        }
      });
  }

  private async beat(): Promise<void> {
    const results = await this.connection.command
      .multi()
      .set(this.keys.run, JSON.stringify(this.record), 'PX', this.leaseMs)
      .zadd(this.keys.index, this.record.startedAt, this.runId)
      .pexpire(this.keys.index, this.leaseMs * INDEX_LEASES)
      .exec();
    const failure = results?.find(([error]) => error)?.[0];
    if (failure) throw failure;
    if (!results) throw new Error('the heartbeat transaction was aborted');
    this.connection.answered();
  }

  /** Acquires or renews the lease; one attempt in flight at most. */
  private async lead(): Promise<void> {
    if (this.leading || this.closed || this.resigned) return;
    this.leading = true;
    const term = this.term;
    // Measured from before the request: the lease on Redis started no earlier.
    const sentAt = performance.now();
    const { command } = this.connection;
    try {
      if (this.leader) {
        const renewed = await command.eval(RENEW_LEADER, 1, this.keys.leader, this.runId, this.leaseMs);
        this.connection.answered();
        if (term !== this.term || this.closed) return;
        if (renewed === 1) this.extend(sentAt);
        else this.depose();
      } else {
        let won = (await command.set(this.keys.leader, this.runId, 'PX', this.leaseMs, 'NX')) === 'OK';
        if (!won && this.mayHoldLease) won = (await command.eval(RENEW_LEADER, 1, this.keys.leader, this.runId, this.leaseMs)) === 1;
        this.connection.answered();
        this.mayHoldLease = false;
        if (term !== this.term || this.closed || this.resigned) {
          // Won after a leave or a resignation began: give the lease back rather than block the scope for a lease.
          if (won && (this.closed || this.resigned)) this.release();
          return;
        }
        if (won) this.elect(sentAt);
      }
    } catch (error) {
      // The watchdog deposes this run if the lease runs out meanwhile.
      this.connection.failed(error);
    } finally {
      this.leading = false;
    }
  }

  private elect(sentAt: number): void {
    this.leader = true;
    this.term += 1;
    this.extend(sentAt);
    this.leadership.elected();
  }

  /** The lease now runs until `sentAt + lease`; leadership ends a margin before that unless renewed again. */
  private extend(sentAt: number): void {
    clearTimeout(this.watchdog);
    const delay = sentAt + this.leaseMs - this.marginMs - performance.now();
    this.watchdog = setTimeout(
      () => {
        this.mayHoldLease = true;
        this.depose();
      },
      Math.max(0, delay),
    );
    this.watchdog.unref();
  }

  private depose(): void {
    if (!this.leader) return;
    this.leader = false;
    this.term += 1;
    clearTimeout(this.watchdog);
    this.watchdog = undefined;
    this.leadership.deposed();
  }

  private stopTimers(): void {
    clearInterval(this.tickTimer);
    this.tickTimer = undefined;
  }
}
