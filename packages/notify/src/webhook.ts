import { randomUUID } from 'node:crypto';
import { ConfigError, describeValue } from '@epochcast/core';
import { ConfigRejectedError, httpError, TransientError } from './errors.js';
import type { AlertLevel, Notification } from './notification.js';
import { Notifier, type NotifierLimits } from './notifier.js';
import type { NotifierOptions } from './options.js';
import type { SendContext } from './send-context.js';
import { DELIVERY_HEADER, SIGNATURE_HEADER, signWebhookBody } from './webhook-signature.js';

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Redirects followed within the origin before the chain counts as a misconfiguration. */
const MAX_REDIRECTS = 4;

export interface WebhookCallbackOptions extends NotifierOptions {
  /** Where to POST. Default `EPOCHCAST_WEBHOOK_URL`. */
  url?: string;
  /**
   * Signs each request: header `x-epochcast-signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
   * "<t>.<body>">`, checked with `verifyWebhookSignature`. Default `EPOCHCAST_WEBHOOK_SECRET`;
   * without one, requests are unsigned.
   */
  secret?: string;
  /** Extra request headers (an Authorization header, say); their values are treated as secrets. */
  headers?: Record<string, string>;
}

/**
 * The JSON body: the Notification, with the plot as its title and SVG. An alert
 * (`event: "alert"`) carries `alert: { text, level }` — `level` one of `info`, `warning`,
 * `critical` — and the fit's epochs so far (none outside a fit); no other event carries `alert`.
 */
export type WebhookPayload = Omit<Notification, 'plot' | 'alert'> & {
  plot?: { title: string; svg: string };
  alert?: { text: string; level: AlertLevel };
};

/**
 * POSTs every notification as JSON to a URL — Keras's RemoteMonitor idea, with retries, a
 * timeout, 429 handling, an optional HMAC-SHA256 signature over a timestamp and the body so the
 * receiver can trust it and refuse replays, and a delivery id (`x-epochcast-delivery`) that stays
 * the same across the retries of one notification. Redirects are followed only within the URL's
 * origin (307 and 308, which keep the POST): the body and the headers never go anywhere else.
 */
export class WebhookCallback extends Notifier {
  readonly service = 'webhook';
  readonly limits: NotifierLimits = { maxTextLength: 1_000_000, images: true };
  // Credentials in #private fields, out of reach of anything that prints the callback.
  readonly #url: URL;
  readonly #secret: string | undefined;
  readonly #headers: Record<string, string>;
  /** Through the user's proxy; built with the notifier, so a malformed proxy variable fails the constructor. */
  readonly #fetch = this.httpFetch;

  constructor(options: WebhookCallbackOptions = {}) {
    super(options);
    const raw = options.url ?? process.env.EPOCHCAST_WEBHOOK_URL;
    if (!raw) throw new ConfigError('WebhookCallback: no URL. Pass { url: "https://…" } or set EPOCHCAST_WEBHOOK_URL.');
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new ConfigError(
        `WebhookCallback: url is not a valid URL; received a string of ${String(raw).length} characters. Pass e.g. { url: "https://example.com/hook" }.`,
      );
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new ConfigError(`WebhookCallback: url must be http:// or https://; received ${describeValue(url.protocol)}.`);
    this.#url = url;
    this.#secret = options.secret ?? (process.env.EPOCHCAST_WEBHOOK_SECRET || undefined);
    this.#headers = options.headers ?? {};
    // A webhook URL is a credential (Slack's and Discord's are); so are the secret and any headers.
    this.registerSecret(
      url.href,
      url.pathname.length > 1 ? url.pathname : undefined,
      url.search || undefined,
      url.password || undefined,
      this.#secret,
      ...Object.values(this.#headers),
    );
    // A receiver that checks an Authorization header already knows who sent a request.
    const authenticated = Boolean(this.#secret) || Object.keys(this.#headers).some((name) => name.toLowerCase() === 'authorization');
    if (this.enabled) for (const line of transportWarnings(url, authenticated)) this.warn(line);
  }

  // Accessors on the prototype, not own properties: nothing that lists the callback's fields finds them.
  private get url(): URL {
    return this.#url;
  }

  private get secret(): string | undefined {
    return this.#secret;
  }

  private get headers(): Record<string, string> {
    return this.#headers;
  }

  protected async send(n: Notification, { signal, step }: SendContext): Promise<void> {
    const payload: WebhookPayload = { ...n, plot: n.plot ? { title: n.plot.title, svg: n.plot.svg } : undefined };
    const body = JSON.stringify(payload);
    const deliveryId = await step('delivery id', async () => randomUUID());
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-epochcast-event': n.event, ...this.headers };
    headers[DELIVERY_HEADER] = deliveryId;
    // Signed at each attempt: a retry after a long 429 wait still carries a fresh timestamp.
    if (this.secret) headers[SIGNATURE_HEADER] = signWebhookBody(this.secret, body, Math.floor(Date.now() / 1000));
    const response = await this.post(body, headers, signal);
    await response.body?.cancel();
    if (!response.ok) throw httpError(response.status, response.statusText, Number(response.headers.get('retry-after') ?? Number.NaN));
  }

  /**
   * POSTs to the URL, following a redirect only within its origin: fetch's own following re-posts
   * the body and every header (an API key) to wherever a `Location` points.
   */
  private async post(body: string, headers: Record<string, string>, signal: AbortSignal): Promise<Response> {
    let url = this.url;
    for (let hops = 0; ; hops++) {
      let response: Response;
      try {
        response = await this.#fetch(url, { method: 'POST', headers, body, signal, redirect: 'manual' });
      } catch (error) {
        // fetch's own message is only "fetch failed"; the cause says why (the base redacts it).
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        const why = cause?.code ?? cause?.message;
        throw new TransientError(`could not reach the webhook${why ? ` (${why})` : ''}`);
      }
      if (!REDIRECTS.has(response.status)) return response;
      await response.body?.cancel();
      url = redirectTarget(url, response, hops);
    }
  }
}

/** Where a redirect may be followed to, or the permanent error saying why it is not followed. */
function redirectTarget(from: URL, response: Response, hops: number): URL {
  const { status } = response;
  const location = response.headers.get('location');
  if (location === null) throw new ConfigRejectedError(`the webhook answered ${status}, a redirect without a Location`, status);
  let to: URL;
  try {
    to = new URL(location, from);
  } catch {
    throw new ConfigRejectedError(`the webhook answered ${status}, a redirect to an unreadable Location`, status);
  }
  if (to.origin !== from.origin) {
    // The origin only: a Location's path and query may hold the new address's own token.
    const where = to.origin === 'null' ? `a ${to.protocol} URL` : to.origin;
    throw new ConfigRejectedError(
      `the webhook answered ${status}, a redirect to another origin (${where}); not followed, so the body and the headers were not sent there. If that address is right, set it as the url`,
      status,
    );
  }
  if (status !== 307 && status !== 308)
    throw new ConfigRejectedError(
      `the webhook answered ${status}, a redirect that would turn the POST into a GET without the body; set the url to the address it moved to`,
      status,
    );
  if (hops >= MAX_REDIRECTS)
    throw new ConfigRejectedError(`the webhook redirected more than ${MAX_REDIRECTS} times; set the url to the final address`, status);
  return to;
}

/** This machine: what plain http:// may reach without crossing a network. */
function isLocalHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** What a user should hear once about where the notifications go and how a receiver can trust them. */
function transportWarnings(url: URL, authenticated: boolean): string[] {
  if (isLocalHost(url.hostname)) return [];
  const lines: string[] = [];
  if (url.protocol === 'http:')
    lines.push(
      `the url is plain http:// to ${url.hostname}, another machine: anyone on the way can read and change the URL, the headers and every notification; use https://`,
    );
  if (!authenticated)
    lines.push(
      'requests are unsigned, so the receiver cannot tell them from forged or replayed ones: set secret (EPOCHCAST_WEBHOOK_SECRET) and check x-epochcast-signature with verifyWebhookSignature',
    );
  return lines;
}
