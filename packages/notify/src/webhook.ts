import { createHmac } from 'node:crypto';
import { ConfigError, describeValue } from '@epochcast/core';
import { httpError, TransientError } from './errors.js';
import type { Notification } from './notification.js';
import { Notifier, type NotifierLimits, type SendContext } from './notifier.js';
import type { NotifierOptions } from './options.js';

export interface WebhookCallbackOptions extends NotifierOptions {
  /** Where to POST. Default `EPOCHCAST_WEBHOOK_URL`. */
  url?: string;
  /** Signs each body: header `x-epochcast-signature: sha256=<hex HMAC-SHA256 of the body>`. Default `EPOCHCAST_WEBHOOK_SECRET`. */
  secret?: string;
  /** Extra request headers (an Authorization header, say); their values are treated as secrets. */
  headers?: Record<string, string>;
}

/** The JSON body: the Notification, with the plot as its title and SVG. */
export type WebhookPayload = Omit<Notification, 'plot'> & { plot?: { title: string; svg: string } };

/**
 * POSTs every notification as JSON to a URL — Keras's RemoteMonitor idea, with retries, a
 * timeout, 429 handling and an optional HMAC-SHA256 signature so the receiver can trust it.
 */
export class WebhookCallback extends Notifier {
  readonly service = 'webhook';
  readonly limits: NotifierLimits = { maxTextLength: 1_000_000, images: true };
  // Credentials in #private fields, out of reach of anything that prints the callback.
  readonly #url: URL;
  readonly #secret: string | undefined;
  readonly #headers: Record<string, string>;

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

  protected async send(n: Notification, { signal }: SendContext): Promise<void> {
    const payload: WebhookPayload = { ...n, plot: n.plot ? { title: n.plot.title, svg: n.plot.svg } : undefined };
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-epochcast-event': n.event, ...this.headers };
    if (this.secret) headers['x-epochcast-signature'] = `sha256=${createHmac('sha256', this.secret).update(body).digest('hex')}`;
    let response: Response;
    try {
      response = await fetch(this.url, { method: 'POST', headers, body, signal });
    } catch (error) {
      // fetch's own message is only "fetch failed"; the cause says why (the base redacts it).
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message;
      throw new TransientError(`could not reach the webhook${why ? ` (${why})` : ''}`);
    }
    await response.body?.cancel();
    if (!response.ok) throw httpError(response.status, response.statusText, Number(response.headers.get('retry-after') ?? Number.NaN));
  }
}
