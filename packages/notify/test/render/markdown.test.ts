// The CommonMark markup, rendered by marked (the parser ntfy's web app uses): what a user reads is
// exactly the text that went in, whatever it holds.
import { sampleNotification } from '@epochcast/testkit';
import fc from 'fast-check';
import { marked } from 'marked';
import { describe, expect, it } from 'vitest';
import { escapeMarkdown, MARKDOWN, renderMessages } from '../../src/index.js';

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };

/** The text a reader sees of rendered HTML: tags dropped, entities decoded. */
function visible(html: string): string {
  return html
    .replace(/<[^>]+>/g, '')
    .replace(/&(amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e] ?? e)
    .trim();
}

const render = (markdown: string): string => marked.parse(markdown, { async: false, gfm: true });

/** One line of hostile text: markdown syntax, HTML, entities, digits and words; no space at either end. */
const hostileLine = fc
  .array(
    fc.constantFrom(
      '*',
      '_',
      '`',
      '~',
      '|',
      '[',
      ']',
      '(',
      ')',
      '<',
      '>',
      '#',
      '-',
      '+',
      '=',
      '!',
      '&',
      'amp;',
      '1.',
      '2)',
      '\\',
      'a',
      'Z',
      '9',
      ' ',
      '<b>',
      '**x**',
      'ü',
      '🚀',
    ),
    {
      minLength: 1,
      maxLength: 30,
    },
  )
  .map((parts) => parts.join('').trim())
  .filter((s) => s !== '');

describe('MARKDOWN', () => {
  it('escaped text renders as itself, in a paragraph, with no element of its own', () => {
    fc.assert(
      fc.property(hostileLine, (line) => {
        const html = render(escapeMarkdown(line));
        expect(html).toMatch(/^<p>[\s\S]*<\/p>\n$/);
        expect(html.slice(3, -5)).not.toMatch(/<(?!br>)[a-z]/i);
        expect(visible(html).replace(/\s+/g, ' ')).toBe(line.replace(/\s+/g, ' '));
      }),
      { numRuns: 400 },
    );
  });

  it('bold and code hold hostile text; a code block holds any run of backticks', () => {
    expect(render(MARKDOWN.bold('a*b_c'))).toBe('<p><strong>a*b_c</strong></p>\n');
    expect(render(MARKDOWN.code('x `y` z'))).toBe('<p><code>x `y` z</code></p>\n');
    const block = 'epoch  loss\n``` not a fence\n````\n<b>0</b>';
    expect(visible(render(MARKDOWN.pre(block)))).toBe(block.replace(/<b>0<\/b>/, '<b>0</b>'));
    expect(render(MARKDOWN.pre(block))).toMatch(/^<pre><code>/);
  });

  it('a notification in Markdown: the headline bold, the epoch table one code block', () => {
    const [message] = renderMessages(sampleNotification(), MARKDOWN, {
      maxLength: 4096,
      maxMessages: 1,
      maxTableRows: 30,
      maxStackChars: 3000,
    });
    const html = render(message ?? '');
    expect(html).toMatch(/^<p><strong>✅ mnist-mlp completed/);
    expect(html.match(/<pre><code>/g)).toHaveLength(1);
    expect(html).toMatch(/<pre><code>epoch +train_loss +valid_loss/);
  });
});
