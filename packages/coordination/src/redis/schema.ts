/**
 * What the Redis engine keeps in Redis, all under `epochcast:<scope>:`, and the scripts that change
 * it atomically.
 * - `run:<id>`: the run's record as JSON, `PX lease`, refreshed every lease/3 (and on `update`). A
 *   killed run's record expires within one lease.
 * - `runs`: a sorted set of run ids scored by `startedAt`, the index `runs()` reads; ids whose record
 *   has expired are pruned on read. Its own TTL (refreshed by every heartbeat) clears it once every
 *   run of the scope is gone.
 * - `leader`: the leader's run id, `SET NX PX lease`, renewed every lease/3 by a compare-and-pexpire
 *   script and released on `leave` by a compare-and-delete script.
 * - `budget`: the next free send slot of the scope (Unix ms on Redis's clock).
 * - channel `to:<id>`: messages to run `<id>`, which subscribes to it.
 */

/** How long the run index outlives the last heartbeat of any run of the scope, in leases. */
export const INDEX_LEASES = 10;
/** How long the budget key outlives the last reserved slot: any positive value would do. */
export const BUDGET_MARGIN_MS = 1000;

export interface ScopeKeys {
  readonly run: string;
  readonly index: string;
  readonly leader: string;
  readonly budget: string;
}

/** The keys of scope `scope` that run `runId` writes. */
export function scopeKeys(scope: string, runId: string): ScopeKeys {
  return {
    run: runKey(scope, runId),
    index: `epochcast:${scope}:runs`,
    leader: `epochcast:${scope}:leader`,
    budget: `epochcast:${scope}:budget`,
  };
}

export function runKey(scope: string, runId: string): string {
  return `epochcast:${scope}:run:${runId}`;
}

/** The pub/sub channel of run `runId`'s messages. */
export function channelOf(scope: string, runId: string): string {
  return `epochcast:${scope}:to:${runId}`;
}

/** Renews the lease only if this run still holds it: another run may have taken it after expiry. */
export const RENEW_LEADER = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

/** Releases the lease only if this run still holds it. */
export const RELEASE_LEADER = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/**
 * A token bucket of capacity 1 (GCRA-style reservation) on Redis's own clock, so that the clocks of
 * the machines do not matter. The key lives until the slot it announces has passed: a shorter TTL
 * would forget a backlog of reservations and let the next sends burst.
 */
export const RESERVE_SLOT = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
local nextSlot = slot + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%d', nextSlot), 'PX', string.format('%d', nextSlot - now + tonumber(ARGV[2])))
return slot - now`;
