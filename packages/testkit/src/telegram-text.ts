/**
 * Telegram's formatted-text parsing (HTML, MarkdownV2, legacy Markdown), following the
 * rules of TDLib, which the Bot API server runs: the same accepted markup, the same error
 * texts (with byte offsets into the UTF-8 source), entity offsets in UTF-16 code units, and
 * leading/trailing whitespace trimmed from the visible text.
 */

export type TgEntityType =
  | 'bold'
  | 'italic'
  | 'underline'
  | 'strikethrough'
  | 'spoiler'
  | 'code'
  | 'pre'
  | 'text_link'
  | 'blockquote'
  | 'expandable_blockquote'
  | 'custom_emoji'
  | 'bot_command';

export interface TgMessageEntity {
  type: TgEntityType;
  /** In UTF-16 code units, as Telegram counts. */
  offset: number;
  length: number;
  url?: string;
  language?: string;
  custom_emoji_id?: string;
}

export type ParseMode = 'HTML' | 'MarkdownV2' | 'Markdown';

export type ParsedText = { ok: true; text: string; entities: TgMessageEntity[] } | { ok: false; description: string };

export interface ParseOptions {
  /**
   * Reject a bare `&` that starts no entity. Telegram documents that every `&` must be escaped,
   * but its parser keeps an undecodable `&` as text; strict (the default) catches renderers
   * that forget to escape it.
   */
  strictHtml?: boolean;
}

class MarkupError extends Error {}

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
          : parseMode === 'Markdown'
            ? parseLegacyMarkdown(text)
            : { text, entities: [] };
    return { ok: true, ...trim(parsed.text, parsed.entities) };
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

function byteOffset(src: string, index: number): number {
  return Buffer.byteLength(src.slice(0, index), 'utf8');
}

const isSpace = (c: string | undefined): boolean => c !== undefined && /\s/.test(c);

function trim(text: string, entities: TgMessageEntity[]): { text: string; entities: TgMessageEntity[] } {
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

// ---------------------------------------------------------------------------------------- HTML

const HTML_TAGS = new Set([
  'a',
  'b',
  'strong',
  'i',
  'em',
  's',
  'strike',
  'del',
  'u',
  'ins',
  'tg-spoiler',
  'tg-emoji',
  'span',
  'pre',
  'code',
  'blockquote',
]);

const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' };

/** Decode `&lt;`, `&#60;`, `&#x3C;` at `i`; undefined when there is no entity there. */
function decodeEntity(src: string, i: number): { char: string; next: number } | undefined {
  const match = /^&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]{2,4}));/.exec(src.slice(i, i + 12));
  if (!match) return undefined;
  const [whole, dec, hex, name] = match;
  if (name !== undefined) {
    const char = NAMED_ENTITIES[name];
    return char === undefined ? undefined : { char, next: i + whole.length };
  }
  const code = Number.parseInt(dec ?? hex ?? '', dec !== undefined ? 10 : 16);
  if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return undefined;
  return { char: String.fromCodePoint(code), next: i + whole.length };
}

interface OpenTag {
  tag: string;
  arg: string | undefined;
  offset: number;
}

function htmlEntity(open: OpenTag, length: number): TgMessageEntity | undefined {
  const base = { offset: open.offset, length };
  switch (open.tag) {
    case 'b':
    case 'strong':
      return { type: 'bold', ...base };
    case 'i':
    case 'em':
      return { type: 'italic', ...base };
    case 'u':
    case 'ins':
      return { type: 'underline', ...base };
    case 's':
    case 'strike':
    case 'del':
      return { type: 'strikethrough', ...base };
    case 'tg-spoiler':
    case 'span':
      return { type: 'spoiler', ...base };
    case 'code':
      return { type: 'code', ...base };
    case 'pre':
      return open.arg ? { type: 'pre', ...base, language: open.arg } : { type: 'pre', ...base };
    case 'blockquote':
      return { type: open.arg === 'expandable' ? 'expandable_blockquote' : 'blockquote', ...base };
    case 'a':
      return open.arg ? { type: 'text_link', ...base, url: open.arg } : undefined;
    case 'tg-emoji':
      return open.arg ? { type: 'custom_emoji', ...base, custom_emoji_id: open.arg } : undefined;
    default:
      return undefined;
  }
}

function parseHtml(src: string, strict: boolean): { text: string; entities: TgMessageEntity[] } {
  let out = '';
  const stack: OpenTag[] = [];
  const entities: TgMessageEntity[] = [];
  const n = src.length;
  let i = 0;
  while (i < n) {
    const c = src[i];
    if (c === '&') {
      const decoded = decodeEntity(src, i);
      if (decoded) {
        out += decoded.char;
        i = decoded.next;
        continue;
      }
      if (strict) {
        throw new MarkupError(
          `Character '&' at byte offset ${byteOffset(src, i)} must be escaped as &amp; (or start an entity &lt; &gt; &amp; &quot; &#N;)`,
        );
      }
    }
    if (c !== '<') {
      out += c;
      i++;
      continue;
    }

    const begin = i;
    i++;
    if (src[i] !== '/') {
      const nameStart = i;
      while (i < n && !isSpace(src[i]) && src[i] !== '>') i++;
      if (i >= n) throw new MarkupError(`Unclosed start tag at byte offset ${byteOffset(src, begin)}`);
      const tag = src.slice(nameStart, i).toLowerCase();
      if (!HTML_TAGS.has(tag)) throw new MarkupError(`Unsupported start tag "${tag}" at byte offset ${byteOffset(src, begin)}`);

      let arg: string | undefined;
      while (src[i] !== '>') {
        while (i < n && isSpace(src[i])) i++;
        if (i >= n) throw new MarkupError(`Unclosed start tag "${tag}" at byte offset ${byteOffset(src, begin)}`);
        if (src[i] === '>') break;
        const attrStart = i;
        while (i < n && !isSpace(src[i]) && !'=>/"\''.includes(src[i] ?? '')) i++;
        const attr = src.slice(attrStart, i).toLowerCase();
        if (attr === '') throw new MarkupError(`Empty attribute name in the tag "${tag}" at byte offset ${byteOffset(src, begin)}`);
        while (i < n && isSpace(src[i])) i++;
        if (i >= n) throw new MarkupError(`Unclosed start tag "${tag}" at byte offset ${byteOffset(src, begin)}`);
        if (src[i] !== '=') {
          if (tag === 'blockquote' && attr === 'expandable') arg = 'expandable';
          continue;
        }
        i++;
        while (i < n && isSpace(src[i])) i++;
        if (i >= n) throw new MarkupError(`Unclosed start tag "${tag}" at byte offset ${byteOffset(src, begin)}`);

        let value = '';
        const quote = src[i];
        if (quote !== '"' && quote !== "'") {
          const tokenStart = i;
          while (i < n && /[A-Za-z0-9.-]/.test(src[i] ?? '')) i++;
          value = src.slice(tokenStart, i).toLowerCase();
          if (i >= n) throw new MarkupError(`Unclosed start tag "${tag}" at byte offset ${byteOffset(src, begin)}`);
          if (!isSpace(src[i]) && src[i] !== '>')
            throw new MarkupError(`Unexpected end of name token at byte offset ${byteOffset(src, i)}`);
        } else {
          i++;
          while (i < n && src[i] !== quote) {
            const decoded = src[i] === '&' ? decodeEntity(src, i) : undefined;
            if (decoded) {
              value += decoded.char;
              i = decoded.next;
            } else {
              value += src[i];
              i++;
            }
          }
          if (i >= n) throw new MarkupError(`Unclosed start tag at byte offset ${byteOffset(src, begin)}`);
          i++;
        }

        if (tag === 'a' && attr === 'href') arg = value;
        else if (tag === 'code' && attr === 'class' && value.startsWith('language-')) arg = value.slice('language-'.length);
        else if (tag === 'span' && attr === 'class' && value.startsWith('tg-')) arg = value.slice('tg-'.length);
        else if (tag === 'tg-emoji' && attr === 'emoji-id') arg = value;
      }
      i++;
      if (tag === 'span' && arg !== 'spoiler')
        throw new MarkupError(`Tag "span" must have class "tg-spoiler" at byte offset ${byteOffset(src, begin)}`);
      stack.push({ tag, arg, offset: out.length });
      continue;
    }

    const top = stack.at(-1);
    if (!top) throw new MarkupError(`Unexpected end tag at byte offset ${byteOffset(src, begin)}`);
    i++;
    const nameStart = i;
    while (i < n && !isSpace(src[i]) && src[i] !== '>') i++;
    const endTag = src.slice(nameStart, i).toLowerCase();
    while (i < n && isSpace(src[i])) i++;
    if (src[i] !== '>') throw new MarkupError(`Unclosed end tag at byte offset ${byteOffset(src, begin)}`);
    if (endTag !== '' && endTag !== top.tag) {
      throw new MarkupError(`Unmatched end tag at byte offset ${byteOffset(src, begin)}, expected "</${top.tag}>", found "</${endTag}>"`);
    }
    i++;
    stack.pop();
    const length = out.length - top.offset;
    if (length === 0) continue;
    // <pre><code class="language-x"> is one pre entity carrying the language.
    const parent = stack.at(-1);
    if (top.tag === 'code' && top.arg && parent?.tag === 'pre' && parent.offset === top.offset) {
      parent.arg = top.arg;
      continue;
    }
    const entity = htmlEntity(top, length);
    if (entity) entities.push(entity);
  }
  const unclosed = stack.at(-1);
  if (unclosed) throw new MarkupError(`Can't find end tag corresponding to start tag "${unclosed.tag}"`);
  return { text: out, entities };
}

// ---------------------------------------------------------------------------------- MarkdownV2

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

function parseMarkdownV2(src: string): { text: string; entities: TgMessageEntity[] } {
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

// ----------------------------------------------------------------------------- legacy Markdown

function parseLegacyMarkdown(src: string): { text: string; entities: TgMessageEntity[] } {
  let out = '';
  const entities: TgMessageEntity[] = [];
  const n = src.length;
  let i = 0;
  while (i < n) {
    const c = src[i] ?? '';
    if (c === '\\' && '_*`['.includes(src[i + 1] ?? '')) {
      out += src[i + 1];
      i += 2;
      continue;
    }
    if (!'_*`['.includes(c)) {
      out += c;
      i++;
      continue;
    }
    const begin = i;
    const offset = out.length;
    if (c === '[') {
      const close = src.indexOf(']', i + 1);
      if (close < 0) throw unclosed(begin);
      out += src.slice(i + 1, close);
      i = close + 1;
      if (src[i] === '(') {
        const end = src.indexOf(')', i);
        if (end < 0) throw unclosed(begin);
        const url = src.slice(i + 1, end);
        i = end + 1;
        if (out.length > offset && url) entities.push({ type: 'text_link', offset, length: out.length - offset, url });
      }
      continue;
    }
    const fence = c === '`' && src.startsWith('```', i) ? '```' : c;
    const end = src.indexOf(fence, i + fence.length);
    if (end < 0) throw unclosed(begin);
    out += src.slice(i + fence.length, end);
    i = end + fence.length;
    const type: TgEntityType = fence === '```' ? 'pre' : c === '`' ? 'code' : c === '*' ? 'bold' : 'italic';
    if (out.length > offset) entities.push({ type, offset, length: out.length - offset });
  }
  return { text: out, entities };

  function unclosed(begin: number): MarkupError {
    return new MarkupError(`Can't find end of the entity starting at byte offset ${byteOffset(src, begin)}`);
  }
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
