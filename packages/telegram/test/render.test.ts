import { failedNotification, hostileNotification, sampleNotification, sampleStats } from '@epochcast/testkit';
import { describe, expect, it } from 'vitest';
import { renderTelegramCaption, renderTelegramHtml, renderTelegramMarkdownV2 } from '../src/render.js';

const note = sampleNotification;
const failed = failedNotification;
const evil = hostileNotification();
const stats = sampleStats;

/** Tags and entities a Telegram HTML message may use; throws on anything else. */
function checkTelegramHtml(html: string): void {
  const stack: string[] = [];
  const re = /<(\/?)([a-z]+)>|[<>]|&(?:lt|gt|amp|quot|#\d+|#x[0-9a-f]+);|&/gi;
  for (const m of html.matchAll(re)) {
    if (m[0] === '<' || m[0] === '>' || m[0] === '&') throw new Error(`raw ${m[0]} at ${m.index}`);
    if (m[2] === undefined) continue;
    const tag = m[2];
    if (!['b', 'i', 'code', 'pre'].includes(tag)) throw new Error(`tag ${tag}`);
    if (m[1]) {
      if (stack.pop() !== tag) throw new Error(`misnested </${tag}>`);
    } else stack.push(tag);
  }
  if (stack.length > 0) throw new Error(`unclosed ${stack.join(',')}`);
}

describe('Telegram messages', () => {
  it('Telegram HTML escapes names and uses only allowed tags', () => {
    const [msg, ...rest] = renderTelegramHtml(evil);
    expect(rest).toEqual([]);
    checkTelegramHtml(msg ?? '');
    expect(msg).toContain('&lt;b&gt;&amp;*_[evil]');
    expect(msg).toContain('h&lt;o&gt;st&amp;');
    expect(msg).toContain('valid_loss');
    expect(msg).toContain('top_5_acc');
    expect(msg).toMatch(/<pre>epoch {2}train_loss/);
  });
  it('Telegram MarkdownV2 escapes every reserved character outside code', () => {
    const [msg] = renderTelegramMarkdownV2(evil);
    expect(msg).toContain('<b\\>&\\*\\_\\[evil\\]');
    expect(msg).toContain('top\\_5\\_acc 97\\.12%');
    // Inside the pre block only ` and \ are escaped.
    expect(msg).toMatch(/```\nepoch {2}train_loss {2}valid_loss {2}top_5_acc {2}valid_loss {2}time/);
  });
  it('Telegram splits a long table over messages, reopening <pre> and repeating the header', () => {
    const long = Array.from({ length: 300 }, (_, i) => stats(i, 300, { accuracy: 0.5 }, 0.1, 0.2));
    const parts = renderTelegramHtml(note({ history: long, run: { ...note().run, totalEpochs: 300 } }), {
      maxTableRows: Number.POSITIVE_INFINITY,
      maxTableChars: Number.POSITIVE_INFINITY,
      maxMessages: 10,
    });
    expect(parts.length).toBeGreaterThan(2);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(4096);
      checkTelegramHtml(p);
    }
    expect(parts[1]).toMatch(/^<pre>epoch {2}train_loss/);
    expect(parts.join('\n').match(/^\d+ {2}/gm)?.length).toBe(300);
  });
  it('Telegram trims to maxMessages', () => {
    const long = Array.from({ length: 300 }, (_, i) => stats(i, 300, { accuracy: 0.5 }, 0.1, 0.2));
    const parts = renderTelegramHtml(note({ history: long }), {
      maxTableRows: Number.POSITIVE_INFINITY,
      maxTableChars: Number.POSITIVE_INFINITY,
      maxMessages: 2,
    });
    expect(parts).toHaveLength(2);
  });
  it('Telegram caption stays short', () => {
    const c = renderTelegramCaption(evil);
    checkTelegramHtml(c);
    expect(c.split('\n')[0]).toBe('<b>✅ &lt;b&gt;&amp;*_[evil] completed 5 epochs in 3m 12s · best top_5_acc 97.12% (epoch 4/5)</b>');
    expect(renderTelegramCaption(failed(), { maxLength: 100 }).length).toBeLessThanOrEqual(100);
  });
});
