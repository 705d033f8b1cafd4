import type { Notification, NotifierLimits, NotifierOptions, ScopeRequest, SendContext, VerifyContext } from '@epochcast/notify';
import { Notifier, plotFileName, scopeName } from '@epochcast/notify';
import { type Logger, LogLevel, WebClient, type WebClientOptions } from '@slack/web-api';
import { IncomingWebhook } from '@slack/webhook';
import { resolveSettings, type SlackEpochMode } from './config.js';
import { fromWebApi, fromWebhook } from './errors.js';
import { alertMessage, cardMessage, epochMessage, liveCardMessage, plotComment, summaryMessage } from './messages.js';
import type { SlackMessage } from './render.js';

export interface SlackCallbackOptions extends NotifierOptions {
  /** Bot token (`xoxb-…`, scopes `chat:write` and `files:write`). Default `SLACK_BOT_TOKEN`. */
  token?: string;
  /** Channel ID (`C0123456789`) or `#name` the bot posts to. Default `SLACK_CHANNEL`. */
  channel?: string;
  /** Incoming-webhook URL, for posting without a bot (no threads, edits or uploads). Default `SLACK_WEBHOOK_URL`. */
  webhookUrl?: string;
  /** Web API base URL. Default `SLACK_API_URL`, else `https://slack.com/api/`. */
  slackApiUrl?: string;
  /** Bot mode: `'thread'` replies in the run's thread per epoch (default); `'update'` edits the run's message in place. */
  epochs?: SlackEpochMode;
  /**
   * Least time between two posts, in ms. Default 1000: Slack allows about one message a second
   * per channel, shared by every run posting there. Epochs that pile up meanwhile are coalesced.
   */
  minSendIntervalMs?: number;
}

/** A message to post: mrkdwn `text`, the fallback of `blocks` when there are any. */
type SlackPost = { text: string; blocks?: SlackMessage['blocks'] };

/** Where a run's thread hangs: the channel ID and `ts` of its first message. */
interface Anchor {
  channel: string;
  ts: string;
}

const quiet: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => LogLevel.ERROR,
  setName: () => {},
};

/**
 * Training notifications in Slack.
 *
 * With a bot token (`SLACK_BOT_TOKEN`, `SLACK_CHANNEL`) each run is one message in the channel —
 * "⏳ mnist-mlp started on host · 5 epochs" — with a reply per epoch in its thread (or, with
 * `epochs: 'update'`, the message edited in place); at the end a Block Kit summary is posted in
 * the thread and broadcast to the channel, the loss plot is uploaded to the thread, and the run's
 * message is edited to ✅ or ❌. An alert (`callback.alert(text, { level })`) at `warning` or
 * `critical` is a message in the channel itself, where it is seen and notifies; at `info` it is a
 * reply in the run's thread (in the channel when there is no thread). The token and channel are
 * checked before the first epoch.
 *
 * With an incoming webhook (`SLACK_WEBHOOK_URL`) the same messages go to the webhook's channel,
 * without threads, edits or the plot; epoch messages are off unless asked for (`on`), since each
 * would be a channel message.
 */
export class SlackCallback extends Notifier {
  readonly service = 'slack';
  readonly limits: NotifierLimits;
  /** `bot` (Web API with a token) or `webhook` (incoming webhook). */
  readonly mode: 'bot' | 'webhook';
  /** The channel as configured (bot mode). */
  readonly channel: string | undefined;
  // Credentials in private fields: out of reach of anything that prints the callback.
  readonly #token: string | undefined;
  readonly #webhookUrl: string | undefined;
  private readonly apiUrl: string;
  private readonly epochs: SlackEpochMode;
  protected override verifies = 'the token';
  /** Each run's thread, by run id: kept here, since the base knows nothing of threads. */
  private readonly threads = new Map<string, Anchor>();
  /** Through the proxy the `proxy` option or the environment names, for every client of every attempt. */
  private readonly fetchThroughProxy: typeof fetch;

  constructor(options: SlackCallbackOptions = {}) {
    super(options);
    // Registered before they are checked: a malformed token is still a secret.
    this.registerSecret(textOrUndefined(options.token), textOrUndefined(options.webhookUrl));
    const settings = resolveSettings(options);
    this.mode = settings.mode;
    this.#token = settings.token;
    this.channel = settings.channel;
    this.#webhookUrl = settings.webhookUrl?.href;
    this.apiUrl = settings.apiUrl;
    this.epochs = settings.epochs;
    this.fetchThroughProxy = this.httpFetch;
    const bot = this.mode === 'bot';
    // Section text is the binding limit; renderSlack splits and trims to it.
    this.limits = { maxTextLength: 3000, images: bot, minSendIntervalMs: settings.minSendIntervalMs };
    // Slack has no scope-free way to look a channel up: the start message is the check.
    this.checksWithStartMessage = bot;
    if (!bot) this.defaultEvents = ['start', 'end', 'error', 'interrupt', 'alert'];
    // The webhook URL is the credential: its path, and its last segment on its own, are secret too.
    const hook = settings.webhookUrl;
    this.registerSecret(
      this.#token,
      hook?.href,
      hook && hook.pathname.length > 1 ? hook.pathname : undefined,
      hook?.pathname.split('/').at(-1),
    );
  }

  // #region guide-coordination
  /**
   * Runs posting to one channel share Slack's ~1 message/s for it: they join one scope per channel
   * (per webhook in webhook mode), and the base paces the sends of all of them together.
   */
  protected override coordination(): ScopeRequest | undefined {
    if (this.mode === 'webhook') return this.#webhookUrl ? { scope: scopeName('slack', this.#webhookUrl) } : undefined;
    // `#general` and `general` are one channel; its ID (C…) is another spelling we cannot match without a lookup.
    const channel = (this.channel ?? '').replace(/^#/, '').toLowerCase();
    return { scope: scopeName('slack', this.apiUrl, this.#token ?? '', channel) };
  }
  // #endregion

  protected override onFitEnded(): void {
    this.threads.clear();
  }

  protected override async verify({ signal }: VerifyContext): Promise<void> {
    if (this.mode !== 'bot') return;
    try {
      await this.client(signal).auth.test();
    } catch (cause) {
      // Refused: the run fails before its first epoch; Slack down: a warning, and training goes on.
      throw fromWebApi(cause, 'auth.test', this.channel);
    }
  }

  protected async send(n: Notification, context: SendContext): Promise<void> {
    if (this.mode === 'webhook') return this.sendWebhook(n, context);
    await this.sendBot(n, this.client(context.signal), context);
  }

  // ---- bot mode ------------------------------------------------------------------------------

  private async sendBot(n: Notification, client: WebClient, context: SendContext): Promise<void> {
    const thread = this.threads.get(n.run.id);
    if (n.event === 'start') {
      if (!thread) this.threads.set(n.run.id, await this.post(client, cardMessage(n)));
      return;
    }
    if (n.event === 'epoch') {
      const message = this.epochs === 'update' ? liveCardMessage(n) : epochMessage(n);
      // Without a start message, the first epoch's message is the one the thread hangs from.
      if (!thread) this.threads.set(n.run.id, await this.post(client, message));
      else if (this.epochs === 'update') await this.update(client, thread, liveCardMessage(n));
      else await this.post(client, message, thread);
      return;
    }
    if (n.event === 'alert') {
      // A thread reply notifies only those following the thread: right for info, too quiet for the rest.
      await this.post(client, alertMessage(n), n.alert?.level === 'info' ? thread : undefined);
      return;
    }
    await this.finish(n, client, thread, context);
  }

  /** The last message: summary (broadcast from the thread), then the plot and the card's new headline. */
  private async finish(n: Notification, client: WebClient, thread: Anchor | undefined, context: SendContext): Promise<void> {
    const summary = await context.step('summary', () => this.post(client, summaryMessage(n), thread, thread !== undefined));
    const anchor = thread ?? summary;
    const plot = n.plot;
    // Side by side: the summary is out already, and each extra is a round trip of its own.
    const extras = await Promise.allSettled([
      plot &&
        context.optionalStep('the loss plot upload', async () => this.upload(client, anchor, n, Buffer.from(await plot.png()), plot.title)),
      thread && context.optionalStep("the run message's update", () => this.update(client, thread, cardMessage(n))),
    ]);
    const failed = extras.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    this.threads.delete(n.run.id);
  }

  private async post(client: WebClient, message: SlackPost, thread?: Anchor, broadcast = false): Promise<Anchor> {
    const channel = thread?.channel ?? (this.channel as string);
    try {
      const blocks = message.blocks ? { blocks: message.blocks } : {};
      const base = { channel, text: message.text, ...blocks, unfurl_links: false, unfurl_media: false };
      const result = thread
        ? await client.chat.postMessage({ ...base, thread_ts: thread.ts, reply_broadcast: broadcast })
        : await client.chat.postMessage(base);
      // The answer's channel is the ID even when SLACK_CHANNEL is a #name; uploads need the ID.
      return { channel: result.channel ?? channel, ts: result.ts ?? '' };
    } catch (error) {
      throw fromWebApi(error, 'chat.postMessage', this.channel);
    }
  }

  private async update(client: WebClient, anchor: Anchor, message: SlackMessage): Promise<void> {
    try {
      await client.chat.update({ channel: anchor.channel, ts: anchor.ts, text: message.text, blocks: message.blocks });
    } catch (error) {
      throw fromWebApi(error, 'chat.update', this.channel);
    }
  }

  private async upload(client: WebClient, anchor: Anchor, n: Notification, png: Buffer, title: string): Promise<void> {
    try {
      await client.files.uploadV2({
        channel_id: anchor.channel,
        thread_ts: anchor.ts,
        file: png,
        filename: plotFileName(n),
        title: `${n.run.name} · ${title}`.slice(0, 250),
        alt_text: title.slice(0, 1000),
        initial_comment: plotComment(n),
      });
    } catch (error) {
      throw fromWebApi(error, 'files.uploadV2', this.channel);
    }
  }

  /**
   * A client per attempt, whose every request (the upload's three included) is aborted with the
   * attempt: a timeout or the flush bound leaves no request running. Retries are the base's.
   */
  private client(signal: AbortSignal): WebClient {
    const options: WebClientOptions = {
      slackApiUrl: this.apiUrl,
      rejectRateLimitedCalls: true,
      retryConfig: { retries: 0 },
      timeout: this.options.timeoutMs,
      logger: quiet,
      fetch: (url, init) =>
        this.fetchThroughProxy(url, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal }),
    };
    return new WebClient(this.#token, options);
  }

  // ---- webhook mode --------------------------------------------------------------------------

  private async sendWebhook(n: Notification, { signal }: SendContext): Promise<void> {
    const message: SlackPost =
      n.event === 'start'
        ? cardMessage(n)
        : n.event === 'epoch'
          ? epochMessage(n)
          : n.event === 'alert'
            ? alertMessage(n)
            : summaryMessage(n);
    // @slack/webhook's HTTP error carries no headers: its injected fetch keeps Retry-After for us.
    let retryAfter: number | undefined;
    const hook = new IncomingWebhook(this.#webhookUrl as string, {
      timeout: this.options.timeoutMs,
      retryConfig: { retries: 0 },
      fetch: async (url, init) => {
        const response = await this.fetchThroughProxy(url, {
          ...init,
          signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal,
        });
        const header = response.headers.get('retry-after');
        const seconds = header === null ? Number.NaN : Number(header);
        retryAfter = Number.isFinite(seconds) ? seconds : undefined;
        return response;
      },
    });
    try {
      await hook.send({
        text: message.text,
        ...(message.blocks ? { blocks: message.blocks } : {}),
        unfurl_links: false,
        unfurl_media: false,
      });
    } catch (error) {
      throw fromWebhook(error, retryAfter);
    }
  }
}

function textOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
