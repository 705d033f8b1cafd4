/** A generic JSON webhook receiver that checks epochcast's HMAC-SHA256 signature header. */

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type FaultKind, Faults, takeFault } from './faults.js';
import { flattenHeaders, HttpHost, mediaType, readBody, resetConnection, sendJson } from './http.js';
import { DEFAULT_WAIT_MS, RecordLog } from './record-log.js';

/** The header carrying `sha256=<hex HMAC of the raw body>`. */
export const SIGNATURE_HEADER = 'x-epochcast-signature';

export interface WebhookRequest {
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
  status: number | null;
  fault?: FaultKind;
  at: number;
}

export interface WebhookServerOptions {
  /** Verify `x-epochcast-signature: sha256=<hex>` with this HMAC-SHA256 key. */
  secret?: string;
  /** Answer a bad or missing signature 401, as a real receiver would. Default true (it is recorded either way). */
  rejectInvalidSignature?: boolean;
}

export interface WebhookServer {
  /** POST anywhere under this URL. */
  readonly url: string;
  readonly received: readonly WebhookRequest[];
  readonly faults: Faults;
  waitFor(match?: (request: WebhookRequest) => boolean, timeoutMs?: number): Promise<WebhookRequest>;
  waitForCount(match: ((request: WebhookRequest) => boolean) | undefined, count: number, timeoutMs?: number): Promise<WebhookRequest[]>;
  clearReceived(): void;
  close(): Promise<void>;
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

class WebhookServerImpl implements WebhookServer {
  readonly faults = new Faults();
  readonly #host: HttpHost;
  readonly #log = new RecordLog<WebhookRequest>((r) => `${r.method} ${r.path}(${r.status ?? r.fault ?? 'pending'})`);
  readonly #secret: string | undefined;
  readonly #reject: boolean;

  constructor(host: HttpHost, options: WebhookServerOptions) {
    this.#host = host;
    this.#secret = options.secret;
    this.#reject = options.rejectInvalidSignature ?? true;
  }

  get url(): string {
    return this.#host.url;
  }
  get received(): readonly WebhookRequest[] {
    return this.#log.items;
  }

  async waitFor(match?: (request: WebhookRequest) => boolean, timeoutMs = DEFAULT_WAIT_MS): Promise<WebhookRequest> {
    const [request] = await this.#log.waitFor(match ?? (() => true), 1, timeoutMs, 'a webhook request');
    return request as WebhookRequest;
  }

  waitForCount(
    match: ((request: WebhookRequest) => boolean) | undefined,
    count: number,
    timeoutMs = DEFAULT_WAIT_MS,
  ): Promise<WebhookRequest[]> {
    return this.#log.waitFor(match ?? (() => true), count, timeoutMs, 'a webhook request');
  }

  clearReceived(): void {
    this.#log.clear();
  }

  async close(): Promise<void> {
    this.#log.close();
    await this.#host.close();
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const rawBody = raw.toString('utf8');
    let body: unknown;
    try {
      body = rawBody === '' ? undefined : JSON.parse(rawBody);
    } catch {
      body = undefined;
    }
    const headers = flattenHeaders(req.headers);
    const request: WebhookRequest = {
      path: req.url ?? '/',
      method: req.method ?? 'GET',
      body,
      rawBody,
      headers,
      signatureValid: this.#secret === undefined ? null : verify(this.#secret, raw, headers[SIGNATURE_HEADER]),
      status: null,
      at: Date.now(),
    };
    this.#log.push(request);
    const reply = (status: number, payload: unknown, extra: Record<string, string> = {}): void => {
      if (res.writableEnded || res.destroyed) return;
      request.status = status;
      this.#log.touch(request);
      sendJson(res, status, payload, extra);
    };

    if (!(await this.#host.sleep(this.faults.latencyMs))) return;
    const fault = takeFault(this.faults, 'webhook');
    if (fault) {
      request.fault = fault.kind;
      this.#log.touch(request);
      switch (fault.kind) {
        case 'rateLimit':
          return reply(429, { ok: false, error: 'rate_limited' }, { 'retry-after': String(fault.retryAfterSec) });
        case 'serverError':
          return reply(fault.status ?? 500, { ok: false, error: 'server_error' });
        case 'unauthorized':
          return reply(401, { ok: false, error: 'unauthorized' });
        case 'reset':
          return resetConnection(req);
        case 'hang':
          return;
      }
    }

    if (req.method !== 'POST') return reply(405, { ok: false, error: 'method_not_allowed' }, { allow: 'POST' });
    if (request.signatureValid === false && this.#reject) return reply(401, { ok: false, error: 'invalid_signature' });
    if (mediaType(req.headers) !== 'application/json' || body === undefined) return reply(400, { ok: false, error: 'invalid_json' });
    reply(200, { ok: true });
  }
}

/** Start a webhook receiver on 127.0.0.1 (ephemeral port). */
export async function startWebhookServer(options: WebhookServerOptions = {}): Promise<WebhookServer> {
  let server: WebhookServerImpl | undefined;
  const host = await HttpHost.start((req, res) => (server as WebhookServerImpl).handle(req, res));
  server = new WebhookServerImpl(host, options);
  return server;
}
