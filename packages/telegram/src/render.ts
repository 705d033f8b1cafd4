/**
 * Telegram messages, in either parse mode. Limits are checked on the rendered string, tags and
 * escapes included, which is never less than what Telegram counts after parsing (4096 for a
 * message, 1024 for a caption).
 */
import {
  type Block,
  escapeHtmlText,
  headline,
  type Markup,
  type MessageOptions,
  type Notification,
  notificationDetails,
  pack,
  renderMessages,
} from '@epochcast/notify';

/** Telegram's longest message text. */
export const TELEGRAM_MAX_MESSAGE = 4096;
/** Telegram's longest photo caption. */
export const TELEGRAM_MAX_CAPTION = 1024;

/** Telegram's two rich parse modes. */
export type ParseMode = 'HTML' | 'MarkdownV2';

/** How a parse mode escapes and marks up raw text; `mode` is the `parse_mode` to send with it. */
export interface TelegramMarkup extends Markup {
  readonly mode: ParseMode;
}

/**
 * Telegram's HTML parse mode: outside tags only `<`, `>` and `&` are special, and Telegram knows
 * just the named entities `&lt;` `&gt;` `&amp;` `&quot;`, so quotes are left alone.
 */
export const escapeTelegramHtml = escapeHtmlText;

/** Telegram MarkdownV2 outside code: every reserved character, and the backslash, gets a backslash. */
export function escapeMarkdownV2(s: string): string {
  return s.replace(/[_*[\]()~`>#+\-=|{}.!\\]/g, '\\$&');
}

/** Telegram MarkdownV2 inside `pre` and `code`: only the backtick and the backslash are escaped. */
export function escapeMarkdownV2Code(s: string): string {
  return s.replace(/[`\\]/g, '\\$&');
}

// #region guide-markup
/** Telegram's HTML parse mode, using only `b`, `code` and `pre`. */
export const TELEGRAM_HTML: TelegramMarkup = {
  mode: 'HTML',
  text: escapeTelegramHtml,
  bold: (s) => `<b>${escapeTelegramHtml(s)}</b>`,
  code: (s) => `<code>${escapeTelegramHtml(s)}</code>`,
  pre: (s) => `<pre>${escapeTelegramHtml(s)}</pre>`,
};
// #endregion

/** Telegram's MarkdownV2 parse mode. */
export const TELEGRAM_MARKDOWN_V2: TelegramMarkup = {
  mode: 'MarkdownV2',
  text: escapeMarkdownV2,
  bold: (s) => `*${escapeMarkdownV2(s)}*`,
  code: (s) => `\`${escapeMarkdownV2Code(s)}\``,
  // The newline after the fence keeps the first line from being read as a language name.
  pre: (s) => `\`\`\`\n${escapeMarkdownV2Code(s)}\n\`\`\``,
};

/** Options of the Telegram message renderers. */
export interface TelegramOptions extends MessageOptions {
  /** Longest message. Default 4096. */
  maxLength?: number;
  /** Most messages one notification becomes. Default 3. */
  maxMessages?: number;
  /** Most epoch rows in the table. Default 30. */
  maxTableRows?: number;
  /** Longest the error's stack may be. Default 3000. */
  maxStackChars?: number;
}

/** A notification as Telegram messages in the parse mode of `m` (see {@link renderTelegramHtml}). */
export function renderTelegram(n: Notification, m: Markup, options: TelegramOptions = {}): string[] {
  return renderMessages(n, m, {
    maxLength: options.maxLength ?? TELEGRAM_MAX_MESSAGE,
    maxMessages: options.maxMessages ?? 3,
    maxTableRows: options.maxTableRows ?? 30,
    maxStackChars: options.maxStackChars ?? 3000,
    ...(options.maxTableChars === undefined ? {} : { maxTableChars: options.maxTableChars }),
  });
}

/**
 * A notification as Telegram messages with `parse_mode: 'HTML'`: the headline in `<b>`, the epoch
 * table and the stack each in `<pre>`, the run details as `<b>label:</b> value` lines. Split
 * between lines into up to `maxMessages` messages, each at most `maxLength`; a `<pre>` split in
 * two is closed and reopened, the table's header repeated.
 */
export function renderTelegramHtml(n: Notification, options: TelegramOptions = {}): string[] {
  return renderTelegram(n, TELEGRAM_HTML, options);
}

/** The same messages as {@link renderTelegramHtml}, for `parse_mode: 'MarkdownV2'`. */
export function renderTelegramMarkdownV2(n: Notification, options: TelegramOptions = {}): string[] {
  return renderTelegram(n, TELEGRAM_MARKDOWN_V2, options);
}

/** The markup of a parse mode. */
export function markupFor(mode: ParseMode): TelegramMarkup {
  return mode === 'HTML' ? TELEGRAM_HTML : TELEGRAM_MARKDOWN_V2;
}

/** Options of {@link renderTelegramCaption}. */
export interface TelegramCaptionOptions {
  /** Longest caption. Default 1024. */
  maxLength?: number;
  /** `HTML` (default) or `MarkdownV2`. */
  parseMode?: ParseMode;
}

const CAPTION_DETAILS = new Set(['run', 'host', 'duration', 'best', 'reason']);

/**
 * A short caption for the loss plot photo: the headline in bold and a few details, each line
 * dropped or cut as needed to stay within `maxLength`.
 */
export function renderTelegramCaption(n: Notification, options: TelegramCaptionOptions = {}): string {
  const m = markupFor(options.parseMode ?? 'HTML');
  const details = notificationDetails(n).filter(([k]) => CAPTION_DETAILS.has(k));
  const block: Block = {
    kind: 'text',
    lines: [[{ text: headline(n), bold: true }], ...details.map(([k, v]) => [{ text: `${k}: ${v}` }])],
  };
  // The packer's first message holds the headline (cut if it must be) and as many details as fit.
  return pack([block], m, options.maxLength ?? TELEGRAM_MAX_CAPTION)[0] ?? '';
}
