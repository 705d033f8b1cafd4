import { PermanentError, TransientError } from './errors.js';
import type { Notification } from './notification.js';
import { Notifier, type NotifierLimits } from './notifier.js';
import type { NotifierOptions } from './options.js';
import { headline, renderText } from './render/index.js';

/** What ConsoleCallback writes to: a Node stream (stderr, a file) or anything with the same `write`. */
export interface TextWriter {
  write(text: string, callback: (error?: Error | null) => void): unknown;
}

export interface ConsoleCallbackOptions extends NotifierOptions {
  /** Where to write. Default `process.stderr`. */
  stream?: TextWriter;
}

/**
 * The reference plugin: writes each notification as plain text to a stream, an alert as one line
 * (its headline: `🚨 run · text`), so a log stays greppable. Everything else —
 * events, queue, coalescing, retries, redaction — comes from the Notifier base.
 */
export class ConsoleCallback extends Notifier {
  readonly service = 'console';
  readonly limits: NotifierLimits = { maxTextLength: 100_000, images: false };
  private readonly stream: TextWriter;

  constructor(options: ConsoleCallbackOptions = {}) {
    super(options);
    this.stream = options.stream ?? process.stderr;
  }

  protected async send(n: Notification): Promise<void> {
    const text = n.event === 'alert' ? headline(n) : renderText(n, { maxLength: this.limits.maxTextLength });
    await new Promise<void>((resolve, reject) =>
      this.stream.write(`${text}\n`, (error) => {
        if (!error) return resolve();
        // A stream we may not write to stays that way; anything else (EPIPE, EIO) may pass.
        const code = (error as NodeJS.ErrnoException).code;
        reject(code === 'EACCES' || code === 'EPERM' ? new PermanentError(error.message) : new TransientError(error.message));
      }),
    );
  }
}
