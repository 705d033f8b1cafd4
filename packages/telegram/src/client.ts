/**
 * The Bot API client as epochcast uses it: `node-telegram-bot-api`'s `Api` with its own retries
 * off (the Notifier base owns retries, so they never multiply), its errors mapped onto the base's
 * kinds, and the settings (token, chat id, API root) checked before anything is sent. Its
 * ConfigError comes from `@epochcast/core/errors`, which loads no tfjs: `epochcast telegram chats`
 * starts fast.
 */
import { ConfigError } from '@epochcast/core/errors';
import { Api, NetworkError, ParseError, TelegramApiError, TimeoutError } from 'node-telegram-bot-api';

/** Telegram's official API root. */
export const DEFAULT_API_ROOT = 'https://api.telegram.org';

// BotFather tokens are `<bot id>:<35 characters>`; the testkit's and self-hosted servers' may be
// shorter, so only the shape is checked, not the length of the secret part.
const TOKEN_SHAPE = /^\d{1,20}:[A-Za-z0-9_-]{1,200}$/;

/** The token from an option or `TELEGRAM_BOT_TOKEN`, checked for shape; throws with a fix, never echoing it. */
export function resolveToken(where: string, token: string | undefined): string {
  const value = token ?? process.env.TELEGRAM_BOT_TOKEN;
  if (value === undefined || value.trim() === '')
    throw new ConfigError(
      `${where}: no bot token. Pass { token } or set TELEGRAM_BOT_TOKEN. Get one from @BotFather in Telegram (send it /newbot).`,
    );
  if (typeof value !== 'string' || !TOKEN_SHAPE.test(value.trim()))
    throw new ConfigError(
      `${where}: the bot token is malformed (a string of ${String(value).length} characters that is not <digits>:<letters, digits, _ or ->). ` +
        'Copy it again from @BotFather into TELEGRAM_BOT_TOKEN (or pass { token }); it looks like 123456789:AAH…',
    );
  return value.trim();
}

/**
 * The API root from an option, `TELEGRAM_API_ROOT`, else Telegram's; must be an http(s) URL without
 * a user name or password. fetch refuses a URL with credentials, and its error quotes the whole
 * request URL — `…/bot<token>/getMe` — so such a root is refused here, before any request.
 */
export function resolveApiRoot(where: string, apiRoot: string | undefined): string {
  const value = apiRoot ?? (process.env.TELEGRAM_API_ROOT || DEFAULT_API_ROOT);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(
      `${where}: apiRoot (or TELEGRAM_API_ROOT) is not a URL; received ${JSON.stringify(withoutCredentials(String(value)))}. Leave it unset for ${DEFAULT_API_ROOT}.`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigError(
      `${where}: apiRoot (or TELEGRAM_API_ROOT) must be http:// or https://; received ${JSON.stringify(url.protocol)}.`,
    );
  if (url.username !== '' || url.password !== '')
    throw new ConfigError(
      `${where}: apiRoot (or TELEGRAM_API_ROOT) must not contain a user name or password ("user:pass@"); received ${JSON.stringify(withoutCredentials(value))}. ` +
        'HTTP clients refuse credentials in a URL. Remove them: a Bot API server that needs a login must be reached through a proxy that adds it.',
    );
  return value.replace(/\/+$/, '');
}

/** `text` with the `user:pass@` of any URL in it replaced by `***@`. */
function withoutCredentials(text: string): string {
  return text.replace(/\/\/[^/@\s]*@/g, '//***@');
}

/**
 * `text` with the path segment that carries the token (`/bot<token>/…`) masked, whatever form the
 * token has there: HTTP errors quote the request URL.
 */
export function withoutBotPath(text: string): string {
  return withoutCredentials(text).replace(/\/bot[^/\s?#)'"]+/g, '/bot***');
}

/**
 * A chat id as Telegram takes it: an integer (negative for groups, `-100…` for supergroups and
 * channels) or a public `@channelusername`. Numeric strings become numbers.
 */
export function parseChatId(where: string, name: string, value: unknown): number | string {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value !== 0) return value;
  if (typeof value === 'string') {
    const s = value.trim();
    if (/^-?\d{1,16}$/.test(s) && Number(s) !== 0) return Number(s);
    if (/^@[A-Za-z][A-Za-z0-9_]{3,31}$/.test(s)) return s;
  }
  throw new ConfigError(
    `${where}: ${name} must be a chat id (an integer such as 123456789 or -1001234567890) or a public @channelname; received ${JSON.stringify(value)}. ` +
      'Run `epochcast telegram chats` to list the chats that wrote to your bot.',
  );
}

/**
 * A client with retries off: the caller (the Notifier base, the CLI) decides what to retry. Its
 * every request (commands' polls included) goes through `fetch`: give it the proxy-aware one.
 */
export function createApi(token: string, apiRoot: string, fetch: typeof globalThis.fetch, timeoutMs = 30_000): Api {
  return new Api(token, { apiRoot, maxRetries: 0, timeoutMs, fetch });
}

/** The HTTP-like code of a Bot API error (`error_code`), if it is one. */
export function apiErrorCode(error: unknown): number | undefined {
  return error instanceof TelegramApiError ? error.errorCode : undefined;
}

/** The description Telegram gave (`Bad Request: chat not found`), else the error's message. */
export function describeError(error: unknown): string {
  if (error instanceof TelegramApiError) return withoutBotPath(`${error.errorCode} ${error.description}`);
  if (error instanceof NetworkError || error instanceof TimeoutError || error instanceof ParseError) {
    // The library's own text is only "Network request failed: sendMessage": the cause says why.
    const cause = error.cause as { code?: string; cause?: { code?: string }; message?: string } | undefined;
    const why = cause?.code ?? cause?.cause?.code ?? cause?.message;
    return withoutBotPath(`${error.message}${why ? ` (${why})` : ''}`);
  }
  return withoutBotPath(error instanceof Error ? error.message || error.name : String(error));
}
