import { arbitraryNotification, LONE_SURROGATE, validateSlackBlocks } from '@epochcast/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderSlack, SLACK_LIMITS } from '../src/render.js';

const RUNS = { numRuns: 150 };
const notification = arbitraryNotification(fc);

describe('Slack messages, for arbitrary notifications', () => {
  it('Slack stays within Block Kit limits, escapes mrkdwn, survives JSON', () => {
    fc.assert(
      fc.property(notification, (n) => {
        const msg = renderSlack(n);
        expect(JSON.parse(JSON.stringify(msg))).toEqual(msg);
        expect(msg.text.length).toBeLessThanOrEqual(SLACK_LIMITS.text);
        expect(msg.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
        const mrkdwn: string[] = [msg.text];
        for (const b of msg.blocks) {
          if (b.type === 'header') {
            expect(b.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.headerText);
            expect(b.text.text.length).toBeGreaterThan(0);
          } else if (b.type === 'section') {
            expect(b.text !== undefined || (b.fields?.length ?? 0) > 0).toBe(true);
            if (b.text) {
              expect(b.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
              if (b.text.text.startsWith('```')) expect(b.text.text.slice(3, -3)).not.toContain('```');
              mrkdwn.push(b.text.text);
            }
            expect(b.fields?.length ?? 0).toBeLessThanOrEqual(SLACK_LIMITS.fields);
            for (const f of b.fields ?? []) {
              expect(f.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fieldText);
              mrkdwn.push(f.text);
            }
          } else if (b.type === 'context') {
            expect(b.elements.length).toBeLessThanOrEqual(SLACK_LIMITS.contextElements);
            mrkdwn.push(...b.elements.map((e) => e.text));
          }
        }
        for (const t of mrkdwn) {
          expect(t.length).toBeGreaterThan(0);
          expect(t).not.toMatch(/[<>]|&(?!amp;|lt;|gt;)/);
          expect(t).not.toMatch(LONE_SURROGATE);
        }
      }),
      RUNS,
    );
  });
  it('Slack: the blocks pass the Block Kit limits', () => {
    fc.assert(
      fc.property(notification, (n) => {
        const { text, blocks } = renderSlack(n);
        expect(validateSlackBlocks(blocks)).toBeUndefined();
        expect(text.length).toBeLessThanOrEqual(40_000);
      }),
      { numRuns: 150 },
    );
  });
});
