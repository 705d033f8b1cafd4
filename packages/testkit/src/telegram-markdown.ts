/** Telegram's MarkdownV2 parse mode, following TDLib: its reserved characters, entities and error texts. */

import { byteOffset, type FormattedText, isSpace, MarkupError } from './telegram-markup.js';
import type { TgEntityType, TgMessageEntity } from './telegram-types.js';

const MDV2_RESERVED = '_*[]()~`>#+-=|{}.!';

const TDLIB_TYPE_NAMES: Partial<Record<TgEntityType, string>> = {
  bold: 'Bold',
  italic: 'Italic',
  underline: 'Underline',
  strikethrough: 'Strikethrough',
  spoiler: 'Spoiler',
  code: 'Code',
  pre: 'Pre',
  text_link: 'TextUrl',
  custom_emoji: 'CustomEmoji',
};

interface OpenMd {
  type: TgEntityType;
  begin: number;
  offset: number;
  language?: string;
}

const escapable = (c: string | undefined): boolean => c !== undefined && c.charCodeAt(0) > 0 && c.charCodeAt(0) <= 126;

/** Parses `src` as `parse_mode: 'MarkdownV2'`. */
export function parseMarkdownV2(src: string): FormattedText {
  let out = '';
  const stack: OpenMd[] = [];
  const entities: TgMessageEntity[] = [];
  let quoteStart: number | undefined;
  const n = src.length;
  let i = 0;

  const closeQuote = (): void => {
    if (quoteStart !== undefined && out.length > quoteStart)
      entities.push({ type: 'blockquote', offset: quoteStart, length: out.length - quoteStart });
    quoteStart = undefined;
  };

  while (i < n) {
    const c = src[i] ?? '';
    const top = stack.at(-1);

    if (c === '\\' && escapable(src[i + 1])) {
      out += src[i + 1];
      i += 2;
      continue;
    }

    if (top?.type === 'code' || top?.type === 'pre') {
      const closes = top.type === 'code' ? c === '`' : src.startsWith('```', i);
      if (!closes) {
        out += c;
        i++;
        continue;
      }
    }

    // A '>' opening a line is a blockquote marker; the quote runs while lines keep starting with one.
    if (c === '>' && (i === 0 || src[i - 1] === '\n') && stack.length === 0) {
      if (quoteStart === undefined) quoteStart = out.length;
      i++;
      continue;
    }
    if (c === '\n' && quoteStart !== undefined && src[i + 1] !== '>') {
      closeQuote();
    }

    if (!MDV2_RESERVED.includes(c)) {
      out += c;
      i++;
      continue;
    }

    const isEnd =
      top !== undefined &&
      ((top.type === 'bold' && c === '*') ||
        (top.type === 'italic' && c === '_' && src[i + 1] !== '_') ||
        (top.type === 'underline' && c === '_' && src[i + 1] === '_') ||
        (top.type === 'strikethrough' && c === '~') ||
        (top.type === 'spoiler' && c === '|' && src[i + 1] === '|') ||
        ((top.type === 'text_link' || top.type === 'custom_emoji') && c === ']') ||
        top.type === 'code' ||
        top.type === 'pre');

    if (!isEnd) {
      const begin = i;
      let type: TgEntityType;
      let language: string | undefined;
      switch (c) {
        case '_':
          if (src[i + 1] === '_') {
            type = 'underline';
            i += 2;
          } else {
            type = 'italic';
            i++;
          }
          break;
        case '*':
          type = 'bold';
          i++;
          break;
        case '~':
          type = 'strikethrough';
          i++;
          break;
        case '|':
          if (src[i + 1] !== '|') throw reserved(c);
          type = 'spoiler';
          i += 2;
          break;
        case '[':
          type = 'text_link';
          i++;
          break;
        case '!':
          if (src[i + 1] !== '[') throw reserved(c);
          type = 'custom_emoji';
          i += 2;
          break;
        case '`':
          if (src.startsWith('```', i)) {
            type = 'pre';
            i += 3;
            let end = i;
            while (end < n && !isSpace(src[end]) && src[end] !== '`') end++;
            if (end !== i && end < n && src[end] !== '`') {
              language = src.slice(i, end);
              i = end;
            }
            if (src[i] === '\n' || src[i] === '\r') i += (src[i + 1] === '\n' || src[i + 1] === '\r') && src[i] !== src[i + 1] ? 2 : 1;
          } else {
            type = 'code';
            i++;
          }
          break;
        default:
          throw reserved(c);
      }
      stack.push(language === undefined ? { type, begin, offset: out.length } : { type, begin, offset: out.length, language });
      continue;
    }

    // End of the innermost entity.
    const open = stack.pop() as OpenMd;
    let url: string | undefined;
    if (open.type === 'text_link' || open.type === 'custom_emoji') {
      i++;
      if (src[i] === '(') {
        const urlBegin = i;
        i++;
        url = '';
        while (i < n && src[i] !== ')') {
          if (src[i] === '\\' && escapable(src[i + 1])) {
            url += src[i + 1];
            i += 2;
          } else {
            url += src[i];
            i++;
          }
        }
        if (i >= n) throw new MarkupError(`Can't find end of a URL at byte offset ${byteOffset(src, urlBegin)}`);
        i++;
      }
    } else if (open.type === 'pre') {
      i += 3;
    } else if (open.type === 'underline' || open.type === 'spoiler') {
      i += 2;
    } else {
      i++;
    }
    const length = out.length - open.offset;
    if (length === 0) continue;
    const base = { offset: open.offset, length };
    if (open.type === 'text_link') {
      if (url) entities.push({ type: 'text_link', ...base, url });
    } else if (open.type === 'custom_emoji') {
      const id = /^tg:\/\/emoji\?id=(\d+)$/.exec(url ?? '')?.[1];
      if (!id) throw new MarkupError('Custom emoji entity must contain a tg://emoji URL');
      entities.push({ type: 'custom_emoji', ...base, custom_emoji_id: id });
    } else if (open.type === 'pre' && open.language) {
      entities.push({ type: 'pre', ...base, language: open.language });
    } else {
      entities.push({ type: open.type, ...base });
    }
  }
  closeQuote();
  const unclosed = stack.at(-1);
  if (unclosed) {
    throw new MarkupError(
      `Can't find end of ${TDLIB_TYPE_NAMES[unclosed.type] ?? unclosed.type} entity at byte offset ${byteOffset(src, unclosed.begin)}`,
    );
  }
  return { text: out, entities };

  function reserved(ch: string): MarkupError {
    return new MarkupError(`Character '${ch}' is reserved and must be escaped with the preceding '\\'`);
  }
}
