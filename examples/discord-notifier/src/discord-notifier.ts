import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConfigError,
  ConfigRejectedError,
  httpError,
  type Notification,
  Notifier,
  type NotifierLimits,
  type NotifierOptions,
  type SendContext,
  TransientError,
  type VerifyContext,
} from '@epochcast/notify';
import { DISCORD_LIMITS, type DiscordMessage, renderDiscord } from './render.js';

export interface DiscordCallbackOptions extends NotifierOptions {
  /** `https://discord.com/api/webhooks/<id>/<token>` (channel settings → Integrations → Webhooks). Default `DISCORD_WEBHOOK_URL`. */
  webhookUrl?: string;
  /** The name the messages are posted under. Default `epochcast` (Discord's default: the webhook's own name). */
  username?: string;
  /** The avatar the messages are posted with. Default: the webhook's. */
  avatarUrl?: string;
  /** Post into this thread of the webhook's channel (a forum post, say). */
  threadId?: string;
  /** Check the webhook exists before the first epoch, so a deleted one fails the run up front. Default true. */
  verifyWebhook?: boolean;
}

/** The path of an "Execute Webhook" URL, API version optional. */
const WEBHOOK_PATH = /^\/api(?:\/v\d+)?\/webhooks\/(\d+)\/([\w-]+)\/?$/;

/** What Discord answers on an error: `{ message, code }`, plus `retry_after` (seconds) and `global` on a 429. */
interface DiscordErrorBody {
  message?: unknown;
  code?: unknown;
  retry_after?: unknown;
  global?: unknown;
  errors?: unknown;
}

/**
 * Training notifications in a Discord channel through a webhook: the headline as the message, the
 * epoch table in a code block, and an embed summing up the end (or the crash). Discord's 429 says
 * how long to wait in its JSON body (`retry_after`, in seconds, fractional): that is what is
 * waited, and the `X-RateLimit-*` headers pace the sends so the limit is rarely hit at all.
 */
export class DiscordCallback extends Notifier {
  readonly service = 'discord';
  readonly limits: NotifierLimits = { maxTextLength: DISCORD_LIMITS.content, images: false };
  protected override verifies = 'the webhook';
  /** The credential: a private field, out of reach of anything that prints the callback. */
  readonly #url: URL;
  /** Every request goes through it: the user's proxy (HTTPS_PROXY, NO_PROXY, the proxy option). */
  readonly #fetch = this.httpFetch;
  private readonly username: string | undefined;
  private readonly avatarUrl: string | undefined;
  private readonly verifyWebhook: boolean;
  /** When the webhook's rate-limit bucket refills, after Discord said it was empty (Date.now() ms). */
  private resumeAt = 0;

  constructor(options: DiscordCallbackOptions = {}) {
    super(options);
    this.#url = webhookUrl(options.webhookUrl ?? process.env.DISCORD_WEBHOOK_URL);
    if (options.threadId !== undefined) {
      if (!/^\d+$/.test(options.threadId)) throw new ConfigError('DiscordCallback: threadId must be a thread id (digits only).');
      this.#url.searchParams.set('thread_id', options.threadId);
    }
    this.username = options.username ?? 'epochcast';
    this.avatarUrl = options.avatarUrl;
    this.verifyWebhook = options.verifyWebhook ?? true;
    // The URL is the credential: whoever has it can post to the channel.
    const [, id, token] = WEBHOOK_PATH.exec(this.#url.pathname) ?? [];
    this.registerSecret(this.#url.href, this.#url.pathname, token, id && token ? `${id}/${token}` : undefined);
  }

  // #region guide-verify
  /**
   * A webhook that was deleted, or a URL with a wrong token, answers 404/401: the run fails before
   * training. An unreachable Discord is one warning from the base, and training goes on.
   */
  protected override async verify({ signal }: VerifyContext): Promise<void> {
    if (!this.verifyWebhook) return;
    const url = new URL(this.#url);
    url.search = '';
    let response: Response;
    try {
      response = await this.#fetch(url, { signal });
    } catch (error) {
      throw unreachable(error);
    }
    if (response.ok) {
      await response.body?.cancel();
      return;
    }
    const error = await discordError(response);
    if (error instanceof ConfigRejectedError)
      throw new ConfigRejectedError(`the webhook was refused (${error.message}): check DISCORD_WEBHOOK_URL`, error.status);
    throw error;
  }
  // #endregion

  protected async send(n: Notification, { signal }: SendContext): Promise<void> {
    const wait = this.resumeAt - Date.now();
    if (wait > 0) await sleep(wait, undefined, { signal });
    const message: DiscordMessage = { ...renderDiscord(n) };
    if (this.username) message.username = this.username;
    if (this.avatarUrl) message.avatar_url = this.avatarUrl;
    let response: Response;
    try {
      response = await this.#fetch(this.#url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(message),
        signal,
      });
    } catch (error) {
      throw unreachable(error);
    }
    this.pace(response.headers);
    if (response.ok) {
      await response.body?.cancel();
      return;
    }
    throw await discordError(response);
  }

  /** The bucket is empty (`X-RateLimit-Remaining: 0`): hold the next send until it refills. */
  private pace(headers: Headers): void {
    const resetAfter = Number(headers.get('x-ratelimit-reset-after'));
    if (headers.get('x-ratelimit-remaining') === '0' && Number.isFinite(resetAfter) && resetAfter > 0)
      this.resumeAt = Date.now() + Math.min(resetAfter, 60) * 1000;
  }
}

/** fetch's own message is only "fetch failed"; its cause says why (and never holds the URL). */
function unreachable(error: unknown): TransientError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message;
  return new TransientError(`could not reach Discord${why ? ` (${why})` : ''}`);
}

function webhookUrl(raw: string | undefined): URL {
  if (!raw)
    throw new ConfigError(
      'DiscordCallback: no webhook URL. Pass { webhookUrl: "https://discord.com/api/webhooks/<id>/<token>" } or set DISCORD_WEBHOOK_URL.',
    );
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // The URL is a secret: say what is wrong with it, never what it is.
    throw new ConfigError(`DiscordCallback: webhookUrl is not a valid URL (a string of ${raw.length} characters).`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ConfigError('DiscordCallback: webhookUrl must be an https:// URL, like https://discord.com/api/webhooks/<id>/<token>.');
  if (!WEBHOOK_PATH.test(url.pathname))
    throw new ConfigError(
      'DiscordCallback: webhookUrl is not a webhook URL; it must look like https://discord.com/api/webhooks/<id>/<token> (copy it from the channel settings → Integrations → Webhooks).',
    );
  return url;
}

/** Discord's error answer as the error the Notifier base understands. */
async function discordError(response: Response): Promise<Error> {
  let body: DiscordErrorBody = {};
  try {
    const parsed: unknown = JSON.parse(await response.text());
    if (parsed !== null && typeof parsed === 'object') body = parsed as DiscordErrorBody;
  } catch {
    // Not JSON (a proxy's error page): the status says enough.
  }
  const message = typeof body.message === 'string' ? body.message : response.statusText;
  const code = typeof body.code === 'number' && body.code !== 0 ? ` (code ${body.code})` : '';
  const details = formErrors(body.errors).slice(0, 3).join('; ');
  if (response.status === 429) {
    // The body's retry_after is exact (fractional seconds); Retry-After is the same, rounded up.
    const header = Number(response.headers.get('retry-after') ?? Number.NaN);
    const seconds = typeof body.retry_after === 'number' ? body.retry_after : header;
    return httpError(429, `${message}${body.global === true ? ' (global)' : ''}`, seconds);
  }
  return httpError(response.status, `${message}${code}${details ? `: ${details}` : ''}`);
}

/** `embeds.0.description: Must be 4096 or fewer in length.` for each error of an "Invalid Form Body". */
export function formErrors(errors: unknown, path: string[] = []): string[] {
  if (errors === null || typeof errors !== 'object') return [];
  const out: string[] = [];
  for (const [key, value] of Object.entries(errors)) {
    if (key === '_errors' && Array.isArray(value)) {
      for (const e of value) {
        const text = e !== null && typeof e === 'object' && 'message' in e ? String(e.message) : String(e);
        out.push(`${path.join('.') || 'body'}: ${text}`);
      }
    } else out.push(...formErrors(value, [...path, key]));
  }
  return out;
}
