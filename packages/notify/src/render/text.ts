import type { Notification } from '../notification.js';
import { PLAIN, renderMessages } from './doc.js';

/** Options of {@link renderText}. */
export interface RenderTextOptions {
  /** Longest result, in UTF-16 units, at least 64; the table and the stack shrink first. Default: no limit. */
  maxLength?: number;
  /** Most epoch rows in the table. Default 60. */
  maxTableRows?: number;
  /** Longest the error's stack may be. Default 8000. */
  maxStackChars?: number;
}

/**
 * A notification as plain text, for a console, a webhook or the text part of an e-mail:
 *
 * ```text
 * ✅ mnist-mlp completed 5 epochs in 3m 12s · best accuracy 97.12% (epoch 4/5)
 *
 * epoch  train_loss  valid_loss  accuracy  time
 * 0      0.512345    …
 *
 * run:      mnist-mlp (a1b2c3d4)
 * host:     gpu-01
 * ```
 *
 * Nothing is escaped: the text is for places that show text as is.
 */
export function renderText(n: Notification, options: RenderTextOptions = {}): string {
  const [text = ''] = renderMessages(
    n,
    PLAIN,
    {
      maxLength: options.maxLength ?? Number.POSITIVE_INFINITY,
      maxMessages: 1,
      maxTableRows: options.maxTableRows ?? 60,
      maxStackChars: options.maxStackChars ?? 8000,
    },
    { detailsAsTable: true },
  );
  return text;
}
