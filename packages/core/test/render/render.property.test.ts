import fc from 'fast-check';
import { Parser } from 'htmlparser2';
import { describe, expect, it } from 'vitest';
import { NOTIFY_EVENTS, type Notification, type NotificationError } from '../../src/notification.js';
import {
  epochTable,
  renderEmail,
  renderSlack,
  renderTelegramCaption,
  renderTelegramHtml,
  renderTelegramMarkdownV2,
  renderText,
  SLACK_LIMITS,
  trimStack,
} from '../../src/render/index.js';
import type { EpochStats, TrainStatus } from '../../src/state.js';

const RUNS = { numRuns: 150 };

/** Characters that break formats: markup, escapes, controls, separators, lone surrogates, emoji. */
const NASTY = fc.constantFrom(
  ...'<>&*_[]()~`>#+-=|{}.!\\\'";/:'.split(''),
  '\n',
  '\r',
  '\t',
  '\u0000',
  '\u001b',
  '\u007f',
  '\u0085',
  '\u2028',
  '\u200b',
  '\u202e',
  '\uD800',
  '\uDC00',
  '😀',
  '👩‍👩‍👧',
  '&amp;',
  '&#x3c;',
  '```',
  '<script>',
  '</pre>',
  '<b>',
  'a',
  ' ',
);

/** Arbitrary user text: full unicode, format-breaking characters, sometimes very long. */
const userText = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
  { weight: 3, arbitrary: fc.string({ unit: NASTY, maxLength: 60 }) },
  { weight: 1, arbitrary: fc.string({ unit: NASTY, minLength: 500, maxLength: 6000 }) },
);

const multiLine = fc.oneof(
  userText,
  fc.array(fc.oneof(userText, fc.constant('    at f (file:///a.js:1:2)')), { maxLength: 700 }).map((lines) => lines.join('\n')),
);

const number = fc.oneof(fc.double(), fc.double({ min: 0, max: 1, noNaN: true }));

const notification: fc.Arbitrary<Notification> = fc
  .record({
    event: fc.constantFrom(...NOTIFY_EVENTS),
    status: fc.constantFrom<TrainStatus>('running', 'completed', 'stopped', 'failed', 'interrupted'),
    name: userText,
    id: userText,
    host: userText,
    schedule: userText,
    backend: fc.option(userText, { nil: undefined }),
    params: fc.option(fc.oneof(fc.nat(), fc.double()), { nil: undefined }),
    startedAt: fc.oneof(fc.integer({ min: 0, max: 4_000_000_000_000 }), fc.double()),
    totalEpochs: fc.nat({ max: 10_000 }),
    metricNames: fc.array(userText, { maxLength: 5 }),
    rows: fc.array(fc.record({ train: number, valid: number, metrics: fc.array(number, { minLength: 5, maxLength: 5 }), time: fc.nat() }), {
      maxLength: 150,
    }),
    durationMs: fc.oneof(fc.nat(), fc.double()),
    stopReason: fc.option(userText, { nil: undefined }),
    error: fc.option(fc.record({ name: userText, message: multiLine, stack: fc.option(multiLine, { nil: undefined }) }), {
      nil: undefined,
    }),
  })
  .map((r) => {
    const history: EpochStats[] = r.rows.map((row, epoch) => ({
      epoch,
      totalEpochs: r.totalEpochs,
      trainLoss: row.train,
      validLoss: row.valid,
      metrics: Object.fromEntries(r.metricNames.map((m, i) => [m, row.metrics[i] ?? 0])),
      lr: 0.001,
      timeMs: row.time,
    }));
    const error: NotificationError | undefined = r.error && {
      name: r.error.name,
      message: r.error.message,
      ...(r.error.stack === undefined ? {} : { stack: r.error.stack }),
    };
    return {
      event: r.event,
      status: r.status,
      run: {
        name: r.name,
        id: r.id,
        host: r.host,
        rank: 0,
        startedAt: r.startedAt,
        totalEpochs: r.totalEpochs,
        schedule: r.schedule,
        ...(r.backend === undefined ? {} : { backend: r.backend }),
        ...(r.params === undefined ? {} : { params: r.params }),
      },
      stats: history[history.length - 1],
      history,
      metricNames: r.metricNames,
      durationMs: r.durationMs,
      ...(r.stopReason === undefined ? {} : { stopReason: r.stopReason }),
      ...(error === undefined ? {} : { error }),
    } satisfies Notification;
  });

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

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

const EMAIL_TAGS = new Set([
  'html',
  'head',
  'meta',
  'title',
  'body',
  'div',
  'h1',
  'h2',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'pre',
  'img',
  'p',
]);
const VOID = new Set(['meta', 'img']);

function parseEmailHtml(html: string): void {
  const open: string[] = [];
  const parser = new Parser(
    {
      onopentag(name) {
        if (!EMAIL_TAGS.has(name)) throw new Error(`tag <${name}>`);
        if (!VOID.has(name)) open.push(name);
      },
      onclosetag(name, implied) {
        if (VOID.has(name)) return;
        if (implied) throw new Error(`<${name}> closed implicitly`);
        if (open.pop() !== name) throw new Error(`misnested </${name}>`);
      },
    },
    { decodeEntities: true, recognizeSelfClosing: false },
  );
  parser.end(html);
  if (open.length > 0) throw new Error(`unclosed ${open.join(',')}`);
}

describe('renderers, for arbitrary notifications', () => {
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

  it('e-mail HTML parses with only its own tags, the subject is one short line', () => {
    fc.assert(
      fc.property(notification, fc.boolean(), (n, withPlot) => {
        const plot = { title: n.run.name, svg: '', png: async () => new Uint8Array() };
        const e = renderEmail(withPlot ? { ...n, plot: plot as unknown as NonNullable<Notification['plot']> } : n);
        expect(e.subject).not.toMatch(/[\r\n]/);
        expect(e.subject.length).toBeLessThanOrEqual(200);
        parseEmailHtml(e.html);
        expect(e.html).not.toMatch(/<script/i);
        expect(e.html).not.toMatch(LONE_SURROGATE);
      }),
      RUNS,
    );
  });

  it('plain text, the table and the stack fit their limits', () => {
    fc.assert(
      fc.property(notification, fc.integer({ min: 64, max: 5000 }), (n, maxLength) => {
        expect(renderText(n, { maxLength }).length).toBeLessThanOrEqual(maxLength);
        expect(epochTable(n.history, n.metricNames, { maxChars: maxLength, maxRows: 20 }).length).toBeLessThanOrEqual(maxLength);
        if (n.error?.stack) expect(trimStack(n.error.stack, maxLength).length).toBeLessThanOrEqual(maxLength);
      }),
      RUNS,
    );
  });
});
