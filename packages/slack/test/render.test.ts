import { headline } from '@epochcast/notify';
import { hostileNotification, SAMPLE_HISTORY, sampleNotification } from '@epochcast/testkit';
import { describe, expect, it } from 'vitest';
import { renderSlack, SLACK_LIMITS } from '../src/render.js';

const note = sampleNotification;
const HISTORY = SAMPLE_HISTORY;
const evil = hostileNotification();

describe('Slack messages', () => {
  it('Slack escapes &, < and > and keeps the table in a code block', () => {
    const msg = renderSlack(evil);
    const mrkdwnTexts = msg.blocks.flatMap((b) =>
      b.type === 'section'
        ? [b.text?.text ?? '', ...(b.fields ?? []).map((f) => f.text)]
        : b.type === 'context'
          ? b.elements.map((e) => e.text)
          : [],
    );
    for (const t of [msg.text, ...mrkdwnTexts]) expect(t).not.toMatch(/[<>]|&(?!amp;|lt;|gt;)/);
    expect(msg.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: headline(evil), emoji: true } });
    const section = msg.blocks.find((b) => b.type === 'section' && b.text?.text.startsWith('```'));
    expect(section?.type === 'section' && section.text?.text).toMatch(
      /^```\nepoch {2}train_loss {2}valid_loss {2}top_5_acc {2}valid_loss {2}time/,
    );
    expect(msg.text).toContain('&lt;b&gt;&amp;*_[evil]');
    expect(msg.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
  });
  it('Slack breaks backtick runs that would close a code block', () => {
    const msg = renderSlack(note({ metricNames: ['a```b'], history: HISTORY.map((s) => ({ ...s, metrics: { 'a```b': 0.5 } })) }));
    const table = msg.blocks.find((b) => b.type === 'section' && b.text?.text.startsWith('```'));
    expect(table?.type === 'section' && table.text?.text.slice(3, -3)).not.toContain('```');
  });
});
