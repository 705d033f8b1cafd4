import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The signature of a webhook request, as Slack and Stripe sign theirs:
 * `x-epochcast-signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. The
 * timestamp is signed with the body, so a captured request cannot be replayed once it is older
 * than the receiver's tolerance.
 */
export const SIGNATURE_HEADER = 'x-epochcast-signature';
/** One id per notification, the same on every retry of it: a receiver drops a delivery it has seen. */
export const DELIVERY_HEADER = 'x-epochcast-delivery';

const DEFAULT_TOLERANCE_SECONDS = 300;
// A real header is about 80 characters; a longer one is not ours, and is not worth parsing.
const MAX_HEADER_LENGTH = 1024;

/** The header value for `body` signed at `timestamp` (unix seconds). */
export function signWebhookBody(secret: string, body: string | Uint8Array, timestamp: number): string {
  return `t=${timestamp},v1=${hmac(secret, timestamp, body).toString('hex')}`;
}

function hmac(secret: string, timestamp: number, body: string | Uint8Array): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
}

export interface VerifyWebhookSignatureOptions {
  /** The request body exactly as received (the raw bytes or their text), not re-serialized JSON. */
  body: string | Uint8Array;
  /** The `x-epochcast-signature` header as the server framework gives it. */
  header: string | readonly string[] | null | undefined;
  /** The secret the sender signs with (`secret` of WebhookCallback, `EPOCHCAST_WEBHOOK_SECRET`). */
  secret: string;
  /** How far the signed time may be from now, either way, in seconds. Default 300. */
  toleranceSeconds?: number;
  /** The time to check against, in milliseconds since the epoch (as `Date.now()`). Default now. */
  now?: number;
}

/** Why a request was refused: no header, not in the `t=…,v1=…` form, too old, from the future, or not signed with the secret. */
export type WebhookSignatureFailure = 'missing' | 'malformed' | 'stale' | 'future' | 'mismatch';

/** A webhook request whose signature does not hold: answer it 401 and do not act on it. */
export class WebhookSignatureError extends Error {
  override readonly name = 'WebhookSignatureError';
  constructor(
    readonly reason: WebhookSignatureFailure,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Checks a request from WebhookCallback: the `x-epochcast-signature` header must carry a `v1`
 * HMAC-SHA256 of `"<t>.<raw body>"` with `secret` (compared in constant time), and its `t` must be
 * within `toleranceSeconds` of now, so a captured request replays only within that window (drop
 * repeats of one `x-epochcast-delivery` id to close it). Returns the signed time (unix seconds);
 * throws WebhookSignatureError (with `reason`) otherwise.
 *
 * ```ts
 * const { timestamp } = verifyWebhookSignature({ body: rawBody, header: req.headers['x-epochcast-signature'], secret });
 * ```
 */
export function verifyWebhookSignature(options: VerifyWebhookSignatureOptions): { timestamp: number } {
  const { body, header, secret, toleranceSeconds = DEFAULT_TOLERANCE_SECONDS, now = Date.now() } = options;
  if (typeof secret !== 'string' || secret.length === 0)
    throw new TypeError('verifyWebhookSignature: secret must be the non-empty string the sender signs with (EPOCHCAST_WEBHOOK_SECRET).');
  if (typeof body !== 'string' && !(body instanceof Uint8Array))
    throw new TypeError('verifyWebhookSignature: body must be the raw request body (a string or a Buffer), as received.');
  if (!Number.isFinite(toleranceSeconds) || toleranceSeconds <= 0)
    throw new RangeError(
      `verifyWebhookSignature: toleranceSeconds must be a positive number of seconds (default 300); received ${toleranceSeconds}.`,
    );
  if (!Number.isFinite(now)) throw new RangeError('verifyWebhookSignature: now must be milliseconds since the epoch, as Date.now() gives.');

  const value = Array.isArray(header) ? header.join(',') : header;
  if (typeof value !== 'string' || value.trim() === '')
    throw new WebhookSignatureError('missing', `no ${SIGNATURE_HEADER} header: the request is unsigned (is the sender's secret set?).`);
  const { timestamp, signatures } = parseHeader(value);

  const expected = hmac(secret, timestamp, body);
  // Every v1 is compared, so a sender may sign with an old and a new secret while the receiver rotates.
  let matched = false;
  for (const signature of signatures) matched = timingSafeEqual(expected, signature) || matched;
  if (!matched)
    throw new WebhookSignatureError(
      'mismatch',
      'the signature does not match: the body was changed, or it was signed with another secret.',
    );

  const age = now / 1000 - timestamp;
  if (age > toleranceSeconds)
    throw new WebhookSignatureError(
      'stale',
      `the request was signed ${Math.round(age)} s ago, more than the ${toleranceSeconds} s allowed: a replay, or a clock far behind.`,
    );
  if (-age > toleranceSeconds)
    throw new WebhookSignatureError(
      'future',
      `the request is signed ${Math.round(-age)} s in the future, more than the ${toleranceSeconds} s allowed: check the sender's clock.`,
    );
  return { timestamp };
}

function parseHeader(value: string): { timestamp: number; signatures: Buffer[] } {
  const malformed = (why: string) =>
    new WebhookSignatureError('malformed', `${SIGNATURE_HEADER} is malformed (${why}); expected "t=<unix seconds>,v1=<64 hex digits>".`);
  if (value.length > MAX_HEADER_LENGTH) throw malformed(`${value.length} characters long`);
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const field = part.slice(eq + 1).trim();
    if (eq < 0) throw malformed('a part without "="');
    if (key === 't') {
      if (timestamp !== undefined) throw malformed('two timestamps');
      if (!/^\d{1,12}$/.test(field)) throw malformed('t is not a whole number of seconds');
      timestamp = Number(field);
    } else if (key === 'sha256') {
      throw malformed('sha256=… signs the body alone, so a captured request replays forever: upgrade the sender');
    } else if (key === 'v1') {
      if (!/^[0-9a-fA-F]{64}$/.test(field)) throw malformed('v1 is not 64 hex digits');
      signatures.push(Buffer.from(field, 'hex'));
    }
    // Other keys (a later scheme's v2) are left to the receivers that know them.
  }
  if (timestamp === undefined) throw malformed('no t');
  if (signatures.length === 0) throw malformed('no v1');
  return { timestamp, signatures };
}
