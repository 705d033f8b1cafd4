/**
 * The epoch table and stack traces, cut to a budget: a chat message or a Slack section cannot take
 * a 200-epoch table or a 500-line stack, but the lines that matter most can be kept.
 */
import { type EpochStats, formatTable, statsHeader, statsRow } from '@epochcast/core';
import { bestEpoch } from './format.js';
import { cleanText, cut, ELLIPSIS, oneLine, plural } from './strings.js';

/** One entry of a trimmed table: a history row by position, or a run of skipped epochs. */
export type EpochRowSlot = { index: number } | { skipped: number };

/**
 * Which history rows a table of at most `maxRows` rows shows, in order: all of them when they fit,
 * else the last epoch, the best, the first, then as many of the latest as fit, with a
 * `{ skipped }` slot for each gap.
 */
export function selectEpochRows(count: number, maxRows: number, best?: number): EpochRowSlot[] {
  const limit = Math.max(1, Math.floor(maxRows));
  const keep = new Set<number>();
  if (count <= limit) {
    for (let i = 0; i < count; i++) keep.add(i);
  } else {
    // The priority order matters only when maxRows < 3: the latest state, then the best, then the start.
    const add = (i: number) => keep.size < limit && keep.add(i);
    add(count - 1);
    if (best !== undefined && best >= 0 && best < count) add(best);
    add(0);
    for (let i = count - 2; keep.size < limit && i > 0; i--) add(i);
  }
  const slots: EpochRowSlot[] = [];
  let prev = -1;
  for (const index of [...keep].sort((a, b) => a - b)) {
    if (index > prev + 1) slots.push({ skipped: index - prev - 1 });
    slots.push({ index });
    prev = index;
  }
  return slots;
}

/** Options of {@link epochTable}. */
export interface EpochTableOptions {
  /** Most epoch rows to show (the header and `…` lines not counted). Default: all. */
  maxRows?: number;
  /** Longest the whole table may be, in UTF-16 units; rows are dropped, then lines cut, to fit. */
  maxChars?: number;
  /** Metric names in the header are cut to this length so one name cannot widen every line. Default 24. */
  maxNameLength?: number;
  /** Append `← best` to the best row (by {@link bestEpoch}). Default true. */
  markBest?: boolean;
}

/** The marker after the best row of a text table. */
export const BEST_MARKER = '← best';

/**
 * The fastai epoch table (`epoch train_loss valid_loss <metrics…> time`, built with the core's
 * `statsHeader`/`statsRow`/`formatTable`), columns aligned for a monospace block. When it is too
 * long it keeps the header, the first epoch, the best and the latest epochs, each gap shown as a
 * line `… N epochs skipped`. Never longer than `maxChars`.
 */
export function epochTable(history: readonly EpochStats[], metricNames: readonly string[], options: EpochTableOptions = {}): string {
  const maxChars = options.maxChars ?? Number.POSITIVE_INFINITY;
  const header = statsHeader(metricNames.map((name) => cut(oneLine(name), options.maxNameLength ?? 24)));
  const best = options.markBest === false || history.length < 2 ? undefined : bestEpoch(history, metricNames);

  const render = (maxRows: number): string => {
    const slots = selectEpochRows(history.length, maxRows, best?.index);
    const rows: string[][] = [header];
    for (const slot of slots) {
      if (!('index' in slot)) continue;
      const stats = history[slot.index];
      if (stats === undefined) continue;
      const row = statsRow(stats, metricNames);
      if (slot.index === best?.index) row.push(BEST_MARKER);
      rows.push(row);
    }
    const [headerLine = '', ...rowLines] = formatTable(rows).split('\n');
    const lines = [headerLine];
    for (const slot of slots) {
      lines.push('index' in slot ? (rowLines.shift() ?? '') : `${ELLIPSIS} ${plural(slot.skipped, 'epoch')} skipped`);
    }
    return lines.join('\n');
  };

  let rows = Math.max(1, Math.min(history.length, Math.floor(options.maxRows ?? history.length)));
  let text = render(rows);
  while (text.length > maxChars && rows > 1) {
    // Jump close to the size that fits, then step down: a re-render per row would be quadratic.
    rows = Math.max(1, Math.min(rows - 1, Math.floor((rows * maxChars) / text.length)));
    text = render(rows);
  }
  return text.length > maxChars ? squeezeLines(text.split('\n'), maxChars) : text;
}

/** Lines too wide for the budget even with one row: keep the first and last, each cut to the same width. */
function squeezeLines(lines: string[], maxChars: number): string {
  let kept = lines.length > 2 ? [lines[0] ?? '', lines[lines.length - 1] ?? ''] : lines;
  let width = Math.floor((maxChars + 1) / kept.length) - 1;
  if (width < 8) {
    kept = kept.slice(0, 1);
    width = maxChars;
  }
  return kept.map((line) => cut(line, width)).join('\n');
}

/** Options of {@link trimStack}. */
export interface TrimStackOptions {
  /** Most lines to keep, the omission marker not counted. Default: as many as fit. */
  maxLines?: number;
  /** Each line is cut to this length first (minified code makes 10 kB lines). Default 500. */
  maxLineLength?: number;
}

/**
 * A stack trace (or any multi-line text) within `maxChars` UTF-16 units: lines cleaned and cut to
 * `maxLineLength`, then, when still too long, the head (the message and the frames where it was
 * thrown) and the tail (the outermost frames), about two head lines per tail line, joined by a
 * line `… N lines omitted …`. Never longer than `maxChars`.
 */
export function trimStack(stack: string, maxChars: number, options: TrimStackOptions = {}): string {
  const maxLineLength = Math.max(1, options.maxLineLength ?? 500);
  const maxLines = Math.max(1, options.maxLines ?? Number.POSITIVE_INFINITY);
  const lines = cleanText(stack)
    .replace(/\s+$/, '')
    .split('\n')
    .map((line) => cut(line.trimEnd(), maxLineLength));
  const whole = lines.join('\n');
  if (whole.length <= maxChars && lines.length <= maxLines) return whole;

  const marker = (omitted: number) => `${ELLIPSIS} ${plural(omitted, 'line')} omitted ${ELLIPSIS}`;
  const reserve = marker(lines.length).length + 1;
  if (maxChars < reserve + 2) return cut(whole, maxChars);

  const head: string[] = [];
  const tail: string[] = [];
  let used = reserve;
  let hi = 0;
  let ti = lines.length - 1;
  let headOpen = true;
  let tailOpen = true;
  while (hi <= ti && (headOpen || tailOpen) && head.length + tail.length < maxLines) {
    const takeHead = headOpen && (!tailOpen || head.length <= 2 * tail.length);
    const line = (takeHead ? lines[hi] : lines[ti]) ?? '';
    if (used + line.length + 1 > maxChars) {
      // A long line may not fit while shorter ones on the other side still do.
      if (takeHead) headOpen = false;
      else tailOpen = false;
      continue;
    }
    used += line.length + 1;
    if (takeHead) head.push(lines[hi++] ?? '');
    else tail.push(lines[ti--] ?? '');
  }
  if (head.length === 0) head.push(cut(lines[0] ?? '', maxChars - used - 1));
  const omitted = lines.length - head.length - tail.length;
  if (omitted <= 0) return [...head, ...tail.reverse()].join('\n');
  return [...head, marker(omitted), ...tail.reverse()].join('\n');
}
