// The renderers (core) against the testkit's models of the services: whatever a user names a
// run, a metric or an error, Telegram's parser accepts every message within its limits, and
// Slack's block validation accepts the blocks.
import {
  type EpochStats,
  type Notification,
  renderSlack,
  renderTelegramCaption,
  renderTelegramHtml,
  renderTelegramMarkdownV2,
} from '@epochcast/core';
import { parseTelegramText, validateSlackBlocks } from '@epochcast/testkit';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';

const anyText = fc.string({ unit: 'grapheme', maxLength: 300 });
const nastyText = fc.oneof(
  anyText,
  fc.constantFrom('<b>&*_[evil](x)', '`code` ```fence```', '&amp; &lt; <', 'a\\b\\\\c', '||spoiler|| ~x~'),
);

const notification = fc
  .record({
    name: nastyText,
    metric: nastyText,
    message: nastyText,
    stackLines: fc.array(nastyText, { maxLength: 400 }),
    epochs: fc.integer({ min: 0, max: 150 }),
    event: fc.constantFrom('start', 'epoch', 'end', 'error', 'interrupt' as const),
  })
  .map(({ name, metric, message, stackLines, epochs, event }): Notification => {
    const metricName = metric.trim() || 'acc';
    const history: EpochStats[] = Array.from({ length: epochs }, (_, epoch) => ({
      epoch,
      totalEpochs: Math.max(epochs, 1),
      trainLoss: 1 / (epoch + 1),
      validLoss: 1.1 / (epoch + 1),
      metrics: { [metricName]: epoch / (epochs + 1) },
      lr: 1e-3,
      timeMs: 1234,
    }));
    return {
      event,
      run: {
        name: name || 'run',
        id: 'a1b2c3d4',
        host: 'host',
        rank: 0,
        startedAt: 0,
        totalEpochs: Math.max(epochs, 1),
        schedule: 'constant lr=0.001',
      },
      stats: history.at(-1),
      history,
      metricNames: [metricName],
      durationMs: 65_000,
      status: event === 'error' ? 'failed' : event === 'interrupt' ? 'interrupted' : event === 'end' ? 'completed' : 'running',
      ...(event === 'error' ? { error: { name: 'Error', message, stack: [`Error: ${message}`, ...stackLines].join('\n') } } : {}),
      ...(event === 'interrupt' ? { stopReason: 'interrupted by SIGINT' } : {}),
    };
  });

describe('rendered messages are accepted by the services as modelled by the testkit', () => {
  test('Telegram HTML and MarkdownV2: every part parses and is within 4096 visible characters; captions within 1024', () => {
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

  test('Slack: the blocks pass the Block Kit limits', () => {
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
