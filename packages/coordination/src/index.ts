import { createHash } from 'node:crypto';
import { ConfigError, describeValue } from '@epochcast/core/errors';
import { localCoordinator } from './local.js';
import type { JoinOptions, Membership } from './types.js';

export type { Coordinator, JoinOptions, Membership, RunRecord, ScopeMessage } from './types.js';

/**
 * The Redis URL runs coordinate through across machines: the option, else `EPOCHCAST_REDIS_URL`,
 * else none (coordination on this machine only). A malformed URL is a ConfigError naming the fix.
 */
export function resolveRedisUrl(where: string, value: string | undefined): string | undefined {
  const raw = value ?? (process.env.EPOCHCAST_REDIS_URL || undefined);
  if (raw === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = typeof raw === 'string' ? new URL(raw) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'redis:' && url.protocol !== 'rediss:'))
    throw new ConfigError(
      `${where}: redisUrl (or EPOCHCAST_REDIS_URL) must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379; received ${
        typeof raw === 'string' ? JSON.stringify(redactUrl(raw)) : describeValue(raw)
      }.`,
    );
  return raw;
}

/** The URL as it may be shown: without its password. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return raw.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/**
 * A scope name for a service account that is safe to show and to use as a socket or Redis key:
 * a digest of the parts (tokens among them), prefixed by the service.
 */
export function scopeName(service: string, ...parts: string[]): string {
  const digest = createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 24);
  return `${service}-${digest}`;
}

/**
 * Joins `scope` through Redis when `redisUrl` is given, else through this machine's socket hub. An
 * unreachable Redis is no reason to fail a run: one warning, and the run coordinates locally.
 */
export async function joinScope(scope: string, options: JoinOptions & { redisUrl?: string | undefined }): Promise<Membership> {
  const { redisUrl, ...join } = options;
  if (redisUrl !== undefined) {
    try {
      const { redisCoordinator } = await import('./redis.js');
      return await redisCoordinator(redisUrl).join(scope, join);
    } catch (error) {
      join.warn(
        `epochcast: could not coordinate through Redis at ${redactUrl(redisUrl)} (${error instanceof Error ? error.message : String(error)}); ` +
          'this run coordinates with runs on this machine only',
      );
    }
  }
  try {
    return await localCoordinator().join(scope, join);
  } catch (error) {
    join.warn(
      `epochcast: could not coordinate with other runs (${error instanceof Error ? error.message : String(error)}); this run acts alone`,
    );
    return soloMembership(join);
  }
}

/**
 * A scope of one, for a run that could not reach any engine: it is its own leader, lists itself,
 * receives what it sends itself, and paces its sends alone (`reserve` rejects, so the caller does).
 * Plugins then work the same way with or without company.
 */
function soloMembership(options: JoinOptions): Membership {
  let record = { ...options.record };
  let leader = false;
  let resigned = false;
  let left = false;
  const guard = (name: string, handler: (() => void) | undefined) => {
    try {
      handler?.();
    } catch (error) {
      options.warn(`epochcast: ${name} of run ${record.id} threw: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const depose = () => {
    if (!leader) return;
    leader = false;
    guard('onDeposed', options.leadership?.onDeposed);
  };
  if (options.leadership) {
    // After `join` resolves, as the engines do: the caller holds the membership when it hears of it.
    setImmediate(() => {
      if (left || resigned || leader) return;
      leader = true;
      guard('onElected', options.leadership?.onElected);
    });
  }
  return {
    runId: record.id,
    engine: 'local',
    get isLeader() {
      return leader;
    },
    update(patch) {
      record = { ...record, ...patch, id: record.id };
    },
    runs: async () => [record],
    async sendTo(runId, message) {
      if (left || runId !== record.id) return false;
      options.onMessage(message);
      return true;
    },
    reserve: () => Promise.reject(new Error('no shared budget: this run acts alone')),
    resign() {
      resigned = true;
      depose();
    },
    async leave() {
      left = true;
      depose();
    },
  };
}
