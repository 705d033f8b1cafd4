import {
  ConfigError,
  httpError,
  type Notification,
  Notifier,
  type NotifierLimits,
  type NotifierOptions,
  renderText,
  type SendContext,
  TransientError,
} from '@epochcast/notify';

export interface MinimalDiscordOptions extends NotifierOptions {
  /** `https://discord.com/api/webhooks/<id>/<token>`. Default `DISCORD_WEBHOOK_URL`. */
  webhookUrl?: string;
}

/** Every notification as a code block in a Discord channel. */
export class MinimalDiscordCallback extends Notifier {
  readonly service = 'discord';
  readonly limits: NotifierLimits = { maxTextLength: 2000, images: false };
  private readonly url: string;

  constructor(options: MinimalDiscordOptions = {}) {
    super(options);
    const url = options.webhookUrl ?? process.env.DISCORD_WEBHOOK_URL;
    if (!url) throw new ConfigError('MinimalDiscordCallback: no webhook URL. Pass { webhookUrl } or set DISCORD_WEBHOOK_URL.');
    this.url = url;
    this.registerSecret(url, new URL(url).pathname); // the URL is the credential
  }

  protected async send(n: Notification, { signal }: SendContext): Promise<void> {
    // A code block shows the table aligned and no markdown; 8 characters go to the fences.
    const text = renderText(n, { maxLength: this.limits.maxTextLength - 8 }).replaceAll('```', '`\u200b``');
    const body = JSON.stringify({ content: `\`\`\`\n${text}\n\`\`\``, allowed_mentions: { parse: [] } });
    let response: Response;
    try {
      response = await fetch(this.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal });
    } catch {
      throw new TransientError('could not reach Discord'); // retried with backoff
    }
    if (response.ok) return void (await response.body?.cancel());
    // Discord explains itself in JSON: { message, code }, and on a 429 { retry_after } in seconds.
    const answer = (await response.json().catch(() => ({}))) as { message?: string; retry_after?: number };
    throw httpError(
      response.status,
      answer.message ?? response.statusText,
      answer.retry_after ?? Number(response.headers.get('retry-after') ?? Number.NaN), // NaN: httpError waits 1 s
    );
  }
}
