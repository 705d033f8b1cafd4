/**
 * The layout every text format shares: what a notification says (headline, epoch table, stack or
 * an alert's text, run details), laid out as blocks of lines, rendered by a {@link Markup}, and packed into as few
 * messages as fit a length limit — splitting only between lines, so no tag, entity or escape is
 * ever cut, and a `pre` block split across messages is closed and reopened.
 */
import type { Notification } from '../notification.js';
import { alertShownInHeadline, bestPhrase, epochOf, formatDuration, headline, isJob, notificationOutcome, runLabel } from './format.js';
import { cleanText, cut, oneLine } from './strings.js';
import { epochTable, trimStack } from './table.js';

/** A run of raw (unescaped) text in a line, bold or as inline code. */
export interface Span {
  text: string;
  bold?: boolean;
  code?: boolean;
}

/** A block: lines of styled spans, or a preformatted (monospace) block of raw lines. */
export type Block =
  | { kind: 'text'; lines: Span[][] }
  /** `repeat`: how many leading lines (a table's header) to repeat atop each continuation. */
  | { kind: 'pre'; lines: string[]; repeat?: number };

/** How a format escapes and marks up text. Every method takes raw text. */
export interface Markup {
  text(s: string): string;
  bold(s: string): string;
  code(s: string): string;
  pre(s: string): string;
}

/** Plain text: no markup at all. */
export const PLAIN: Markup = { text: (s) => s, bold: (s) => s, code: (s) => s, pre: (s) => s };

/** Blank line between blocks, in every format. */
const BLOCK_SEPARATOR = '\n\n';

function renderLine(line: readonly Span[], m: Markup): string {
  return line.map((s) => (s.text === '' ? '' : s.bold ? m.bold(s.text) : s.code ? m.code(s.text) : m.text(s.text))).join('');
}

/** One block in a format. */
export function renderBlock(block: Block, m: Markup): string {
  return block.kind === 'text' ? block.lines.map((l) => renderLine(l, m)).join('\n') : m.pre(block.lines.join('\n'));
}

/** Blocks in a format, a blank line apart. */
export function renderBlocks(blocks: readonly Block[], m: Markup): string {
  return blocks.map((b) => renderBlock(b, m)).join(BLOCK_SEPARATOR);
}

/** The smallest `maxLength` the packer accepts: room for markup around at least a few characters. */
export const MIN_MESSAGE_LENGTH = 64;

/**
 * Blocks packed into messages of at most `maxLength` UTF-16 units each (the rendered string, so
 * escapes and tags count: never more than what the service counts after parsing). Whole blocks
 * go together while they fit; a block that does not is split between its lines; a single line
 * longer than a message is cut with `…`.
 */
export function pack(blocks: readonly Block[], m: Markup, maxLength: number): string[] {
  if (!(maxLength >= MIN_MESSAGE_LENGTH)) throw new RangeError(`maxLength must be at least ${MIN_MESSAGE_LENGTH}, got ${maxLength}`);
  const out: string[] = [];
  let cur: Block[] = [];
  const fits = (bs: readonly Block[]) => renderBlocks(bs, m).length <= maxLength;
  const flush = () => {
    if (cur.length > 0) out.push(renderBlocks(cur, m));
    cur = [];
  };

  for (const block of blocks) {
    if (fits([...cur, block])) {
      cur.push(block);
      continue;
    }
    if (fits([block])) {
      flush();
      cur.push(block);
      continue;
    }
    // Too big for a message of its own: line by line.
    const repeat = block.kind === 'pre' ? block.lines.slice(0, block.repeat ?? 0) : [];
    let part = emptyLike(block, []);
    let body = 0;
    const units = block.lines.length;
    for (let u = 0; u < units; u++) {
      let candidate = withLine(part, block, u);
      if (fits([...cur, candidate])) {
        part = candidate;
        body++;
        continue;
      }
      if (body > 0) cur.push(part);
      flush();
      // A continuation repeats the table header when it has body lines to go with it.
      part = emptyLike(block, u >= repeat.length ? repeat : []);
      candidate = withLine(part, block, u);
      if (!fits([candidate])) {
        part = emptyLike(block, []);
        candidate = withLine(part, block, u);
      }
      if (!fits([candidate])) candidate = cutLine(block, u, m, maxLength);
      part = candidate;
      body = 1;
    }
    if (body > 0) cur.push(part);
  }
  flush();
  return out;
}

function emptyLike(block: Block, repeat: string[]): Block {
  return block.kind === 'text' ? { kind: 'text', lines: [] } : { kind: 'pre', lines: [...repeat] };
}

function withLine(part: Block, source: Block, u: number): Block {
  if (part.kind === 'text' && source.kind === 'text') return { kind: 'text', lines: [...part.lines, source.lines[u] ?? []] };
  if (part.kind === 'pre' && source.kind === 'pre') return { kind: 'pre', lines: [...part.lines, source.lines[u] ?? ''] };
  return part;
}

/** Line `u` of `source` alone, cut (binary search on its raw length) until its block fits. */
function cutLine(source: Block, u: number, m: Markup, maxLength: number): Block {
  const make = (keep: number): Block => {
    if (source.kind === 'pre') return { kind: 'pre', lines: [cut(source.lines[u] ?? '', keep)] };
    const line = source.lines[u] ?? [];
    if (line.reduce((n, s) => n + s.text.length, 0) <= keep) return { kind: 'text', lines: [line] };
    let left = keep;
    const spans: Span[] = [];
    for (const span of line) {
      // A whole span only while a character stays free for the ellipsis of the span that is cut.
      if (span.text.length < left) {
        spans.push(span);
        left -= span.text.length;
        continue;
      }
      spans.push({ ...span, text: cut(span.text, left) });
      break;
    }
    return { kind: 'text', lines: [spans] };
  };
  const rawLength = source.kind === 'pre' ? (source.lines[u] ?? '').length : (source.lines[u] ?? []).reduce((n, s) => n + s.text.length, 0);
  let lo = 0;
  let hi = rawLength;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (renderBlock(make(mid), m).length <= maxLength) lo = mid;
    else hi = mid - 1;
  }
  return make(lo);
}

/** How much of the table and the stack a rendering shows; shrunk step by step to fit a limit. */
export interface Budget {
  tableRows: number;
  tableChars: number;
  stackChars: number;
  details: boolean;
}

/** What a notification says, before any format. */
export interface Content {
  headline: string;
  /** The epoch table, trimmed to the budget; absent without epochs or on `start`. */
  table?: string;
  /** The error's stack (or name and message), trimmed to the budget. */
  error?: string;
  /** An alert's whole text, cleaned and cut to the stack's budget, when the headline shows less of it. */
  alert?: string;
  /** Run details as label/value pairs, values one-lined and shortened. */
  details: Array<[label: string, value: string]>;
}

const DETAIL_MAX = 200;

/** `2025-01-02 03:04:05 UTC`, or `—` for a time that is not one. */
export function formatTimestamp(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? '—' : `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** The full error text: the stack when it has the message, else `name: message` above it. */
export function errorText(error: NonNullable<Notification['error']>): string {
  const head = error.name && error.message ? `${error.name}: ${error.message}` : error.name || error.message;
  const stack = error.stack ?? '';
  if (stack.trim() === '') return head;
  return stack.includes(error.message) ? stack : `${head}\n${stack}`;
}

/**
 * Run details for the detail list, Slack fields and the e-mail's info table: at most 10 pairs
 * (Slack's field limit), none on epoch updates (the headline and table say it all). An alert's
 * are few: run, host, started, duration and, during a fit, the epochs so far.
 */
export function notificationDetails(n: Notification): Array<[string, string]> {
  const outcome = notificationOutcome(n);
  if (outcome === 'progress') return [];
  const v = (s: string) => cut(oneLine(s), DETAIL_MAX) || '—';
  const pairs: Array<[string, string]> = [
    ['run', `${runLabel(n)} (${v(n.run.id)})`],
    ['host', v(n.run.host)],
    ['started', formatTimestamp(n.run.startedAt)],
  ];
  if (outcome === 'alert') {
    pairs.push(['duration', formatDuration(n.durationMs)]);
    if (!isJob(n)) pairs.push(['epochs', epochOf(n.history.length, n.run.totalEpochs)]);
    return pairs;
  }
  if (outcome !== 'started') {
    pairs.push(['duration', formatDuration(n.durationMs)]);
    if (!isJob(n)) pairs.push(['epochs', epochOf(n.history.length, n.run.totalEpochs)]);
    const best = bestPhrase(n);
    if (best) pairs.push(['best', best]);
  } else if (!isJob(n) && n.run.totalEpochs > 0) {
    pairs.push(['epochs', String(n.run.totalEpochs)]);
    const resumed = n.run.resumedFromEpoch;
    if (resumed !== undefined) pairs.push(['resumed', `after epoch ${epochOf(resumed, n.run.totalEpochs)}`]);
  }
  if ((outcome === 'stopped' || outcome === 'interrupted') && n.stopReason) pairs.push(['reason', v(n.stopReason)]);
  // For a job (`epochcast run`) this field holds the command line and how it ended.
  if (n.run.schedule) pairs.push([isJob(n) ? 'job' : 'schedule', v(n.run.schedule)]);
  if (n.run.backend) pairs.push(['backend', v(n.run.backend)]);
  if (n.run.params !== undefined) pairs.push(['params', formatCount(n.run.params)]);
  return pairs.slice(0, 10);
}

/** `101,770`. */
export function formatCount(x: number): string {
  return Number.isFinite(x) ? new Intl.NumberFormat('en-US').format(x) : String(x);
}

/** The content of a notification at a budget. */
export function buildContent(n: Notification, budget: Budget): Content {
  const content: Content = { headline: headline(n), details: budget.details ? notificationDetails(n) : [] };
  const outcome = notificationOutcome(n);
  // An alert says what happened and where the run is (its details); the table belongs to the epoch messages.
  if (n.event !== 'start' && outcome !== 'alert' && n.history.length > 0 && budget.tableRows > 0) {
    content.table = epochTable(n.history, n.metricNames, { maxRows: budget.tableRows, maxChars: budget.tableChars });
  }
  if (outcome === 'failed' && n.error && budget.stackChars > 0) {
    const text = trimStack(errorText(n.error), budget.stackChars);
    if (text.trim() !== '') content.error = text;
  }
  // An alert has no stack: its text takes the stack's share of the room.
  if (outcome === 'alert' && n.alert && budget.stackChars > 0 && !alertShownInHeadline(n.alert.text)) {
    content.alert = cut(cleanText(n.alert.text).trim(), budget.stackChars);
  }
  return content;
}

/**
 * The budget after `level` shrinking steps: from level 1 on the table and the stack get shares of
 * `capacity` (all the messages' room) that halve with every level, so an unlimited base shrinks
 * too; level 5 drops the table, 6 the stack, 7 the details.
 */
export function budgetAt(base: Budget, level: number, capacity: number): Budget {
  if (level === 0) return base;
  const f = 2 ** (level - 1);
  return {
    tableRows: level >= 5 ? 0 : Math.min(base.tableRows, Math.max(3, Math.floor(base.tableRows / f))),
    tableChars: Math.min(base.tableChars, Math.max(200, Math.floor((capacity * 0.7) / f))),
    stackChars: level >= 6 ? 0 : Math.min(base.stackChars, Math.max(300, Math.floor((capacity * 0.4) / f))),
    details: level < 7,
  };
}
/** The last shrinking level: headline only. */
export const LAST_LEVEL = 7;

/** Options of {@link layout}. */
export interface LayoutOptions {
  /** Details as an aligned two-column pre block (plain text) instead of `label: value` lines. */
  detailsAsTable?: boolean;
}

/** The blocks of a content: headline, table, error or alert text, details. */
export function layout(content: Content, options: LayoutOptions = {}): Block[] {
  const blocks: Block[] = [{ kind: 'text', lines: [[{ text: content.headline, bold: true }]] }];
  if (content.table) blocks.push({ kind: 'pre', lines: content.table.split('\n'), repeat: 1 });
  if (content.error) blocks.push({ kind: 'pre', lines: cleanText(content.error).split('\n') });
  if (content.alert)
    blocks.push({
      kind: 'text',
      lines: cleanText(content.alert)
        .split('\n')
        .map((line) => [{ text: line }]),
    });
  if (content.details.length > 0) {
    if (options.detailsAsTable) {
      const width = Math.max(...content.details.map(([k]) => k.length)) + 1;
      blocks.push({ kind: 'text', lines: content.details.map(([k, v]) => [{ text: `${`${k}:`.padEnd(width)} ${v}` }]) });
    } else {
      blocks.push({ kind: 'text', lines: content.details.map(([k, v]) => [{ text: `${k}:`, bold: true }, { text: ` ${v}` }]) });
    }
  }
  return blocks;
}

/** Options shared by the renderers that produce one or more text messages. */
export interface MessageOptions {
  /** Longest message, in UTF-16 units of the rendered string; at least 64 (else a RangeError). */
  maxLength?: number;
  /** Most messages to split into; content is trimmed further rather than exceed it. */
  maxMessages?: number;
  /** Most epoch rows in the table (header, first, best and latest kept). */
  maxTableRows?: number;
  /** Longest the table may be, in characters. Default: a message's length less room for the headline. */
  maxTableChars?: number;
  /** Longest the error's stack may be, in characters (head and tail kept). */
  maxStackChars?: number;
}

/**
 * A notification as messages in a format: content at the given budget, packed; when that takes
 * more than `maxMessages`, the budget shrinks level by level until it does. Past the last level
 * the first `maxMessages` messages are returned, the headline always in the first.
 */
export function renderMessages(
  n: Notification,
  m: Markup,
  options: Required<Pick<MessageOptions, 'maxLength' | 'maxMessages' | 'maxTableRows' | 'maxStackChars'>> &
    Pick<MessageOptions, 'maxTableChars'>,
  layoutOptions: LayoutOptions = {},
): string[] {
  const maxMessages = Math.max(1, Math.floor(options.maxMessages));
  const base: Budget = {
    tableRows: options.maxTableRows,
    tableChars: options.maxTableChars ?? Math.max(200, options.maxLength - 300),
    stackChars: options.maxStackChars,
    details: true,
  };
  const capacity = options.maxLength * maxMessages;
  let parts: string[] = [];
  for (let level = 0; level <= LAST_LEVEL; level++) {
    parts = pack(layout(buildContent(n, budgetAt(base, level, capacity)), layoutOptions), m, options.maxLength);
    if (parts.length <= maxMessages) return parts;
  }
  return parts.slice(0, maxMessages);
}
