/**
 * What a plugin's `send()` (or `verify()`) throws tells the Notifier base what to do next — the
 * split grammY makes: the service said no (PermanentError; ConfigRejectedError when it refuses
 * the credentials or the destination themselves), the service asked us to wait (RateLimitError),
 * or it could not be reached / failed on its side (TransientError, or any other error): retry.
 */

/** The service asked us to slow down: the next try waits exactly `retryAfterMs`. */
export class RateLimitError extends Error {
  override readonly name = 'RateLimitError';
  constructor(
    readonly retryAfterMs: number,
    message = `rate limited: retry after ${Math.round(retryAfterMs / 1000)} s`,
  ) {
    super(message);
  }
}

/** The service refused the request (bad token, unknown chat, malformed message): retrying cannot help. */
export class PermanentError extends Error {
  override readonly name: string = 'PermanentError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * The service refused the notifier's configuration itself — the token, the login, the chat or the
 * channel — so nothing this run sends can get through. From `verify()` (or the start message, for
 * a service that can only be checked by posting) it fails the run before its first epoch; during
 * a fit, the base stops sending for the rest of that fit after one warning.
 */
export class ConfigRejectedError extends PermanentError {
  override readonly name = 'ConfigRejectedError';
}

/** The service could not be reached or failed on its side (network error, timeout, 5xx): try again later. */
export class TransientError extends Error {
  override readonly name: string = 'TransientError';
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Maps an HTTP answer to the error a plugin should throw: 429 → RateLimitError (Retry-After in
 * seconds, default 1 s), 408 and 5xx → TransientError, 401, 403 and 404 → ConfigRejectedError (the
 * credentials, or the URL that is one, refused: a webhook revoked or deleted), any other 4xx →
 * PermanentError. The message is `<status> <description>`, or `<what>: HTTP <status> <description>`.
 */
export function httpError(status: number, description: string, retryAfterSeconds?: number, what?: string): Error {
  const message = (what ? `${what}: HTTP ${status} ${description}` : `${status} ${description}`).trim();
  if (status === 429) {
    const seconds = retryAfterSeconds !== undefined && Number.isFinite(retryAfterSeconds) && retryAfterSeconds >= 0 ? retryAfterSeconds : 1;
    return new RateLimitError(seconds * 1000, message);
  }
  if (status === 408 || status >= 500) return new TransientError(message, status);
  if (status === 401 || status === 403 || status === 404) return new ConfigRejectedError(message, status);
  return new PermanentError(message, status);
}

/** The proxy a request went through, as an error names it: `http://***@host:port (from HTTPS_PROXY)`. */
interface ProxyNamed {
  readonly shown: string;
  readonly source: string;
}

/** The fix to suggest; `target` is the destination's `host:port`, whose host NO_PROXY would take. */
function whatToSet(proxy: ProxyNamed, target: string): string {
  if (proxy.source === 'the proxy option') return 'set the proxy option to http://user:password@host:port, or to false to send directly';
  return `set ${proxy.source}=http://user:password@host:port, or add ${target.replace(/:\d+$/, '')} to NO_PROXY`;
}

/**
 * The proxy refused the request: it wants a login (407) or its policy forbids the destination
 * (403). Retrying cannot help; the notifier warns once and sends nothing more this fit.
 */
export class ProxyRefusedError extends PermanentError {
  override readonly name = 'ProxyRefusedError';
  constructor(
    readonly proxy: ProxyNamed,
    status: number,
    host: string,
  ) {
    const why =
      status === 407
        ? 'asks for a login (407 Proxy Authentication Required)'
        : `refused the connection to ${host} (${status}${status === 403 ? ' Forbidden' : ''})`;
    super(`the proxy ${proxy.shown} (from ${proxy.source}) ${why}: ${whatToSet(proxy, host)}`, status);
  }
}

/** The proxy could not be reached (connection refused, unknown host): retried like any network error. */
export class ProxyUnreachableError extends TransientError {
  override readonly name = 'ProxyUnreachableError';
  constructor(
    readonly proxy: ProxyNamed,
    why: string,
    host: string,
  ) {
    super(`could not reach the proxy ${proxy.shown} (from ${proxy.source}) (${why}): check it is running, or ${whatToSet(proxy, host)}`);
  }
}

/** The proxy failure in `error`, when it is one. */
export function proxyFailureOf(error: unknown): ProxyRefusedError | ProxyUnreachableError | undefined {
  return error instanceof ProxyRefusedError || error instanceof ProxyUnreachableError ? error : undefined;
}
