/**
 * The Bot API's failures as the Notifier base acts on them: wait (RateLimitError, exactly
 * `retry_after`), try again (TransientError: 5xx, unreachable), give up on this message
 * (PermanentError: a bad request), or give up on the fit (ConfigRejectedError: the token, the chat
 * or the bot's access to it refused). Hints say how to fix the usual ones.
 */
import { ConfigRejectedError, PermanentError, RateLimitError, TransientError } from '@epochcast/notify';
import { NetworkError, ParseError, TelegramApiError, TimeoutError } from 'node-telegram-bot-api';
import { describeError } from './client.js';

export function toNotifierError(error: unknown): Error {
  if (error instanceof TelegramApiError) {
    const code = error.errorCode;
    const message = `${code} ${error.description}`;
    if (code === 429) return new RateLimitError((error.retryAfter ?? 1) * 1000, message);
    if (code >= 500) return new TransientError(message, code);
    if (/chat not found/i.test(error.description))
      return new ConfigRejectedError(
        `${message}: the bot can write to a chat only after someone there messaged it; see \`epochcast telegram chats\``,
        code,
      );
    if (code === 403) return new ConfigRejectedError(`${message}: the bot was blocked, removed from the chat, or may not post there`, code);
    if (code === 401) return new ConfigRejectedError(`${message}: the bot token was rejected`, code);
    return new PermanentError(message, code);
  }
  if (error instanceof NetworkError || error instanceof TimeoutError || error instanceof ParseError)
    return new TransientError(describeError(error), undefined, { cause: error });
  return error instanceof Error ? error : new Error(String(error));
}

/** Runs one Bot API call, its failure mapped onto the Notifier base's error kinds. */
export async function call<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toNotifierError(error);
  }
}
