/** What the Telegram text parsers share: the error they throw, with TDLib's byte offsets, and their result. */

import type { TgMessageEntity } from './telegram-types.js';

/** Visible text and its entities, before Telegram trims the whitespace around them. */
export interface FormattedText {
  text: string;
  entities: TgMessageEntity[];
}

/** Malformed markup; its message is what follows `Bad Request: can't parse entities: `. */
export class MarkupError extends Error {}

/** TDLib reports positions as byte offsets into the UTF-8 source. */
export function byteOffset(src: string, index: number): number {
  return Buffer.byteLength(src.slice(0, index), 'utf8');
}

export const isSpace = (c: string | undefined): boolean => c !== undefined && /\s/.test(c);
