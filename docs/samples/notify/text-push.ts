// A plugin of your own, whole: it takes plain text POSTed to a secret URL (an ntfy topic URL does),
// and a job that reports through it to NTFY_URL.
// #region notifier
import { httpError, type Notification, Notifier, type NotifierLimits, type NotifierOptions, type SendContext } from '@epochcast/notify';

// A push service that takes plain text POSTed to a secret URL. (ntfy itself is @epochcast/ntfy.)
export class TextPushCallback extends Notifier {
  readonly service = 'text-push';
  readonly limits: NotifierLimits = { maxTextLength: 4096, images: false };
  // #private, unlike TypeScript's `private`: never shown by console.log or JSON.stringify.
  readonly #topicUrl: string;
  readonly #fetch = this.httpFetch; // fetch, through the proxy the environment names for the URL
  constructor(topicUrl: string, options: NotifierOptions = {}) {
    super(options);
    this.#topicUrl = topicUrl;
    this.registerSecret(topicUrl); // redacted from every warning, error and message
  }
  protected async send(_n: Notification, context: SendContext): Promise<void> {
    const [text = ''] = context.messages(); // plain text within limits.maxTextLength
    const res = await this.#fetch(this.#topicUrl, { method: 'POST', body: text, signal: context.signal });
    await res.body?.cancel();
    if (!res.ok) throw httpError(res.status, res.statusText, Number(res.headers.get('retry-after') ?? Number.NaN));
  }
}
// #endregion

// The job that reports through it (imported here, apart from the plugin's imports shown in the README).
const { notifyRun } = await import('@epochcast/notify');
const push = new TextPushCallback(process.env.NTFY_URL ?? '');
await notifyRun(async () => 'done', { notifiers: [push], name: 'nightly-export' });
console.log(`delivered: ${push.report.delivered.join(', ')}`);
