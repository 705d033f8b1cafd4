/**
 * Escaping for the short replies to commands, in the callback's parse mode. The notifications
 * themselves come from @epochcast/core's renderers; these helpers only wrap user-supplied text
 * (run names, metric names, user names) so it reaches the chat as typed.
 */
import { escapeMarkdownV2, escapeTelegramHtml } from '@epochcast/core';

/** Telegram's two rich parse modes. */
export type ParseMode = 'HTML' | 'MarkdownV2';

export interface Markup {
  readonly mode: ParseMode;
  /** Plain text, escaped. */
  text(s: string): string;
  bold(s: string): string;
  code(s: string): string;
  pre(s: string): string;
}

// Inside `code`/`pre` MarkdownV2 reserves only the backtick and the backslash.
const escapeMarkdownV2Code = (s: string): string => s.replace(/[`\\]/g, '\\$&');

const HTML: Markup = {
  mode: 'HTML',
  text: escapeTelegramHtml,
  bold: (s) => `<b>${escapeTelegramHtml(s)}</b>`,
  code: (s) => `<code>${escapeTelegramHtml(s)}</code>`,
  pre: (s) => `<pre>${escapeTelegramHtml(s)}</pre>`,
};

const MARKDOWN_V2: Markup = {
  mode: 'MarkdownV2',
  text: escapeMarkdownV2,
  bold: (s) => `*${escapeMarkdownV2(s)}*`,
  code: (s) => `\`${escapeMarkdownV2Code(s)}\``,
  pre: (s) => `\`\`\`\n${escapeMarkdownV2Code(s)}\n\`\`\``,
};

export function markupFor(mode: ParseMode): Markup {
  return mode === 'HTML' ? HTML : MARKDOWN_V2;
}

/** A learning rate as people write it: `0.0003`, `0.01`, `1.2e-7`. */
export function formatLr(lr: number): string {
  if (!Number.isFinite(lr)) return String(lr);
  return String(Number(lr.toPrecision(3)));
}
