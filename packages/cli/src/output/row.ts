// One line of the screen: its characters, kept as the printed string while it is one piece, else in a
// growable UTF-16 buffer; and what the screen knows about it (redrawn, last parsed, its tail place).

import { endianness } from 'node:os';
import { type Chars, charAt } from './redraws.js';

/** Wider than this, a line is not parsed, only shown cut. */
export const ROW_MAX = 64 * 1024;
/** Tail lines are cut like the previous OutputTail cut them. */
export const SHOWN_MAX = 300;

const SPACE = 0x20;
const LITTLE_ENDIAN = endianness() === 'LE';

export class Row {
  /**
   * The content while it is one piece of printed text on a fresh line — most lines — kept as that
   * string (a slice of the chunk) rather than copied: a flood of log lines copies nothing per line.
   */
  plain: string | undefined;
  buf = new Uint16Array(64);
  len = 0;
  /** Content went past ROW_MAX: shown cut, never parsed. */
  overflow = false;
  /** Changed since it was last handed to the parsers. */
  dirty = false;
  redrawn = false;
  /** The start of the text last handed to the parsers, to tell a new display from a redraw of the same. */
  parsedKey: string | undefined;
  parsedFinal = false;
  /** Place in the combined tail; given when the line first shows something. */
  seq = -1;

  /** The content's characters, for sameKey. */
  chars(): Chars {
    return this.plain ?? this.buf;
  }

  /** Before a change other than a fresh line's one piece: the content goes into buf. */
  materialize(): void {
    const plain = this.plain;
    if (plain === undefined) return;
    this.plain = undefined;
    this.ensure(plain.length);
    for (let k = 0; k < plain.length; k++) this.buf[k] = plain.charCodeAt(k);
  }

  ensure(size: number): void {
    if (size <= this.buf.length) return;
    const grown = new Uint16Array(Math.min(ROW_MAX, Math.max(size, this.buf.length * 2)));
    grown.set(this.buf.subarray(0, this.len));
    this.buf = grown;
  }

  text(max = ROW_MAX): string {
    const end = Math.min(this.len, max);
    if (this.plain !== undefined) return end === this.plain.length ? this.plain : this.plain.slice(0, end);
    if (LITTLE_ENDIAN) return Buffer.from(this.buf.buffer, this.buf.byteOffset, end * 2).toString('utf16le');
    let out = '';
    for (let k = 0; k < end; k += 8192)
      out += String.fromCharCode.apply(null, this.buf.subarray(k, Math.min(end, k + 8192)) as unknown as number[]);
    return out;
  }

  /** Makes the row a new, empty line (rows are recycled: a flood of short lines allocates nothing per line). */
  reset(): void {
    this.plain = undefined;
    this.len = 0;
    this.overflow = false;
    this.dirty = false;
    this.redrawn = false;
    this.parsedKey = undefined;
    this.parsedFinal = false;
    this.seq = -1;
    if (this.buf.length > 1024) this.buf = new Uint16Array(64);
  }
}

/** The row's length without trailing spaces. */
export function shownLength(row: Row): number {
  const chars = row.chars();
  let end = row.len;
  while (end > 0 && charAt(chars, end - 1) === SPACE) end--;
  return end;
}

export function shownText(row: Row): string {
  const end = shownLength(row);
  return end > SHOWN_MAX ? `${row.text(SHOWN_MAX - 1)}…` : row.text(end);
}
