import {
  ConfigError,
  httpError,
  type Markup,
  type Notification,
  Notifier,
  type NotifierLimits,
  type NotifierOptions,
  type SendContext,
  TransientError,
} from '@epochcast/notify';

export interface MinimalDiscordOptions extends NotifierOptions {
  /** `https://discord.com/api/webhooks/<id>/<token>`. Default `DISCORD_WEBHOOK_URL`. */
  webhookUrl?: string;
}

// Everything goes in one code block (the table stays aligned, no markdown): a ``` in a run name or
// an error must not close it early. The base counts what this adds against the length limit.
const unfenced = (s: string) => s.replaceAll('```', '`\u200b``');
const IN_CODE_BLOCK: Markup = { text: unfenced, bold: unfenced, code: unfenced, pre: unfenced };

/** Every notification as a code block in a Discord channel. */
export class MinimalDiscordCallback extends Notifier {
  readonly service = 'discord';
  readonly limits: NotifierLimits = { maxTextLength: 2000, images: false };
  readonly #url: string; // #private: printing the notifier can never show it

  constructor(options: MinimalDiscordOptions = {}) {
    super(options);
    const url = options.webhookUrl ?? process.env.DISCORD_WEBHOOK_URL;
    if (!url) throw new ConfigError('MinimalDiscordCallback: no webhook URL. Pass { webhookUrl } or set DISCORD_WEBHOOK_URL.');
    this.#url = url;
    this.registerSecret(url, new URL(url).pathname); // the URL is the credential
  }

  protected async send(_n: Notification, context: SendContext): Promise<void> {
    // The notification as one message within limits.maxTextLength, 8 characters kept for the fences.
    const [text = ''] = context.messages(IN_CODE_BLOCK, { reserve: 8 });
    const body = JSON.stringify({ content: `\`\`\`\n${text}\n\`\`\``, allowed_mentions: { parse: [] } });
    let response: Response;
    try {
      const headers = { 'content-type': 'application/json' };
      // this.httpFetch, not fetch: it goes through the user's proxy (HTTPS_PROXY, the proxy option).
      response = await this.httpFetch(this.#url, { method: 'POST', headers, body, signal: context.signal });
    } catch {
      throw new TransientError('could not reach Discord'); // retried with backoff
    }
    if (response.ok) return void (await response.body?.cancel());
    // Discord explains itself in JSON: { message, code }, and on a 429 { retry_after } in seconds.
    const answer = (await response.json().catch(() => ({}))) as { message?: string; retry_after?: number };
    // 429 → RateLimitError, 5xx → TransientError, 401/404 (a wrong or deleted webhook) → ConfigRejectedError.
    throw httpError(
      response.status,
      answer.message ?? response.statusText,
      answer.retry_after ?? Number(response.headers.get('retry-after') ?? Number.NaN), // NaN: httpError waits 1 s
    );
  }
}
