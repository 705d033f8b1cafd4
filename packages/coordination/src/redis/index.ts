/**
 * The Redis engine: runs on several machines coordinate through one Redis (5 or later). It is
 * loaded only when a Redis URL is set, as it needs ioredis, an optional peer dependency.
 *
 * schema.ts says what is kept in Redis, connection.ts holds the connections a process shares,
 * membership.ts what a run does.
 */
import { ConfigError } from '@epochcast/core/errors';
import { checkJoin } from '../checked.js';
import { withDeadline } from '../timing.js';
import type { Coordinator, JoinOptions, Membership } from '../types.js';
import { Connection } from './connection.js';
import { RedisMembership } from './membership.js';

const DEFAULT_LEASE_MS = 6000;
const LEASE_ENV = 'EPOCHCAST_REDIS_LEASE_MS';
/** A join that cannot reach Redis within this rejects, and the run coordinates locally instead. */
const JOIN_TIMEOUT_MS = 3000;
/** Once Redis answers, the rest of a join is a few round trips, given this long even if the first answer came late. */
const JOIN_STEPS_TIMEOUT_MS = 3000;

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
      const { record, auth, options: kept } = checkJoin(scope, options);
      const leaseMs = redisLeaseMs();
      const connection = Connection.acquire(url);
      const member = new RedisMembership(connection, scope, kept, leaseMs, record, auth);
      try {
        await connection.reachable(JOIN_TIMEOUT_MS);
        await withDeadline(member.start(), JOIN_STEPS_TIMEOUT_MS, () => 'Redis stopped answering during the join');
      } catch (error) {
        await member.abandon();
        throw new Error(connection.explain(error));
      }
      return member;
    },
  };
}
