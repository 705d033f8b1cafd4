import {
  ConfigRejectedError,
  type Notification,
  Notifier,
  type NotifierLimits,
  type NotifierOptions,
  plotFileName,
  type SendContext,
} from '@epochcast/notify';
import { type NtfyPriority, resolveSettings } from './config.js';
import { fromResponse, readBounded, unreachable } from './errors.js';
import { headerValue } from './headers.js';
import { epochText, markupFor, type NtfyMessage, PLOT_TAG, plotCaption, priorityFor, tagsOf, titleOf } from './render.js';

export interface NtfyCallbackOptions extends NotifierOptions {
  /** The server and the topic: `https://ntfy.sh/my-runs`, or a server of your own. Default `NTFY_URL`. */
  url?: string;
  /** An access token `tk_…`, or `user:password` for basic auth. Default `NTFY_TOKEN`; none for an open topic. */
  token?: string;
  /**
   * The priority of start, end and interrupt messages, 1–5 or `min`, `low`, `default`, `high`,
   * `urgent`/`max`. Default `default` (3). Epochs go at `low` (never above this), a crash and a
   * warning alert at `high` (never below), a critical alert at `urgent`.
   */
  priority?: NtfyPriority;
  /** Opened when the notification is tapped (ntfy's `Click`): a dashboard, the run's logs. */
  clickUrl?: string;
  /** Send the summaries as Markdown (the epoch table as a code block). Default true; false for clients that show the source. */
  markdown?: boolean;
  /** The largest loss plot to attach, in bytes; larger is skipped with a warning, 0 never attaches. Default 15 MiB, ntfy's own default. */
  maxAttachmentBytes?: number;
  /**
   * Least time between two epoch messages, in ms; epochs in between are coalesced, the newest wins.
   * Default 600,000 (10 minutes): ntfy cannot edit a message, so every epoch message is another
   * notification on the phone, and public servers count messages per day.
   */
  minIntervalMs?: number;
}

/** ntfy's message limit (`message-size-limit`, 4096 bytes): a longer message becomes an `attachment.txt` attachment. */
export const NTFY_MESSAGE_BYTES = 4096;
/** At most one epoch message every 10 minutes unless told otherwise (see the README for why). */
export const NTFY_EPOCH_INTERVAL_MS = 10 * 60_000;

/** What is read of a successful publish's answer: its JSON is a few hundred bytes. */
const MAX_ANSWER_BYTES = 16 * 1024;

/**
 * Training notifications pushed to phones and desktops through ntfy (ntfy.sh or a server of your
 * own), one topic per configuration. The start, the end (the summary, then the loss plot as an
 * attachment), a crash (high priority), an interrupt and alerts (high, or urgent when critical)
 * each arrive as a notification titled with the run's name and tagged with an emoji; epochs arrive
 * at low priority (no sound), at most one every `minIntervalMs`. Summaries are Markdown with the
 * epoch table as a code block, within ntfy's 4096 bytes.
 *
 * Messages are published as JSON to the server's root, so titles in any script need no header
 * encoding; the plot is a PUT of the PNG to the topic, its title and caption RFC 2047-encoded
 * where they are not ASCII. The token, the password and the URL's credentials never appear in a
 * message, a warning or an error.
 */
export class NtfyCallback extends Notifier {
  readonly service = 'ntfy';
  readonly limits: NotifierLimits;
  // The credentials and where they go, in #private fields: out of reach of anything that prints the callback.
  readonly #server: URL;
  readonly #topic: string;
  readonly #authorization: string | undefined;
  readonly #priority: 1 | 2 | 3 | 4 | 5;
  readonly #clickUrl: string | undefined;
  readonly #markdown: boolean;
  readonly #maxAttachmentBytes: number;
  /** Every request of this notifier goes through it: the base's fetch, through the proxy when one applies. */
  readonly #fetch = this.httpFetch;

  constructor(options: NtfyCallbackOptions = {}) {
    super({ ...options, minIntervalMs: options.minIntervalMs ?? NTFY_EPOCH_INTERVAL_MS });
    // Registered before they are checked: a malformed token is still a secret.
    this.registerSecret(textOrUndefined(options.token), textOrUndefined(options.url));
    const settings = resolveSettings(options);
    // On an open server the topic's URL is the key to read it, as a webhook's URL is to post to it.
    this.registerSecret(settings.authorization, ...settings.secrets, new URL(settings.topic, settings.server).href);
    this.#server = settings.server;
    this.#topic = settings.topic;
    this.#authorization = settings.authorization;
    this.#priority = settings.priority;
    this.#clickUrl = settings.clickUrl;
    this.#markdown = settings.markdown;
    this.#maxAttachmentBytes = settings.maxAttachmentBytes;
    this.limits = { maxTextLength: NTFY_MESSAGE_BYTES, images: settings.maxAttachmentBytes > 0 };
    // ntfy has no way to check a token's write access but publishing: the start message is the check.
    this.checksWithStartMessage = true;
  }

  /** Where the messages go, for a person to read: `topic my-runs on ntfy.sh` (no credentials). */
  get destination(): string {
    return `topic ${this.#topic} on ${this.#server.host}${this.#server.pathname === '/' ? '' : this.#server.pathname.replace(/\/$/, '')}`;
  }

  // #region guide-send
  protected async send(n: Notification, context: SendContext): Promise<void> {
    const message = this.message(n, context);
    await context.step('message', () => this.publish(message, context.signal));
    const plot = n.plot;
    if (n.event !== 'end' || !plot) return;
    const png = Buffer.from(await plot.png());
    if (png.byteLength > this.#maxAttachmentBytes) {
      this.warn(
        `the loss plot (${png.byteLength} bytes) is over maxAttachmentBytes (${this.#maxAttachmentBytes}): the end message went without it`,
      );
      return;
    }
    await context.optionalStep('the loss plot upload', async () => {
      await context.pace();
      await this.attach(n, png, context.signal);
    });
  }
  // #endregion

  /** The notification as ntfy's message: title, tags, priority, and the text within 4096 bytes. */
  private message(n: Notification, context: SendContext): NtfyMessage {
    const markdown = this.#markdown && n.event !== 'epoch';
    const text =
      n.event === 'epoch'
        ? epochText(n)
        : withinBytes(NTFY_MESSAGE_BYTES, (maxLength) => context.messages(markupFor(markdown), { maxLength })[0] ?? '');
    return { title: titleOf(n), message: text, tags: tagsOf(n), priority: priorityFor(n, this.#priority), markdown };
  }

  private async publish(message: NtfyMessage, signal: AbortSignal): Promise<void> {
    const { markdown, ...fields } = message;
    const body = {
      topic: this.#topic,
      ...fields,
      ...(markdown ? { markdown: true } : {}),
      ...(this.#clickUrl ? { click: this.#clickUrl } : {}),
    };
    const headers = { 'content-type': 'application/json', ...this.authHeader() };
    await this.request(this.#server, { method: 'POST', headers, body: JSON.stringify(body), signal }, 'publish');
  }

  /** The plot as an attachment: ntfy's upload is a PUT of the bytes to the topic, the rest in headers. */
  private async attach(n: Notification, png: Buffer, signal: AbortSignal): Promise<void> {
    const headers: Record<string, string> = {
      'content-type': 'image/png',
      filename: plotFileName(n),
      title: headerValue(titleOf(n)),
      message: headerValue(plotCaption(n)),
      tags: PLOT_TAG,
      // The summary just rang: the plot follows quietly.
      priority: String(Math.min(this.#priority, 2)),
      ...(this.#clickUrl ? { click: this.#clickUrl } : {}),
      ...this.authHeader(),
    };
    await this.request(new URL(this.#topic, this.#server), { method: 'PUT', headers, body: png, signal }, 'attachment upload');
  }

  private authHeader(): Record<string, string> {
    return this.#authorization ? { authorization: this.#authorization } : {};
  }

  /** One request to the server: refusals as the base's error kinds, the answer read within a bound. */
  private async request(url: URL, init: RequestInit, what: string): Promise<void> {
    let response: Response;
    try {
      // Redirects are not followed: the credentials would go along to wherever they point.
      response = await this.#fetch(url, { ...init, redirect: 'manual' });
    } catch (error) {
      throw unreachable(error, what);
    }
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      throw new ConfigRejectedError(
        `${what}: the server answered ${response.status}, a redirect; not followed, so the credentials went nowhere else. Set NTFY_URL to the address it moved to (https://…)`,
        response.status,
      );
    }
    if (!response.ok) throw await fromResponse(response, what);
    await readBounded(response, MAX_ANSWER_BYTES);
  }
}

/**
 * The longest rendering whose UTF-8 fits `maxBytes`: the kit measures UTF-16 units, and an emoji or
 * a CJK run name takes up to 3 bytes a unit, so the length limit shrinks until the bytes fit.
 */
function withinBytes(maxBytes: number, render: (maxLength: number) => string): string {
  let maxLength = maxBytes;
  let text = render(maxLength);
  for (let tries = 0; tries < 8 && Buffer.byteLength(text) > maxBytes && maxLength > 64; tries++) {
    maxLength = Math.max(64, Math.floor((maxLength * maxBytes) / Buffer.byteLength(text)) - 16);
    text = render(maxLength);
  }
  return text;
}

function textOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
