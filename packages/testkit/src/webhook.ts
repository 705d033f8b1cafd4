/**
 * A generic JSON webhook receiver that checks epochcast's signature header as a receiver would:
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, the time within a tolerance.
 * Written apart from `verifyWebhookSignature` in @epochcast/notify, so each checks the other.
 */

import { createHmac, timingSafeEqual } from 'node:crypto';
import { type AnsweredFault, FakeService, type ServiceCall, type ServiceRequest } from './fake-service.js';
import { flattenHeaders, mediaType } from './http.js';
import { jsonOrUndefined } from './params.js';
import type { LocalServer, ServiceRecord } from './record-log.js';

/** The header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. */
export const SIGNATURE_HEADER = 'x-epochcast-signature';
/** The header naming a delivery: the same on every retry of one notification. */
export const DELIVERY_HEADER = 'x-epochcast-delivery';

/** The redirect statuses `redirect()` may answer with. */
export type RedirectStatus = 301 | 302 | 303 | 307 | 308;

export interface WebhookRequest extends ServiceRecord {
  /** Request path, query included. */
  path: string;
  method: string;
  /** The parsed JSON body; `undefined` when the body was not JSON. */
  body: unknown;
  rawBody: string;
  /** Header names lowercased; repeated headers joined with `, `. */
  headers: Record<string, string>;
  /** Whether the signature matched and its time was within `toleranceSeconds`; `null` when the server has no secret. */
  signatureValid: boolean | null;
  /** The `x-epochcast-delivery` header: one id per notification, repeated by its retries. */
  deliveryId: string | undefined;
}

export interface WebhookServerOptions {
  /** Verify `x-epochcast-signature: t=…,v1=…` with this HMAC-SHA256 key. */
  secret?: string;
  /** How far the signed time may be from the server's clock, either way. Default 300 s. */
  toleranceSeconds?: number;
  /** Answer a bad, stale or missing signature 401, as a real receiver would. Default true (it is recorded either way). */
  rejectInvalidSignature?: boolean;
}

/** Every request is the call `webhook` (for fault scopes and `waitFor`). */
export interface WebhookServer extends LocalServer<WebhookRequest> {
  /** POST anywhere under this URL. */
  readonly url: string;
  /**
   * Answers every later request for `path` (the path alone, no query) with a redirect to
   * `location` (absolute, or relative to the request), recorded with that status.
   */
  redirect(path: string, location: string, status?: RedirectStatus): this;
}

/** The signature header value for `body` signed at `timestamp` (unix seconds, default now): `t=<t>,v1=<hex>`. */
export function webhookSignature(secret: string, body: string | Buffer, timestamp = Math.floor(Date.now() / 1000)): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

function verify(secret: string, body: Buffer, header: string | undefined, toleranceSeconds: number): boolean {
  const fields = new Map<string, string[]>();
  for (const part of (header ?? '').split(',')) {
    const [key = '', ...value] = part.trim().split('=');
    fields.set(key, [...(fields.get(key) ?? []), value.join('=')]);
  }
  const [t] = fields.get('t') ?? [];
  if (t === undefined || !/^\d+$/.test(t) || Math.abs(Date.now() / 1000 - Number(t)) > toleranceSeconds) return false;
  const expected = Buffer.from(webhookSignature(secret, body, Number(t)).split('v1=')[1] ?? '');
  return (fields.get('v1') ?? []).some((v1) => {
    const given = Buffer.from(v1);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

class WebhookServerImpl extends FakeService<WebhookRequest> implements WebhookServer {
  readonly #secret: string | undefined;
  readonly #tolerance: number;
  readonly #reject: boolean;
  readonly #redirects = new Map<string, { location: string; status: RedirectStatus }>();

  constructor(options: WebhookServerOptions) {
    super((r) => `${r.method} ${r.path}(${r.status ?? r.fault ?? 'pending'})`);
    this.#secret = options.secret;
    this.#tolerance = options.toleranceSeconds ?? 300;
    this.#reject = options.rejectInvalidSignature ?? true;
  }

  redirect(path: string, location: string, status: RedirectStatus = 307): this {
    this.#redirects.set(path, { location, status });
    return this;
  }

  /** Every request is a delivery: fault scopes name it `webhook`. */
  protected callName(): string {
    return 'webhook';
  }

  protected newRecord({ req, body }: ServiceRequest): Omit<WebhookRequest, keyof ServiceRecord> {
    const rawBody = body.toString('utf8');
    const headers = flattenHeaders(req.headers);
    return {
      path: req.url ?? '/',
      method: req.method ?? 'GET',
      body: jsonOrUndefined(rawBody),
      rawBody,
      headers,
      signatureValid: this.#secret === undefined ? null : verify(this.#secret, body, headers[SIGNATURE_HEADER], this.#tolerance),
      deliveryId: headers[DELIVERY_HEADER],
    };
  }

  protected answerFault(call: ServiceCall<WebhookRequest>, fault: AnsweredFault): void {
    if (fault.kind === 'rateLimit') call.json(429, { ok: false, error: 'rate_limited' }, { 'retry-after': String(fault.retryAfterSec) });
    else if (fault.kind === 'serverError') call.json(fault.status, { ok: false, error: 'server_error' });
    else call.json(401, { ok: false, error: 'unauthorized' });
  }

  protected route(call: ServiceCall<WebhookRequest>): void {
    const redirect = this.#redirects.get(call.url.pathname);
    if (redirect) call.empty(redirect.status, { location: redirect.location });
    else if (call.req.method !== 'POST') call.json(405, { ok: false, error: 'method_not_allowed' }, { allow: 'POST' });
    else if (call.record.signatureValid === false && this.#reject) call.json(401, { ok: false, error: 'invalid_signature' });
    else if (mediaType(call.req.headers) !== 'application/json' || call.record.body === undefined)
      call.json(400, { ok: false, error: 'invalid_json' });
    else call.json(200, { ok: true });
  }
}

/** Start a webhook receiver on 127.0.0.1 (ephemeral port). */
export function startWebhookServer(options: WebhookServerOptions = {}): Promise<WebhookServer> {
  return new WebhookServerImpl(options).listen();
}
