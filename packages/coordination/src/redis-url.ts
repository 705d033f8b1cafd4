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

// Query parameters whose values are credentials: ioredis takes `?password=` (and any option) from
// the query; `sig` is a signed URL's signature. @epochcast/notify's secret registry uses the same rule.
const SECRET_PARAM = /pass|pwd|secret|token|key|auth|sig|credential/i;

/** The URL as it may be shown: without its password, in the user-info part or in the query (`?password=`). */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    for (const name of [...url.searchParams.keys()]) if (SECRET_PARAM.test(name)) url.searchParams.set(name, '***');
    return url.toString();
  } catch {
    return raw
      .replace(/\/\/[^@/]*@/, '//***@')
      .replace(/([?&][^=&#]*(?:pass|pwd|secret|token|key|auth|sig|credential)[^=&#]*=)[^&#]*/gi, '$1***');
  }
}

/**
 * The secrets of a Redis URL as they may appear in a message (a server's error may echo what the
 * client sent): the password of the user-info part and of the query, each as written and decoded.
 */
export function urlSecrets(raw: string): string[] {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return [];
  }
  const values: string[] = [];
  if (url.password) values.push(url.password, decoded(url.password));
  for (const [name, value] of url.searchParams) if (SECRET_PARAM.test(name)) values.push(value, encodeURIComponent(value));
  // Longest first, so that no shorter secret inside a longer one leaves part of it behind.
  return [...new Set(values)].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    // Malformed escapes: the raw form is all there is.
    return text;
  }
}
