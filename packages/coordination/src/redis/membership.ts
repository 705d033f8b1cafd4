/**
 * One run's membership of a scope through Redis: a heartbeat keeps its record alive, a lease on
 * the `leader` key makes it the leader, and every answer or failure from Redis is counted by the
 * shared connection, which warns once per outage.
 */
import { ConfigError } from '@epochcast/core/errors';
import { Inbox, type ScopeAuth, sealMessage } from '../auth.js';
import { bookedInterval, MAX_BACKLOG_MS } from '../budget.js';
import { callHandler, LeaderCallbacks, safeWarn, type Warn } from '../callbacks.js';
import { isJsonObject, parseJsonObject } from '../json.js';
import { isRunId, ownRecord, readRunRecord } from '../records.js';
import { withDeadline } from '../timing.js';
import type { JoinOptions, Membership, RunRecord, ScopeMessage } from '../types.js';
import type { Connection, ConnectionMember } from './connection.js';
import {
  BUDGET_MARGIN_MS,
  CLAIM_BYTES,
  channelOf,
  DISCARD_CLAIM,
  GET_BOUNDED,
  INDEX_LEASES,
  MAX_LISTED,
  MAX_STORED_BYTES,
  READ_CLAIM,
  READ_RUNS,
  RELEASE_LEADER,
  RENEW_LEADER,
  RESERVE_SLOT,
  runKey,
  type ScopeKeys,
  scopeKeys,
} from './schema.js';

/** `leave` never waits longer than this on an unreachable Redis: the keys expire by themselves. */
const LEAVE_TIMEOUT_MS = 2000;
/** The longest message this run reads from its channel: a forwarded command is well under 4 KB. */
const MAX_MESSAGE_CHARS = 64 * 1024;

/** A record as stored under `run:<id>`, once read and (in a scope with a key) its seal checked. */
interface Stored {
  readonly record: RunRecord;
  /** With a key: the heartbeat's sequence number, and whether the run competes for leader. */
  readonly seq?: number;
  readonly candidate?: boolean;
}

export class RedisMembership implements Membership, ConnectionMember {
  readonly engine = 'redis' as const;
  readonly runId: string;
  private record: RunRecord;
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
  /** With a key: opens what other runs send, and drops what they did not seal. */
  private readonly inbox: Inbox | undefined;
  /** With a key: the number of this run's latest heartbeat, which others watch grow. */
  private seq = 0;
  /** With a key: the claim on the leader key this run last found standing, and since when its holder's heartbeat has not grown. */
  private watchedClaim: { holder: string; seq: number; since: number } | undefined;

  /** `record` is the caller's, already checked (`ownRecord`); `auth` the scope's key, if it has one. */
  constructor(
    private readonly connection: Connection,
    private readonly scope: string,
    private readonly options: Omit<JoinOptions, 'authKey'>,
    private readonly leaseMs: number,
    record: RunRecord,
    private readonly auth: ScopeAuth | undefined,
  ) {
    this.runId = record.id;
    this.record = record;
    this.keys = scopeKeys(scope, this.runId);
    this.channel = channelOf(scope, this.runId);
    this.warn = safeWarn(options.warn);
    this.leadership = new LeaderCallbacks(options.leadership, this.warn, this.runId);
    this.inbox = auth && new Inbox(auth, this.runId, this.warn);
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
    const checked = ownRecord({ ...this.record, ...rest, id: this.runId });
    if ('error' in checked) {
      this.warn(`epochcast: ignored an update of run ${this.runId}: ${checked.error}`);
      return;
    }
    this.record = checked.record;
    this.heartbeat();
  }

  async runs(): Promise<RunRecord[]> {
    const { command } = this.connection;
    let pairs: unknown;
    try {
      pairs = await command.eval(READ_RUNS, 1, this.keys.index, runKey(this.scope, ''), MAX_STORED_BYTES, MAX_LISTED);
      this.connection.answered();
    } catch (error) {
      this.connection.failed(error);
      throw new Error(`epochcast: could not list the runs of scope ${this.scope}: ${this.connection.explain(error)}`);
    }
    const found = Array.isArray(pairs) ? pairs : [];
    const expired: string[] = [];
    // A foreign, corrupt or (with a key) unsealed value under our prefix is not a run.
    const records: RunRecord[] = [];
    for (let i = 0; i + 1 < found.length; i += 2) {
      const id: unknown = found[i];
      const value: unknown = found[i + 1];
      if (typeof id !== 'string') continue;
      if (value == null) expired.push(id);
      else if (typeof value === 'string' && id !== this.runId) {
        const stored = this.readStored(id, value);
        if (stored) records.push(stored.record);
      }
    }
    if (expired.length > 0) command.zrem(this.keys.index, ...expired).catch(() => {});
    // This run's own record as it is now, even when its key lapsed during an outage.
    records.push({ ...this.record });
    return records.sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async sendTo(runId: string, message: ScopeMessage): Promise<boolean> {
    try {
      if (!isRunId(runId)) return false;
      const sealed = this.auth ? sealMessage(this.auth, this.runId, runId, message) : message;
      const receivers = await this.connection.command.publish(channelOf(this.scope, runId), JSON.stringify(sealed));
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
    const interval = Math.ceil(bookedInterval(intervalMs));
    try {
      const wait = await this.connection.command.eval(RESERVE_SLOT, 1, this.keys.budget, interval, BUDGET_MARGIN_MS, MAX_BACKLOG_MS);
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
    const parsed = text.length <= MAX_MESSAGE_CHARS ? parseJsonObject(text) : undefined;
    if (!parsed) {
      this.inbox?.reject();
      return;
    }
    const message = this.inbox ? this.inbox.open(parsed) : parsed;
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

  /** This run's record as stored: sealed, with a key, so that no one without it can write a run others believe. */
  private stored(): string {
    const text = JSON.stringify(this.record);
    if (!this.auth) return text;
    // Grows with every heartbeat, within and across memberships of this process (a clock, but only ever compared with itself).
    this.seq = Math.max(this.seq + 1, Date.now());
    const candidate = this.options.leadership !== undefined && !this.resigned;
    const mac = this.auth.mac('record', this.runId, String(this.seq), candidate ? '1' : '0', text);
    return JSON.stringify({ sealed: text, seq: this.seq, cand: candidate, mac });
  }

  /** A stored record read back: undefined when it is malformed, for another id or (with a key) not sealed with it. */
  private readStored(id: string, value: string): Stored | undefined {
    const parsed = parseJsonObject(value);
    if (!this.auth) {
      const record = readRunRecord(parsed);
      return record && record.id === id ? { record } : undefined;
    }
    if (!isJsonObject(parsed)) return undefined;
    const { sealed, seq, cand, mac } = parsed;
    if (typeof sealed !== 'string' || !Number.isSafeInteger(seq) || typeof cand !== 'boolean') return undefined;
    if (!this.auth.verify(mac, 'record', id, String(seq), cand ? '1' : '0', sealed)) return undefined;
    const record = readRunRecord(parseJsonObject(sealed));
    return record && record.id === id ? { record, seq: seq as number, candidate: cand } : undefined;
  }

  private async beat(): Promise<void> {
    const results = await this.connection.command
      .multi()
      .set(this.keys.run, this.stored(), 'PX', this.leaseMs)
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
        if (!won && this.auth && !(await this.claimStands()))
          won = (await command.set(this.keys.leader, this.runId, 'PX', this.leaseMs, 'NX')) === 'OK';
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

  /**
   * With a key: whether the claim on the leader key is a live candidate's. A claim stands while its
   * holder has a record sealed with the key, competes for leader and heartbeats (its sequence
   * number grows within a lease and a period, as measured here); anything else (a value written by
   * someone without the key, a replayed record of a dead run, a run that resigned) is discarded,
   * so that the election never stalls with nobody polling.
   */
  private async claimStands(): Promise<boolean> {
    const { command } = this.connection;
    const claim: unknown = await command.eval(READ_CLAIM, 1, this.keys.leader, CLAIM_BYTES);
    if (typeof claim !== 'string') return true;
    if (isRunId(claim)) {
      const value: unknown = await command.eval(GET_BOUNDED, 1, runKey(this.scope, claim), MAX_STORED_BYTES);
      const stored = typeof value === 'string' ? this.readStored(claim, value) : undefined;
      if (stored?.candidate && stored.seq !== undefined) {
        const watched = this.watchedClaim;
        const now = performance.now();
        if (!watched || watched.holder !== claim || stored.seq > watched.seq) {
          this.watchedClaim = { holder: claim, seq: stored.seq, since: now };
          return true;
        }
        if (now - watched.since <= this.leaseMs + this.periodMs) return true;
      }
    }
    this.watchedClaim = undefined;
    await command.eval(DISCARD_CLAIM, 1, this.keys.leader, claim, CLAIM_BYTES);
    return false;
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
