import { ConfigError, describeValue } from '@epochcast/core/errors';

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
