/**
 * ntfy's answers, mapped to what the Notifier base does with them: wait (RateLimitError, when ntfy
 * says how long), give up on the message (PermanentError) or on the fit (ConfigRejectedError: the
 * credentials or the topic refused), or try again with the base's backoff (TransientError: the
 * server unreachable, a 5xx, a 429 that names no wait).
 */
import { ConfigRejectedError, httpError, PermanentError, RateLimitError, TransientError } from '@epochcast/notify';

/** Most of an error answer read: ntfy's are a line of JSON; a proxy's HTML page is cut here. */
const MAX_ERROR_BODY_BYTES = 4096;

/** ntfy's error body: `{"code":40101,"http":401,"error":"unauthorized","link":"…"}`. */
interface NtfyErrorBody {
  code?: number;
  error?: string;
}

/** What a user should do about a refusal, by HTTP status. */
function hint(status: number): string {
  if (status === 401) return ': ntfy refused the credentials; check NTFY_TOKEN (tk_… or user:password) or the user:password@ in NTFY_URL';
  if (status === 403) return ': these credentials (or none) may not publish to this topic; check NTFY_TOKEN and the topic in NTFY_URL';
  if (status === 404) return ': no ntfy server answers at this URL; check the server part of NTFY_URL';
  return '';
}

/** The error for a refused publish, from its status, `Retry-After` and (bounded) body. */
export async function fromResponse(response: Response, what: string): Promise<Error> {
  const detail = describe(await readBounded(response, MAX_ERROR_BODY_BYTES), response.statusText);
  const retryAfter = response.headers.get('retry-after');
  const seconds = retryAfter === null ? Number.NaN : Number(retryAfter);
  if (response.status === 429 && !(Number.isFinite(seconds) && seconds >= 0))
    // ntfy.sh says "too many requests" without a time: the base's backoff decides.
    return new TransientError(`${what}: HTTP 429 ${detail}`, 429);
  const error = httpError(response.status, `${detail}${hint(response.status)}`, seconds, what);
  if (error instanceof RateLimitError || error instanceof ConfigRejectedError || error instanceof TransientError) return error;
  // 413 (the attachment over the server's limit) and other refusals of this one message.
  return error instanceof PermanentError ? error : new PermanentError(error.message, response.status);
}

/** fetch's own failure ("fetch failed") as a transient error naming the cause (ECONNREFUSED, a timeout). */
export function unreachable(error: unknown, what: string): Error {
  if (error instanceof Error && error.name === 'AbortError') return new TransientError(`${what}: aborted`);
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  const why = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  return new TransientError(`${what}: could not reach the ntfy server (${why})`);
}

/** ntfy's `error` and `code` when the body is its JSON; else the status text. */
function describe(body: string, statusText: string): string {
  try {
    const parsed = JSON.parse(body) as NtfyErrorBody;
    if (parsed && typeof parsed.error === 'string')
      return `${parsed.error.slice(0, 200)}${typeof parsed.code === 'number' ? ` (ntfy code ${parsed.code})` : ''}`;
  } catch {
    // Not ntfy's JSON: a proxy's or a load balancer's page.
  }
  return statusText || 'error';
}

/** At most `max` bytes of a response body, as text; the rest is not downloaded. */
export async function readBounded(response: Response, max: number): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}
