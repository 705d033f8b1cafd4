import { arbitraryNotification, LONE_SURROGATE, parseTelegramText } from '@epochcast/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderTelegramCaption, renderTelegramHtml, renderTelegramMarkdownV2 } from '../src/render.js';

const RUNS = { numRuns: 150 };
const notification = arbitraryNotification(fc);

/**
 * Telegram HTML as Telegram parses it: only b/i/code/pre, properly nested and closed, `&` only in
 * the entities Telegram knows, no `<` or `>` outside a tag. Returns the visible text.
 */
function parseTelegramHtml(html: string): string {
  const stack: string[] = [];
  let visible = '';
  let last = 0;
  const re = /<(\/?)([a-z]+)>|&(lt|gt|amp|quot|#\d+|#x[0-9a-f]+);|[<>&]/gi;
  for (const m of html.matchAll(re)) {
    visible += html.slice(last, m.index);
    last = m.index + m[0].length;
    if (m[2] !== undefined) {
      if (!['b', 'i', 'code', 'pre'].includes(m[2])) throw new Error(`tag <${m[2]}>`);
      if (m[1] === '') stack.push(m[2]);
      else if (stack.pop() !== m[2]) throw new Error(`misnested </${m[2]}>`);
    } else if (m[3] !== undefined) {
      visible += '.';
    } else {
      throw new Error(`raw ${m[0]} at ${m.index}`);
    }
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.join('>, <')}>`);
  return visible + html.slice(last);
}

const MD_RESERVED = new Set('_*[]()~`>#+-=|{}.!\\'.split(''));

/**
 * Telegram MarkdownV2: outside entities every reserved character is escaped; `pre` and `code`
 * are closed and hold only escaped backticks and backslashes; bold is balanced.
 */
function checkMarkdownV2(md: string): void {
  let bold = false;
  let i = 0;
  const closeCode = (start: number, fence: string): number => {
    let j = start;
    while (j < md.length) {
      if (md[j] === '\\') {
        if (md[j + 1] !== '`' && md[j + 1] !== '\\') throw new Error(`bad escape in code at ${j}`);
        j += 2;
      } else if (md.startsWith(fence, j)) return j + fence.length;
      else if (md[j] === '`') throw new Error(`raw backtick in code at ${j}`);
      else j++;
    }
    throw new Error('unclosed code');
  };
  while (i < md.length) {
    const c = md[i] ?? '';
    if (c === '\\') {
      const code = md.charCodeAt(i + 1);
      if (!(code >= 1 && code <= 126)) throw new Error(`bad escape at ${i}`);
      i += 2;
    } else if (md.startsWith('```', i)) i = closeCode(i + 3, '```');
    else if (c === '`') i = closeCode(i + 1, '`');
    else if (c === '*') {
      bold = !bold;
      i++;
    } else if (MD_RESERVED.has(c)) throw new Error(`unescaped ${c} at ${i}`);
    else i++;
  }
  if (bold) throw new Error('unclosed bold');
}

describe('Telegram messages, for arbitrary notifications', () => {
  it('Telegram HTML parses, every part ≤ 4096, at most 3 parts, caption ≤ 1024', () => {
    fc.assert(
      fc.property(notification, (n) => {
        const parts = renderTelegramHtml(n);
        expect(parts.length).toBeGreaterThanOrEqual(1);
        expect(parts.length).toBeLessThanOrEqual(3);
        for (const p of parts) {
          expect(p.length).toBeLessThanOrEqual(4096);
          expect(parseTelegramHtml(p).trim()).not.toBe('');
          expect(p).not.toMatch(LONE_SURROGATE);
        }
        const caption = renderTelegramCaption(n);
        expect(caption.length).toBeLessThanOrEqual(1024);
        parseTelegramHtml(caption);
      }),
      RUNS,
    );
  });
  it('Telegram MarkdownV2 escapes every reserved character and stays within limits', () => {
    fc.assert(
      fc.property(notification, fc.integer({ min: 64, max: 4096 }), (n, maxLength) => {
        const parts = renderTelegramMarkdownV2(n, { maxLength });
        expect(parts.length).toBeLessThanOrEqual(3);
        for (const p of parts) {
          expect(p.length).toBeLessThanOrEqual(maxLength);
          checkMarkdownV2(p);
        }
        const caption = renderTelegramCaption(n, { parseMode: 'MarkdownV2' });
        expect(caption.length).toBeLessThanOrEqual(1024);
        checkMarkdownV2(caption);
      }),
      RUNS,
    );
  });
  it('Telegram HTML and MarkdownV2: every part parses and is within 4096 visible characters; captions within 1024', () => {
    fc.assert(
      fc.property(notification, (n) => {
        for (const [mode, parts] of [
          ['HTML', renderTelegramHtml(n)],
          ['MarkdownV2', renderTelegramMarkdownV2(n)],
        ] as const) {
          expect(parts.length).toBeGreaterThan(0);
          for (const part of parts) {
            const parsed = parseTelegramText(part, mode);
            if (!parsed.ok) throw new Error(`${mode} rejected: ${parsed.description}\n${part}`);
            expect([...parsed.text].length).toBeLessThanOrEqual(4096);
          }
        }
        const caption = parseTelegramText(renderTelegramCaption(n), 'HTML');
        if (!caption.ok) throw new Error(`caption rejected: ${caption.description}`);
        expect([...caption.text].length).toBeLessThanOrEqual(1024);
      }),
      { numRuns: 150 },
    );
  });
});
