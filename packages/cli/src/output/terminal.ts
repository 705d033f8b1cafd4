// One output stream as a terminal would show it: carriage returns and backspaces redraw a line,
// ANSI sequences colour it (dropped), erase it or move the cursor to the lines above (tqdm's nested
// bars), a line feed ends it. Lines are handed to a parser at the moments they mean something — ended,
// about to be overwritten by something else, left for another line — and at the end of each chunk,
// never once per redraw: a progress bar redraws itself a million times.

import { KEY_MAX, sameKey } from './redraws.js';
import { ROW_MAX, Row, shownLength, shownText } from './row.js';

/** A line of the screen, handed to the parsers. */
export interface ScreenLine {
  /** The line as shown, without trailing spaces. */
  text: string;
  /** Ended by a line feed (or by the end of the output): printed, not caught mid-redraw. */
  final: boolean;
  /** Drawn after a `\r` or `\b`: a progress display rather than a plain print. */
  redrawn: boolean;
  stream: 'stdout' | 'stderr';
}

/** A line for the tail, with its place among both streams' lines. */
export interface ShownLine {
  seq: number;
  text: string;
}

/** Lines the cursor can move back up to; older ones are kept for the tail only. */
const WINDOW = 16;
/** Longest escape sequence waited for across chunks; anything longer is garbage. */
const ESCAPE_MAX = 64;

const BS = 0x08;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const ESC = 0x1b;
const BEL = 0x07;
const DEL = 0x7f;
const SPACE = 0x20;

// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what it finds
const CONTROL = /[\u0000-\u001f\u007f]/g;
/** What can end a run of printable text, searched with indexOf so that skipped redraws are never walked in script. */
const SPECIALS = ['\r', '\n', '\u001b', '\b', '\t'] as const;

export class Screen {
  private readonly rows: Row[] = [new Row()];
  private cy = 0;
  private cx = 0;
  private saved: { cy: number; cx: number } | undefined;
  /** An escape sequence cut by the end of a chunk. */
  private carry = '';
  /** Inside a long escape sequence cut by the end of a chunk: the rest is consumed, not shown. */
  private skipping: 'csi' | 'osc' | undefined;
  private oscEsc = false;
  /** A `\r` was written: what comes next redraws the line, maybe as another display. */
  private fresh = false;
  /** The cursor went back over shown text: what is printed next redraws. */
  private movedBack = false;
  /** Lines scrolled out of the window, as the tail shows them: a ring of the last `keep`. */
  private readonly shown: ShownLine[] = [];
  private shownNext = 0;
  // The chunk being written and where its next special characters are (-1: not searched yet).
  private s = '';
  private n = 0;
  private readonly next = [-1, -1, -1, -1, -1];

  constructor(
    private readonly stream: 'stdout' | 'stderr',
    private readonly onLine: (line: ScreenLine) => void,
    private readonly nextSeq: () => number,
    private readonly keep: number,
  ) {}

  /** Shows `text`, a decoded piece of the stream, handing lines to the parser as they settle. */
  write(text: string): void {
    const s = this.carry === '' ? text : this.carry + text;
    this.carry = '';
    this.s = s;
    this.n = s.length;
    this.next.fill(-1);
    let i = 0;
    const n = s.length;
    if (this.skipping === 'csi') i = this.csi(0, -1);
    else if (this.skipping === 'osc') i = this.osc(0);
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c >= SPACE && c !== DEL) {
        // The run of printable text up to the next control character, found by the regex engine.
        CONTROL.lastIndex = i + 1;
        const j = CONTROL.test(s) ? CONTROL.lastIndex - 1 : n;
        this.print(s, i, j);
        i = j;
        continue;
      }
      switch (c) {
        case LF:
          this.lineFeed();
          i++;
          break;
        case CR:
          i = this.carriageReturn(i);
          break;
        case BS:
          if (this.cx > 0) {
            this.cx--;
            this.movedBack = true;
          }
          i++;
          break;
        case TAB:
          this.cx = (Math.floor(this.cx / 8) + 1) * 8;
          i++;
          break;
        case ESC:
          i = this.escape(i);
          break;
        default:
          i++; // other control characters show nothing
      }
    }
    this.s = '';
  }

  /** The end of a chunk: hands over the lines that changed, in their last state, unless caught mid-redraw. */
  settle(): void {
    for (let y = 0; y < this.rows.length; y++) {
      const row = this.rows[y] as Row;
      if (!row.dirty || row.len === 0) continue;
      // Caught mid-redraw, the line mixes two renderings: left for the next chunk. A longer rendering's
      // padding beyond the cursor is no mix, and right after a `\r` the last rendering is whole.
      if (y === this.cy && !this.fresh && this.cx < shownLength(row)) continue;
      this.emit(row, false);
    }
  }

  /** The output ended: its last line is final even without a line feed. */
  end(): void {
    this.carry = '';
    this.skipping = undefined;
    for (let y = 0; y < this.rows.length; y++) {
      const row = this.rows[y] as Row;
      if (row.len === 0) continue;
      if (y === this.cy) {
        if (row.dirty || !row.parsedFinal) this.emit(row, true);
      } else if (row.dirty) {
        this.emit(row, false);
      }
    }
    this.fresh = false;
  }

  /** The lines shown, oldest first, with their place among both streams' lines. */
  lines(): ShownLine[] {
    const out = [...this.shown.slice(this.shownNext), ...this.shown.slice(0, this.shownNext)];
    for (const row of this.rows) if (row.seq >= 0) out.push({ seq: row.seq, text: shownText(row) });
    return out;
  }

  private row(): Row {
    return this.rows[this.cy] as Row;
  }

  private print(s: string, from: number, to: number): void {
    const row = this.row();
    if (this.fresh) {
      this.fresh = false;
      // A different display replaces this one (the next epoch's bar over the last): hand over its last state first.
      if (row.dirty && row.len > 0 && !sameKey(row.chars(), 0, row.len, s, from, to)) this.emit(row, false);
    }
    if (this.movedBack) {
      row.redrawn = true;
      this.movedBack = false;
    }
    if (row.seq < 0) row.seq = this.nextSeq();
    const count = to - from;
    const cx = this.cx;
    row.dirty = true;
    this.cx = cx + count;
    if (cx === 0 && row.len <= count && count <= ROW_MAX) {
      // The whole content: kept as the string it is.
      row.plain = s.slice(from, to);
      row.len = count;
      return;
    }
    row.materialize();
    if (cx < ROW_MAX) {
      const end = Math.min(ROW_MAX, cx + count);
      row.ensure(end);
      if (cx > row.len) row.buf.fill(SPACE, row.len, cx);
      const buf = row.buf;
      for (let x = cx, k = from; x < end; x++, k++) buf[x] = s.charCodeAt(k);
      if (end > row.len) row.len = end;
    }
    if (cx + count > ROW_MAX) row.overflow = true;
  }

  private lineFeed(): void {
    const row = this.row();
    this.fresh = false;
    this.movedBack = false;
    if (row.seq < 0) row.seq = this.nextSeq();
    // A line feed ends what was printed on the line, also on a line the cursor came back up to
    // (tqdm.write() prints there, above the bars it redraws below).
    if (row.len > 0 && (row.dirty || !row.parsedFinal)) this.emit(row, true);
    if (this.cy === this.rows.length - 1) {
      if (this.rows.length < WINDOW) {
        this.rows.push(new Row());
        this.cy++;
      } else {
        this.rows.push(this.commit(this.rows.shift() as Row));
        if (this.saved !== undefined) this.saved.cy = Math.max(0, this.saved.cy - 1);
      }
    } else {
      this.cy++;
    }
    this.cx = 0;
  }

  /**
   * `\r`: the line is about to be redrawn. Redraws that the next one fully covers and that show the
   * same display are skipped unseen — the whole cost of a bar's many updates within one chunk is a
   * few indexOf calls — so only the last state of each display is written and parsed.
   */
  private carriageReturn(i: number): number {
    let j = i;
    for (;;) {
      const a = j + 1;
      const aEnd = this.nextSpecial(a);
      if (aEnd >= this.n || this.s.charCodeAt(aEnd) !== CR) break;
      const b = aEnd + 1;
      const bEnd = this.nextSpecial(b);
      if (bEnd - b < aEnd - a || !sameKey(this.s, a, aEnd, this.s, b, bEnd)) break;
      j = aEnd;
    }
    // Even on an empty line: text after a `\r` is drawn to be drawn over (Keras's one-step epochs).
    this.movedBack = true;
    // `\r\n` ends the line as it is; anything else after `\r` redraws it.
    this.fresh = this.s.charCodeAt(j + 1) !== LF;
    this.cx = 0;
    return j + 1;
  }

  private nextSpecial(from: number): number {
    let min = this.n;
    for (let k = 0; k < SPECIALS.length; k++) {
      let at = this.next[k] as number;
      if (at < from) {
        at = this.s.indexOf(SPECIALS[k] as string, from);
        if (at < 0) at = this.n;
        this.next[k] = at;
      }
      if (at < min) min = at;
    }
    return min;
  }

  /** Handles the escape sequence at `i`; returns where the text goes on. */
  private escape(i: number): number {
    const s = this.s;
    const n = this.n;
    if (i + 1 >= n) return this.waitFor(i, ESCAPE_MAX);
    const kind = s.charCodeAt(i + 1);
    if (kind === 0x5b /* [ */) return this.csi(i + 2, i);
    if (kind === 0x5d /* ] */) return this.osc(i + 2);
    if (kind >= 0x20 && kind <= 0x2f) {
      // ESC ( B and the like: intermediates, then one final character.
      let j = i + 2;
      while (j < n && s.charCodeAt(j) >= 0x20 && s.charCodeAt(j) <= 0x2f) j++;
      return j >= n ? this.waitFor(i, ESCAPE_MAX) : j + 1;
    }
    if (kind === 0x37 /* 7 */) this.saved = { cy: this.cy, cx: this.cx };
    else if (kind === 0x38 /* 8 */ && this.saved !== undefined) this.moveTo(this.saved.cy, this.saved.cx);
    else if (kind === 0x4d /* M: up */) this.moveTo(this.cy - 1, this.cx);
    else if (kind === 0x45 /* E: next line */) this.lineFeed();
    else if (kind === 0x44 /* D: down */) {
      const cx = this.cx;
      this.lineFeed();
      this.cx = cx;
    }
    return i + 2;
  }

  /**
   * A control sequence's parameters from `j` (the sequence began at `start`, maybe in an earlier
   * chunk: then -1), up to its final character. A terminal consumes parameters of any length; only
   * short sequences mean something here, a longer one is consumed and ignored.
   */
  private csi(j: number, start: number): number {
    const s = this.s;
    const n = this.n;
    for (; j < n; j++) {
      const c = s.charCodeAt(j);
      if (c >= 0x40 && c <= 0x7e) {
        this.skipping = undefined;
        if (start >= 0 && j - start <= ESCAPE_MAX) this.control(firstParameter(s, start + 2, j), c);
        return j + 1;
      }
      if (c < 0x20 || c > 0x3f) {
        // Not a sequence after all: what follows is shown.
        this.skipping = undefined;
        return j;
      }
    }
    if (start >= 0 && n - start <= ESCAPE_MAX) return this.waitFor(start, ESCAPE_MAX);
    this.skipping = 'csi';
    return n;
  }

  /** An operating system command (window title, hyperlink) from `j`, up to BEL or ESC \\, whatever its length. */
  private osc(j: number): number {
    const s = this.s;
    for (; j < this.n; j++) {
      const c = s.charCodeAt(j);
      if (c === BEL || (c === 0x5c && (j === 0 ? this.oscEsc : s.charCodeAt(j - 1) === ESC))) {
        this.skipping = undefined;
        return j + 1;
      }
    }
    this.oscEsc = s.charCodeAt(this.n - 1) === ESC;
    this.skipping = 'osc';
    return this.n;
  }

  private waitFor(i: number, max: number): number {
    if (this.n - i < max) this.carry = this.s.slice(i);
    return this.n;
  }

  /** A CSI sequence: `params` then its final character. */
  /** A CSI sequence: its first numeric parameter (NaN when none) and its final character. */
  private control(first: number, final: number): void {
    const count = Number.isNaN(first) || first < 1 ? 1 : Math.min(first, 10_000);
    const row = this.row();
    switch (final) {
      case 0x41: // A: up
        this.moveTo(this.cy - count, this.cx);
        break;
      case 0x42: // B: down
        this.moveTo(this.cy + count, this.cx);
        break;
      case 0x43: // C: forward
        this.cx += count;
        break;
      case 0x44: // D: back
        this.cx = Math.max(0, this.cx - count);
        this.movedBack = true;
        break;
      case 0x45: // E: next line
        this.moveTo(this.cy + count, 0);
        break;
      case 0x46: // F: previous line
        this.moveTo(this.cy - count, 0);
        break;
      case 0x47: // G: column
        this.cx = count - 1;
        break;
      case 0x4b: // K: erase in line
        this.fresh = false;
        this.eraseLine(row, Number.isNaN(first) ? 0 : first);
        break;
      case 0x4a: {
        // J: erase in display
        this.fresh = false;
        const mode = Number.isNaN(first) ? 0 : first;
        if (mode === 1) break;
        this.eraseLine(row, mode === 0 ? 0 : 2);
        for (let y = mode === 0 ? this.cy + 1 : 0; y < this.rows.length; y++) {
          if (y !== this.cy) this.eraseLine(this.rows[y] as Row, 2);
        }
        break;
      }
      default: // colours (m), cursor visibility, absolute positions: nothing a line shows
    }
  }

  private eraseLine(row: Row, mode: number): void {
    const from = mode === 0 ? Math.min(this.cx, row.len) : 0;
    const to = mode === 1 ? Math.min(this.cx + 1, row.len) : row.len;
    if (from >= to) return;
    // What is erased was shown: the parsers see it before it goes.
    if (row.dirty) this.emit(row, false);
    row.materialize();
    if (mode === 1) row.buf.fill(SPACE, 0, to);
    else {
      row.len = from;
      if (from < ROW_MAX) row.overflow = false;
    }
    row.dirty = true;
  }

  private moveTo(cy: number, cx: number): void {
    const target = Math.max(0, Math.min(this.rows.length - 1, cy));
    this.fresh = false;
    this.movedBack = false;
    if (target !== this.cy) this.leave(this.row());
    this.cy = target;
    this.cx = Math.max(0, cx);
  }

  /** The cursor leaves a line it may come back to (nested bars): parsed only if it shows another display than last time. */
  private leave(row: Row): void {
    if (!row.dirty || row.len === 0) return;
    const key = row.parsedKey;
    if (key === undefined || !sameKey(row.chars(), 0, row.len, key, 0, key.length)) this.emit(row, false);
  }

  private emit(row: Row, final: boolean): void {
    row.dirty = false;
    row.parsedFinal = final;
    if (row.overflow) return;
    const text = row.text().trimEnd();
    row.parsedKey = text.slice(0, KEY_MAX);
    this.onLine({ text, final, redrawn: row.redrawn, stream: this.stream });
  }

  /** Keeps a line that scrolled out of the window for the tail; returns the row, emptied, for the next line. */
  private commit(row: Row): Row {
    if (row.seq >= 0) {
      const line = { seq: row.seq, text: detached(shownText(row)) };
      if (this.shown.length < this.keep) this.shown.push(line);
      else {
        this.shown[this.shownNext] = line;
        this.shownNext = (this.shownNext + 1) % this.keep;
      }
    }
    row.reset();
    return row;
  }
}

/**
 * A copy of `text` that holds on to nothing else. A slice of a string can keep the whole string it was
 * cut from alive (V8's sliced strings): a tail line must not keep its 64 KiB chunk.
 */
export function detached(text: string): string {
  return `${text}\u0000`.slice(0, -1);
}

/** The leading digits of a sequence's parameters (`5` of `ESC[5;1H`), NaN when there are none; read without slicing. */
function firstParameter(s: string, from: number, to: number): number {
  let value = Number.NaN;
  for (let k = from; k < to && k < from + 9; k++) {
    const digit = s.charCodeAt(k) - 0x30;
    if (digit < 0 || digit > 9) break;
    value = (Number.isNaN(value) ? 0 : value * 10) + digit;
  }
  return value;
}
