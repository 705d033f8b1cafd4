/** Telegram's HTML parse mode, following TDLib: the tags it accepts, its entity decoding and its error texts. */

import { byteOffset, type FormattedText, isSpace, MarkupError } from './telegram-markup.js';
import type { TgMessageEntity } from './telegram-types.js';

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

/** Parses `src` as `parse_mode: 'HTML'`; `strict` rejects a bare `&` that starts no entity. */
export function parseHtml(src: string, strict: boolean): FormattedText {
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
