/**
 * What the Redis engine keeps in Redis, all under `epochcast:<scope>:`, and the scripts that change
 * it atomically.
 * - `run:<id>`: the run's record as JSON, `PX lease`, refreshed every lease/3 (and on `update`). A
 *   killed run's record expires within one lease. In a scope with a key it is sealed:
 *   `{sealed: <record JSON>, seq, cand, mac}`, the MAC over the run id, a sequence number that grows
 *   with every heartbeat, whether the run is a candidate for leader, and the record.
 * - `runs`: a sorted set of run ids scored by `startedAt`, the index `runs()` reads; ids whose record
 *   has expired are pruned on read. Its own TTL (refreshed by every heartbeat) clears it once every
 *   run of the scope is gone.
 * - `leader`: the leader's run id, `SET NX PX lease`, renewed every lease/3 by a compare-and-pexpire
 *   script and released on `leave` by a compare-and-delete script. In a scope with a key, a claim
 *   stands only while its holder has a sealed record, is a candidate and heartbeats: a candidate
 *   that finds anything else there discards it (`DISCARD_CLAIM`) and bids.
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

/** The most runs `runs()` reads, and the longest stored record it accepts, in bytes. */
export const MAX_LISTED = 256;
export const MAX_STORED_BYTES = 8 * 1024;
/** How much of the leader key a candidate reads: a run id is at most 64 characters. */
export const CLAIM_BYTES = 65;

/**
 * The runs of the scope, oldest first, as `[id, value, id, value, …]`: at most ARGV[3] of them,
 * ids of 64 characters at most, values of ARGV[2] bytes at most (`false` for an expired record, to
 * be pruned). Whatever else was written there is skipped without being read, so a huge or
 * mistyped value cannot swell this process.
 */
export const READ_RUNS = `local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1)
local out = {}
for _, id in ipairs(ids) do
  if string.len(id) <= 64 then
    local key = ARGV[1] .. id
    local len = redis.pcall('STRLEN', key)
    if type(len) == 'number' and len == 0 then
      table.insert(out, id)
      table.insert(out, false)
    elseif type(len) == 'number' and len <= tonumber(ARGV[2]) then
      table.insert(out, id)
      table.insert(out, redis.call('GET', key))
    end
  end
end
return out`;

/** The value of KEYS[1] if it is a string of at most ARGV[1] bytes, else false. */
export const GET_BOUNDED = `local len = redis.pcall('STRLEN', KEYS[1])
if type(len) == 'number' and len > 0 and len <= tonumber(ARGV[1]) then
  return redis.call('GET', KEYS[1])
end
return false`;

/** The start of the leader key (ARGV[1] bytes), or false when it is missing or not a string. */
export const READ_CLAIM = `local t = redis.call('TYPE', KEYS[1])['ok']
if t == 'none' then return false end
if t ~= 'string' then return '' end
return redis.call('GETRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)`;

/** Deletes the leader key if it still starts with ARGV[1] (as READ_CLAIM read it) or is not a string at all. */
export const DISCARD_CLAIM = `local t = redis.call('TYPE', KEYS[1])['ok']
if t == 'none' then return 0 end
if t ~= 'string' or redis.call('GETRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/**
 * A token bucket of capacity 1 (GCRA-style reservation) on Redis's own clock, so that the clocks of
 * the machines do not matter. The key lives until the slot it announces has passed: a shorter TTL
 * would forget a backlog of reservations and let the next sends burst. A slot is never more than
 * ARGV[3] ms ahead, whatever the key held (a run's huge booking, or anything else written there).
 */
export const RESERVE_SLOT = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local booked = redis.pcall('GET', KEYS[1])
local slot = math.min(math.max(now, (type(booked) == 'string' and tonumber(booked)) or 0), now + tonumber(ARGV[3]))
local nextSlot = slot + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%d', nextSlot), 'PX', string.format('%d', nextSlot - now + tonumber(ARGV[2])))
return slot - now`;
