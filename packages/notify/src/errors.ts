/**
 * What a plugin's `send()` throws tells the Notifier base what to do next — the split grammY
 * makes: the service said no (PermanentError), the service asked us to wait (RateLimitError), or
 * it could not be reached / failed on its side (TransientError, or any other error): retry.
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
  override readonly name = 'PermanentError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The service could not be reached or failed on its side (network error, timeout, 5xx): try again later. */
export class TransientError extends Error {
  override readonly name = 'TransientError';
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
 * seconds, default 1 s), 408 and 5xx → TransientError, any other 4xx → PermanentError.
 */
export function httpError(status: number, description: string, retryAfterSeconds?: number): Error {
  const message = `${status} ${description}`.trim();
  if (status === 429) {
    const seconds = retryAfterSeconds !== undefined && Number.isFinite(retryAfterSeconds) && retryAfterSeconds >= 0 ? retryAfterSeconds : 1;
    return new RateLimitError(seconds * 1000, message);
  }
  if (status === 408 || status >= 500) return new TransientError(message, status);
  return new PermanentError(message, status);
}
