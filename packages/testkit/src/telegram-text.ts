/**
 * Telegram's formatted-text parsing (HTML and MarkdownV2, the modes epochcast sends), following
 * the rules of TDLib, which the Bot API server runs: the same accepted markup, the same error
 * texts (with byte offsets into the UTF-8 source), entity offsets in UTF-16 code units, and
 * leading/trailing whitespace trimmed from the visible text.
 */

import { parseHtml } from './telegram-html.js';
import { parseMarkdownV2 } from './telegram-markdown.js';
import { type FormattedText, MarkupError } from './telegram-markup.js';
import type { TgMessageEntity } from './telegram-types.js';

export type ParseMode = 'HTML' | 'MarkdownV2';

export type ParsedText = { ok: true; text: string; entities: TgMessageEntity[] } | { ok: false; description: string };

export interface ParseOptions {
  /**
   * Reject a bare `&` that starts no entity. Telegram documents that every `&` must be escaped,
   * but its parser keeps an undecodable `&` as text; strict (the default) catches renderers
   * that forget to escape it.
   */
  strictHtml?: boolean;
}

/**
 * Parse `text` as Telegram does for `parse_mode` and return the visible text and entities, or
 * the `description` Telegram would answer with (`Bad Request: can't parse entities: …`).
 */
export function parseTelegramText(text: string, parseMode: ParseMode | undefined, options: ParseOptions = {}): ParsedText {
  try {
    const parsed =
      parseMode === 'HTML'
        ? parseHtml(text, options.strictHtml ?? true)
        : parseMode === 'MarkdownV2'
          ? parseMarkdownV2(text)
          : { text, entities: [] };
    return { ok: true, ...trim(parsed) };
  } catch (error) {
    if (error instanceof MarkupError) return { ok: false, description: `Bad Request: can't parse entities: ${error.message}` };
    throw error;
  }
}

/** Telegram's length limits count characters (code points) of the visible text. */
export function visibleLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function trim({ text, entities }: FormattedText): FormattedText {
  const start = text.length - text.trimStart().length;
  const trimmed = text.trim();
  const end = start + trimmed.length;
  const out: TgMessageEntity[] = [];
  for (const e of entities) {
    const from = Math.max(e.offset, start);
    const to = Math.min(e.offset + e.length, end);
    if (to > from) out.push({ ...e, offset: from - start, length: to - from });
  }
  out.sort((a, b) => a.offset - b.offset || b.length - a.length);
  return { text: trimmed, entities: out };
}

/** `bot_command` entities Telegram adds to a user's message: `/stop`, `/status@my_bot`. */
export function commandEntities(text: string): TgMessageEntity[] {
  const entities: TgMessageEntity[] = [];
  for (const match of text.matchAll(/(^|\s)(\/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?)(?=$|\s)/g)) {
    const lead = match[1] ?? '';
    const command = match[2] ?? '';
    entities.push({ type: 'bot_command', offset: (match.index ?? 0) + lead.length, length: command.length });
  }
  return entities;
}
