/** A generic JSON webhook receiver that checks epochcast's HMAC-SHA256 signature header. */

import { createHmac, timingSafeEqual } from 'node:crypto';
import { type AnsweredFault, FakeService, type ServiceCall, type ServiceRequest } from './fake-service.js';
import { flattenHeaders, mediaType } from './http.js';
import { jsonOrUndefined } from './params.js';
import type { LocalServer, ServiceRecord } from './record-log.js';

/** The header carrying `sha256=<hex HMAC of the raw body>`. */
export const SIGNATURE_HEADER = 'x-epochcast-signature';

export interface WebhookRequest extends ServiceRecord {
  /** Request path, query included. */
  path: string;
  method: string;
  /** The parsed JSON body; `undefined` when the body was not JSON. */
  body: unknown;
  rawBody: string;
  /** Header names lowercased; repeated headers joined with `, `. */
  headers: Record<string, string>;
  /** Whether the signature matched; `null` when the server has no secret. */
  signatureValid: boolean | null;
}

export interface WebhookServerOptions {
  /** Verify `x-epochcast-signature: sha256=<hex>` with this HMAC-SHA256 key. */
  secret?: string;
  /** Answer a bad or missing signature 401, as a real receiver would. Default true (it is recorded either way). */
  rejectInvalidSignature?: boolean;
}

/** Every request is the call `webhook` (for fault scopes and `waitFor`). */
export interface WebhookServer extends LocalServer<WebhookRequest> {
  /** POST anywhere under this URL. */
  readonly url: string;
}

/** The signature header value for `body`: `sha256=<hex>`. */
export function webhookSignature(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function verify(secret: string, body: Buffer, header: string | undefined): boolean {
  if (!header) return false;
  const expected = Buffer.from(webhookSignature(secret, body));
  const given = Buffer.from(header.trim());
  return expected.length === given.length && timingSafeEqual(expected, given);
}

class WebhookServerImpl extends FakeService<WebhookRequest> implements WebhookServer {
  readonly #secret: string | undefined;
  readonly #reject: boolean;

  constructor(options: WebhookServerOptions) {
    super((r) => `${r.method} ${r.path}(${r.status ?? r.fault ?? 'pending'})`);
    this.#secret = options.secret;
    this.#reject = options.rejectInvalidSignature ?? true;
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
      signatureValid: this.#secret === undefined ? null : verify(this.#secret, body, headers[SIGNATURE_HEADER]),
    };
  }

  protected answerFault(call: ServiceCall<WebhookRequest>, fault: AnsweredFault): void {
    if (fault.kind === 'rateLimit') call.json(429, { ok: false, error: 'rate_limited' }, { 'retry-after': String(fault.retryAfterSec) });
    else if (fault.kind === 'serverError') call.json(fault.status, { ok: false, error: 'server_error' });
    else call.json(401, { ok: false, error: 'unauthorized' });
  }

  protected route(call: ServiceCall<WebhookRequest>): void {
    if (call.req.method !== 'POST') call.json(405, { ok: false, error: 'method_not_allowed' }, { allow: 'POST' });
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
