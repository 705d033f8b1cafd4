import {
  ConfigError,
  httpError,
  type Notification,
  Notifier,
  type NotifierLimits,
  type NotifierOptions,
  type SendContext,
  TransientError,
} from '@epochcast/notify';

export interface MyServiceCallbackOptions extends NotifierOptions {
  /** Where to POST. Default `MY_SERVICE_URL`. */
  url?: string;
  /** Sent as `Authorization: Bearer <token>`. Default `MY_SERVICE_TOKEN`. */
  token?: string;
}

// #region contract
/**
 * epochcast training notifications to my-service: each one POSTed as JSON `{ text, event, run }`.
 * Make `send()` speak your service's API; the Notifier base of @epochcast/notify does the rest —
 * events, a background queue, coalescing, retries, rate-limit waits, a bounded flush, Ctrl-C,
 * redaction of secrets. Override `verify()` to check the configuration before the first epoch.
 */
export class MyServiceCallback extends Notifier {
  readonly service = 'my-service';
  readonly limits: NotifierLimits = { maxTextLength: 4000, images: false };
  // Credentials in #private fields: nothing that prints the notifier (console.log, JSON.stringify)
  // can reach them. The base prints only the class, the service and whether it is enabled.
  readonly #url: URL;
  readonly #token: string | undefined;
  // Every request goes through it: it honours the user's proxy (HTTPS_PROXY, NO_PROXY, the proxy
  // option), and built here, a malformed proxy setting fails the constructor.
  readonly #fetch = this.httpFetch;

  constructor(options: MyServiceCallbackOptions = {}) {
    super(options);
    const url = options.url ?? process.env.MY_SERVICE_URL;
    if (!url) throw new ConfigError('MyServiceCallback: no URL. Pass { url: "https://…" } or set MY_SERVICE_URL.');
    if (!URL.canParse(url)) throw new ConfigError(`MyServiceCallback: url is not a valid URL (a string of ${url.length} characters).`);
    this.#url = new URL(url);
    this.#token = options.token ?? (process.env.MY_SERVICE_TOKEN || undefined);
    // Never in a warning, an error or a message — of this notifier or any other in the process: the
    // base replaces them by ***.
    this.registerSecret(this.#url.href, this.#url.pathname.length > 1 ? this.#url.pathname : undefined, this.#token);
  }

  protected async send(n: Notification, context: SendContext): Promise<void> {
    // The notification as plain text within limits.maxTextLength; pass a Markup for your service's format.
    const [text = ''] = context.messages();
    const body = JSON.stringify({ text, event: n.event, run: n.run.name });
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    let response: Response;
    try {
      response = await this.#fetch(this.#url, { method: 'POST', headers, body, signal: context.signal });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      throw new TransientError(`could not reach my-service${cause?.code ? ` (${cause.code})` : ''}`);
    }
    await response.body?.cancel();
    // 429 → RateLimitError (Retry-After), 408/5xx → TransientError (retried), 401/403/404 → ConfigRejectedError
    // (nothing more is sent this fit), other 4xx → PermanentError (this message given up).
    if (!response.ok) throw httpError(response.status, response.statusText, Number(response.headers.get('retry-after') ?? Number.NaN));
  }
}
// #endregion
