/**
 * The Redis engine: runs on several machines coordinate through one Redis (5 or later).
 *
 * Keys, all under `epochcast:<scope>:`
 * - `run:<id>`: the run's record as JSON, `PX lease`, refreshed every lease/3 (and on `update`). A
 *   killed run's record expires within one lease.
 * - `runs`: a sorted set of run ids scored by `startedAt`, the index `runs()` reads; ids whose record
 *   has expired are pruned on read. Its own TTL (refreshed by every heartbeat) clears it once every
 *   run of the scope is gone.
 * - `leader`: the leader's run id, `SET NX PX lease`, renewed every lease/3 by a compare-and-pexpire
 *   script and released on `leave` by a compare-and-delete script.
 * - `budget`: the next free send slot of the scope (Unix ms on Redis's clock).
 * - channel `to:<id>`: messages to run `<id>`, which subscribes to it.
 *
 * One command connection and one subscriber connection per URL per process, shared by every
 * membership and closed when the last one leaves, so that a process exits by itself afterwards.
 */

import { ConfigError } from '@epochcast/core/errors';
import { Command, Redis, type RedisOptions } from 'ioredis';
import type { Coordinator, JoinOptions, Membership, RunRecord, ScopeMessage } from './types.js';

const DEFAULT_LEASE_MS = 6000;
const LEASE_ENV = 'EPOCHCAST_REDIS_LEASE_MS';
/** A join that cannot reach Redis within this rejects, and the run coordinates locally instead. */
const JOIN_TIMEOUT_MS = 3000;
const COMMAND_TIMEOUT_MS = 2000;
const CONNECT_TIMEOUT_MS = 2000;
/** `leave` never waits longer than this on an unreachable Redis: the keys expire by themselves. */
const LEAVE_TIMEOUT_MS = 2000;
const QUIT_TIMEOUT_MS = 1000;
/** How long the run index outlives the last heartbeat of any run of the scope, in leases. */
const INDEX_LEASES = 10;
/** How long the budget key outlives the last reserved slot: any positive value would do. */
const BUDGET_MARGIN_MS = 1000;

/** Renews the lease only if this run still holds it: another run may have taken it after expiry. */
const RENEW_LEADER = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

/** Releases the lease only if this run still holds it. */
const RELEASE_LEADER = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/**
 * A token bucket of capacity 1 (GCRA-style reservation) on Redis's own clock, so that the clocks of
 * the machines do not matter. The key lives until the slot it announces has passed: a shorter TTL
 * would forget a backlog of reservations and let the next sends burst.
 */
const RESERVE_SLOT = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
local nextSlot = slot + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%d', nextSlot), 'PX', string.format('%d', nextSlot - now + tonumber(ARGV[2])))
return slot - now`;

/** The lease: `EPOCHCAST_REDIS_LEASE_MS`, else 6000 ms. A malformed value is a ConfigError naming the fix. */
export function redisLeaseMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[LEASE_ENV];
  if (raw === undefined || raw === '') return DEFAULT_LEASE_MS;
  const value = Number(raw.trim());
  if (!/^\d+$/.test(raw.trim()) || value < 300 || value > 600_000)
    throw new ConfigError(
      `${LEASE_ENV} must be a whole number of milliseconds from 300 to 600000 (default ${DEFAULT_LEASE_MS}); received ${JSON.stringify(
        raw.length > 40 ? `${raw.slice(0, 37)}...` : raw,
      )}. Unset it or set it to e.g. ${LEASE_ENV}=${DEFAULT_LEASE_MS}.`,
    );
  return value;
}

/** The Redis engine at `url` (redis:// or rediss://, as checked by `resolveRedisUrl`). */
export function redisCoordinator(url: string): Coordinator {
  return {
    engine: 'redis',
    async join(scope: string, options: JoinOptions): Promise<Membership> {
      const leaseMs = redisLeaseMs();
      const connection = Connection.acquire(url);
      const member = new RedisMembership(connection, scope, options, leaseMs);
      try {
        await connection.reachable(JOIN_TIMEOUT_MS);
        // Redis answers: the rest is a few round trips, given time even if the first answer came late.
        await deadline(member.start(), Math.max(COMMAND_TIMEOUT_MS, JOIN_TIMEOUT_MS), () => 'Redis stopped answering during the join');
      } catch (error) {
        await member.abandon();
        throw new Error(connection.explain(error));
      }
      return member;
    },
  };
}

/** The connections to one URL, shared by the memberships of this process. */
class Connection {
  private static readonly byUrl = new Map<string, Connection>();

  static acquire(url: string): Connection {
    let connection = Connection.byUrl.get(url);
    if (!connection) {
      connection = new Connection(url);
      Connection.byUrl.set(url, connection);
    }
    connection.refs += 1;
    return connection;
  }

  readonly command: Redis;
  /** Joined memberships: those told about outages. */
  readonly members = new Set<RedisMembership>();
  private subscriber: Redis | undefined;
  private readonly channels = new Map<string, RedisMembership>();
  /** Memberships joined or joining; the connections close when it drops to 0. */
  private refs = 0;
  private down = false;
  /** The last connection error, which says more than "max retries per request" does. */
  private lastError: string | undefined;
  private readonly secrets: string[];
  /** Where sends are paced while Redis cannot be reached: this process only, but never in bursts. */
  readonly fallbackBudget = new Map<string, number>();

  private constructor(readonly url: string) {
    this.secrets = passwordForms(url);
    const options: RedisOptions = {
      // Commands issued during a short blip wait for the reconnect, but a long outage fails them
      // after one retry instead of queueing heartbeats without bound.
      enableOfflineQueue: true,
      maxRetriesPerRequest: 1,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: CONNECT_TIMEOUT_MS,
      retryStrategy: (times) => Math.min(100 * times, 1000),
      // How long disconnect() lets a socket linger: we QUIT first, or the server is gone. ioredis
      // also arms this timer for a socket already closed (nothing clears it), holding the process up.
      disconnectTimeout: 100,
      // Shown by CLIENT LIST, so that whoever runs the Redis can tell epochcast's clients apart.
      connectionName: `epochcast-${process.pid}`,
    };
    this.command = new Redis(url, options);
    this.watch(this.command);
  }

  /**
   * Resolves once Redis answers PING, trying again until `withinMs` has passed: a refused
   * connection fails at once, yet a server restarting may be back a second later.
   */
  async reachable(withinMs: number): Promise<void> {
    const until = performance.now() + withinMs;
    let last: unknown;
    for (;;) {
      const left = until - performance.now();
      if (left <= 0) throw new Error(`Redis did not answer within ${withinMs} ms${last === undefined ? '' : ` (${this.explain(last)})`}`);
      // Its own timeout rather than a race: a command left queued while the connection is
      // reconnecting survives disconnect() with its timer, which would keep the process up.
      const ping = new Command('ping', [], { replyEncoding: 'utf8' });
      ping.setTimeout(Math.ceil(left));
      this.command.sendCommand(ping);
      try {
        await ping.promise;
        this.answered();
        return;
      } catch (error) {
        if (!(error instanceof Error && /timed out/i.test(error.message))) last = error;
        await sleep(Math.min(100, Math.max(0, until - performance.now())));
      }
    }
  }

  /** The subscriber, created with the first subscription: a subscribed connection takes no other commands. */
  async subscribe(channel: string, member: RedisMembership): Promise<void> {
    if (!this.subscriber) {
      // No ready check (INFO) and no client info (CLIENT SETINFO) on this one: ioredis 5.8.2+ can
      // write a SUBSCRIBE queued during connect ahead of them, and Redis then refuses them with
      // "Connection in subscriber mode" (ioredis #2037, fixed in 6.0) and the join fails.
      const subscriber = this.command.duplicate({ enableReadyCheck: false, disableClientInfo: true });
      this.watch(subscriber);
      subscriber.on('message', (ch: string, text: string) => this.channels.get(ch)?.receive(text));
      this.subscriber = subscriber;
    }
    this.channels.set(channel, member);
    await this.subscriber.subscribe(channel);
  }

  unsubscribe(channel: string): void {
    if (!this.channels.delete(channel) || this.refs <= 1) return;
    this.subscriber?.unsubscribe(channel).catch(() => {});
  }

  /** Counts a failed command; the first failure of an outage warns every member once. */
  failed(error: unknown): void {
    if (this.down) return;
    this.down = true;
    const reason = this.explain(error);
    for (const member of this.members) member.warnOutage(reason);
  }

  /** Any answer from Redis ends the outage (a paused server never drops the connection, so 'ready' alone would not). */
  answered(): void {
    this.down = false;
    this.lastError = undefined;
  }

  /** The error as one line without the URL's password. */
  explain(error: unknown): string {
    let text = error instanceof Error ? error.message : String(error);
    if (/max retries per request|connection is closed/i.test(text)) text = this.lastError ?? 'connection lost';
    for (const secret of this.secrets) text = text.split(secret).join('***');
    return text;
  }

  async release(): Promise<void> {
    this.refs -= 1;
    if (this.refs > 0) return;
    if (Connection.byUrl.get(this.url) === this) Connection.byUrl.delete(this.url);
    const connections = [this.command, ...(this.subscriber ? [this.subscriber] : [])];
    await Promise.all(
      connections.map(async (connection) => {
        try {
          if (connection.status === 'ready') await deadline(connection.quit(), QUIT_TIMEOUT_MS, () => 'quit timed out');
        } catch {
          // Closed below either way.
        } finally {
          connection.disconnect();
        }
      }),
    );
  }

  private watch(connection: Redis): void {
    // Without a listener, ioredis prints every reconnect failure; the outage warning says it once.
    connection.on('error', (error: unknown) => {
      this.lastError = error instanceof Error ? error.message : String(error);
      this.failed(error);
    });
    connection.on('ready', () => this.answered());
  }
}

class RedisMembership implements Membership {
  readonly engine = 'redis' as const;
  readonly runId: string;
  private readonly record: RunRecord;
  private readonly keys: { run: string; index: string; leader: string; budget: string };
  private readonly channel: string;
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
    const prefix = `epochcast:${scope}:`;
    this.keys = { run: `${prefix}run:${this.runId}`, index: `${prefix}runs`, leader: `${prefix}leader`, budget: `${prefix}budget` };
    this.channel = channelOf(scope, this.runId);
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
      values = ids.length > 0 ? await command.mget(ids.map((id) => this.runKey(id))) : [];
      this.connection.answered();
    } catch (error) {
      this.connection.failed(error);
      throw new Error(`epochcast: could not list the runs of scope ${this.scope}: ${this.connection.explain(error)}`);
    }
    const expired = ids.filter((_, i) => values[i] == null);
    if (expired.length > 0) command.zrem(this.keys.index, ...expired).catch(() => {});
    const records = values.flatMap((value) => parseRecord(value)).filter((r) => r.id !== this.runId);
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
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) return;
    try {
      this.options.onMessage(message as ScopeMessage);
    } catch (error) {
      this.options.warn(
        `epochcast: a message handler of scope ${this.scope} threw: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  warnOutage(reason: string): void {
    this.options.warn(
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
        await deadline(
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
    try {
      this.options.leadership?.onElected();
    } catch (error) {
      this.options.warn(`epochcast: onElected of scope ${this.scope} threw: ${error instanceof Error ? error.message : String(error)}`);
    }
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
    try {
      this.options.leadership?.onDeposed();
    } catch (error) {
      this.options.warn(`epochcast: onDeposed of scope ${this.scope} threw: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private stopTimers(): void {
    clearInterval(this.tickTimer);
    this.tickTimer = undefined;
  }

  private runKey(id: string): string {
    return `epochcast:${this.scope}:run:${id}`;
  }
}

function channelOf(scope: string, runId: string): string {
  return `epochcast:${scope}:to:${runId}`;
}

function parseRecord(value: string | null | undefined): RunRecord[] {
  if (value == null) return [];
  try {
    const record: unknown = JSON.parse(value);
    if (typeof record === 'object' && record !== null && typeof (record as RunRecord).id === 'string') return [record as RunRecord];
  } catch {
    // A foreign or corrupt value under our prefix: not a run.
  }
  return [];
}

/** The password of `url` as it may appear in a message: as written and decoded. */
function passwordForms(url: string): string[] {
  try {
    const { password } = new URL(url);
    if (!password) return [];
    let decoded = password;
    try {
      decoded = decodeURIComponent(password);
    } catch {
      // Malformed escapes: the raw form is all there is.
    }
    return [...new Set([password, decoded])].filter((s) => s.length > 0);
  } catch {
    return [];
  }
}

async function deadline<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
