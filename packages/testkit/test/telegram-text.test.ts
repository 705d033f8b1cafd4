import { describe, expect, it } from 'vitest';
import { parseTelegramText, visibleLength } from '../src/index.js';

const prefix = "Bad Request: can't parse entities: ";

describe('HTML', () => {
  it('accepts every documented tag and maps it to its entity', () => {
    const parsed = parseTelegramText(
      '<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike><del>d</del>' +
        '<span class="tg-spoiler">p</span><tg-spoiler>q</tg-spoiler><a href="https://t.test">a</a><code>c</code>' +
        '<pre><code class="language-python">x = 1</code></pre><blockquote>q</blockquote><blockquote expandable>x</blockquote>',
      'HTML',
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.text).toBe('bsieunskdpqacx = 1qx');
    expect(parsed.entities.map((e) => e.type)).toEqual([
      'bold',
      'bold',
      'italic',
      'italic',
      'underline',
      'underline',
      'strikethrough',
      'strikethrough',
      'strikethrough',
      'spoiler',
      'spoiler',
      'text_link',
      'code',
      'pre',
      'blockquote',
      'expandable_blockquote',
    ]);
    expect(parsed.entities.find((e) => e.type === 'pre')).toEqual({ type: 'pre', offset: 13, length: 5, language: 'python' });
  });

  it('decodes the four named entities and numeric ones, and trims the visible text', () => {
    expect(parseTelegramText('  &lt;&gt;&amp;&quot;&#65;&#x42; \n', 'HTML')).toEqual({ ok: true, text: '<>&"AB', entities: [] });
  });

  it('counts offsets in UTF-16 code units and limits in characters', () => {
    const parsed = parseTelegramText('😀 <b>ok</b>', 'HTML');
    expect(parsed).toEqual({ ok: true, text: '😀 ok', entities: [{ type: 'bold', offset: 3, length: 2 }] });
    expect(visibleLength('😀 ok')).toBe(4);
  });

  it.each([
    ['<b>x', `Can't find end tag corresponding to start tag "b"`],
    ['<b>x</i>', 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'],
    ['x</b>', 'Unexpected end tag at byte offset 1'],
    ['<div>x</div>', 'Unsupported start tag "div" at byte offset 0'],
    ['é <b', 'Unclosed start tag at byte offset 3'],
    ['<a href="x>t', 'Unclosed start tag at byte offset 0'],
    ['a <= b', 'Unsupported start tag "=" at byte offset 2'],
    ['<span>x</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'],
    ['x & y', "Character '&' at byte offset 2 must be escaped"],
  ])('%j → %s', (text, detail) => {
    const parsed = parseTelegramText(text, 'HTML');
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.description).toContain(prefix + detail);
  });

  it('keeps a bare & as text when not strict, as Telegram itself does', () => {
    expect(parseTelegramText('AT&T &foo; x', 'HTML', { strictHtml: false })).toEqual({ ok: true, text: 'AT&T &foo; x', entities: [] });
  });
});

describe('MarkdownV2', () => {
  it('parses the entities and escapes', () => {
    const parsed = parseTelegramText('*b* _i_ __u__ ~s~ ||p|| [l](https://x.test/a\\)b) `c\\`` ```js\nx()```', 'MarkdownV2');
    expect(parsed).toEqual({
      ok: true,
      text: 'b i u s p l c` x()',
      entities: [
        { type: 'bold', offset: 0, length: 1 },
        { type: 'italic', offset: 2, length: 1 },
        { type: 'underline', offset: 4, length: 1 },
        { type: 'strikethrough', offset: 6, length: 1 },
        { type: 'spoiler', offset: 8, length: 1 },
        { type: 'text_link', offset: 10, length: 1, url: 'https://x.test/a)b' },
        { type: 'code', offset: 12, length: 2 },
        { type: 'pre', offset: 15, length: 3, language: 'js' },
      ],
    });
  });

  it('escapes every reserved character with a backslash', () => {
    const reserved = '_*[]()~`>#+-=|{}.!';
    const escaped = [...reserved].map((c) => `\\${c}`).join('');
    expect(parseTelegramText(escaped, 'MarkdownV2')).toEqual({ ok: true, text: reserved, entities: [] });
    for (const c of '.!-=+#(){}]') {
      const parsed = parseTelegramText(`a ${c} b`, 'MarkdownV2');
      expect(parsed).toEqual({
        ok: false,
        description: `${prefix}Character '${c}' is reserved and must be escaped with the preceding '\\'`,
      });
    }
  });

  it('reports unclosed entities by TDLib name and byte offset', () => {
    expect(parseTelegramText('é _x', 'MarkdownV2')).toEqual({
      ok: false,
      description: `${prefix}Can't find end of Italic entity at byte offset 3`,
    });
    expect(parseTelegramText('`code', 'MarkdownV2')).toEqual({
      ok: false,
      description: `${prefix}Can't find end of Code entity at byte offset 0`,
    });
  });

  it('treats > at a line start as a blockquote', () => {
    expect(parseTelegramText('>quoted\n>more\nafter', 'MarkdownV2')).toEqual({
      ok: true,
      text: 'quoted\nmore\nafter',
      entities: [{ type: 'blockquote', offset: 0, length: 11 }],
    });
  });
});

describe('plain text', () => {
  it('takes text without a parse mode as it is', () => {
    expect(parseTelegramText('<b> & *', undefined)).toEqual({ ok: true, text: '<b> & *', entities: [] });
  });
});
