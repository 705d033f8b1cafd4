import { createHash } from 'node:crypto';
import { safeWarn, type Warn } from './callbacks.js';
import { checkJoin } from './checked.js';
import { describeError, errorCode } from './errors.js';
import { localCoordinator } from './local/index.js';
import { redactUrl, urlSecrets } from './redis-url.js';
import { soloMembership } from './solo.js';
import type { JoinOptions, Membership } from './types.js';

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
 * unreachable Redis, or ioredis not installed, is no reason to fail a run: one warning, and the run
 * coordinates locally. Rejects only for a malformed record or `authKey` (a ConfigError).
 */
export async function joinScope(scope: string, options: JoinOptions & { redisUrl?: string | undefined }): Promise<Membership> {
  const { redisUrl, ...join } = options;
  // A malformed record or key is the caller's bug, not an outage: it rejects rather than acting alone.
  const { record, options: kept } = checkJoin(scope, join);
  if (redisUrl !== undefined) {
    try {
      const engine = await loadRedisEngine(safeWarn(join.warn));
      if (engine) return await engine.redisCoordinator(redisUrl).join(scope, join);
    } catch (error) {
      // The server's error may echo what the client sent it: the password too.
      const reason = urlSecrets(redisUrl).reduce((text, secret) => text.split(secret).join('***'), describeError(error));
      join.warn(
        `epochcast: could not coordinate through Redis at ${redactUrl(redisUrl)} (${reason}); ` +
          'this run coordinates with runs on this machine only',
      );
    }
  }
  try {
    return await localCoordinator().join(scope, join);
  } catch (error) {
    join.warn(`epochcast: could not coordinate with other runs (${describeError(error)}); this run acts alone`);
    return soloMembership({ ...kept, record });
  }
}

type RedisEngine = typeof import('./redis/index.js');

/** The Redis engine once loaded, or undefined when ioredis is not installed; settled once per process. */
let redisEngine: Promise<RedisEngine | undefined> | undefined;

/**
 * Loads the Redis engine, and with it ioredis, on the first join with a Redis URL: a run without
 * one never loads either. ioredis is an optional peer dependency; without it the first join warns,
 * once per process (the fix is the same for every notifier of the run), and every join goes local.
 */
function loadRedisEngine(warn: Warn): Promise<RedisEngine | undefined> {
  redisEngine ??= import('ioredis').then(
    () => import('./redis/index.js'),
    (error: unknown) => {
      if (errorCode(error) !== 'ERR_MODULE_NOT_FOUND') throw error;
      warn(
        'epochcast: a Redis URL is set (EPOCHCAST_REDIS_URL or redisUrl) but ioredis is not installed: ' +
          'run `npm install ioredis` where @epochcast/coordination is installed to coordinate through Redis, ' +
          'or unset EPOCHCAST_REDIS_URL; this run coordinates with runs on this machine only',
      );
      return undefined;
    },
  );
  return redisEngine;
}
