// The `@epochcast {json}` line protocol: exact reports from any language. A well-formed line is taken
// out of the output; a malformed one (bad JSON, unknown event, wrong types, over 64 KiB) is shown as
// any other output — never fatal.

import { type EpochValues, epochValues } from './values.js';

export const PROTOCOL_MARKER = '@epochcast ';
/** Longer protocol lines are output, and a line held back this long is let through. */
export const PROTOCOL_LINE_MAX = 64 * 1024;

export type ProtocolMessage =
  | { event: 'epoch'; epoch: number; epochs?: number; values: EpochValues }
  | { event: 'batch'; loss: number }
  | { event: 'start'; epochs?: number; name?: string }
  | { event: 'alert'; text: string; level: 'info' | 'warning' | 'critical' };

const NAMES = { train: ['loss', 'train_loss'], valid: ['val_loss', 'valid_loss'], lr: ['lr'] } as const;
const RESERVED = new Set(['event', 'epoch', 'epochs']);
const LEVELS = new Set(['info', 'warning', 'critical']);

class Malformed extends Error {}

/** The message of a protocol line (the JSON after the marker), or `undefined` when it is malformed. */
export function parseProtocolJson(json: string): ProtocolMessage | undefined {
  const value = parseJson(json);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const fields = value as Record<string, unknown>;
  try {
    switch (fields.event) {
      case 'epoch':
        return epochMessage(fields);
      case 'batch':
        return { event: 'batch', loss: required(number(fields.loss)) };
      case 'start':
        return withDefined({ event: 'start' as const, epochs: count(fields.epochs), name: string(fields.name) });
      case 'alert': {
        const text = required(string(fields.text));
        const level = string(fields.level) ?? 'warning';
        if (text === '' || !LEVELS.has(level)) return undefined;
        return { event: 'alert', text, level: level as 'info' | 'warning' | 'critical' };
      }
      default:
        return undefined;
    }
  } catch (error) {
    if (error instanceof Malformed) return undefined;
    throw error;
  }
}

function epochMessage(fields: Record<string, unknown>): ProtocolMessage {
  const epoch = required(count(fields.epoch));
  const epochs = count(fields.epochs);
  const values = new Map<string, number>();
  for (const [name, raw] of Object.entries(fields)) {
    if (RESERVED.has(name)) continue;
    const known = (NAMES.train as readonly string[]).includes(name) || name === 'val_loss' || name === 'valid_loss' || name === 'lr';
    // A known field of the wrong type is a mistake worth showing; an unknown one that is not a number is just not a metric.
    const value = known ? number(raw) : typeof raw === 'number' && Number.isFinite(raw) ? raw : undefined;
    if (value !== undefined) values.set(name, value);
  }
  return withDefined({ event: 'epoch' as const, epoch, epochs, values: epochValues(values, NAMES) });
}

/** A number, `null` or absent (`undefined`); anything else is malformed. Non-finite numbers come from Python's `NaN`/`Infinity`. */
function number(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number') throw new Malformed();
  return value;
}

/** A count from 1 (an epoch number, a number of epochs), `null` or absent. */
function count(value: unknown): number | undefined {
  const n = number(value);
  if (n !== undefined && !(Number.isSafeInteger(n) && n >= 1)) throw new Malformed();
  return n;
}

function string(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new Malformed();
  return value;
}

function required<T>(value: T | undefined): T {
  if (value === undefined) throw new Malformed();
  return value;
}

function withDefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key];
  return value;
}

const NOT_A_NUMBER = '\u0000NaN';
const POSITIVE_INFINITY = '\u0000Infinity';
const NEGATIVE_INFINITY = '\u0000-Infinity';

/**
 * JSON, plus the `NaN`, `Infinity` and `-Infinity` that Python's json.dumps writes by default: a
 * script whose loss diverged must not have its report turned into noise.
 */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    if (!text.includes('NaN') && !text.includes('Infinity')) return undefined;
  }
  const parts: string[] = [];
  let from = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) {
      inString = true;
      continue;
    }
    const word = text.startsWith('NaN', i)
      ? ['NaN', NOT_A_NUMBER]
      : text.startsWith('-Infinity', i)
        ? ['-Infinity', NEGATIVE_INFINITY]
        : text.startsWith('Infinity', i)
          ? ['Infinity', POSITIVE_INFINITY]
          : undefined;
    if (word === undefined) continue;
    parts.push(text.slice(from, i), JSON.stringify(word[1]));
    i += (word[0] as string).length - 1;
    from = i + 1;
  }
  parts.push(text.slice(from));
  try {
    return JSON.parse(parts.join(''), (_key, value: unknown) =>
      value === NOT_A_NUMBER
        ? Number.NaN
        : value === POSITIVE_INFINITY
          ? Number.POSITIVE_INFINITY
          : value === NEGATIVE_INFINITY
            ? Number.NEGATIVE_INFINITY
            : value,
    );
  } catch {
    return undefined;
  }
}

const MARKER = Buffer.from(PROTOCOL_MARKER, 'latin1');
const AT = 0x40;
const LF = 0x0a;
const CR = 0x0d;

/** Where the bytes of a stream go once the protocol lines are picked out. */
export interface ProtocolSink {
  /** Bytes to show, in order. */
  show(bytes: Buffer): void;
  /** A complete candidate line (the text after the marker); true when it was well-formed and handled. */
  line(text: string): boolean;
}

/**
 * Picks the protocol lines out of one stream's chunks. The marker need not start the terminal's line:
 * a script's callback prints its line while a progress bar still holds the row (Keras's step bar,
 * Lightning's after a cursor move), so the bytes read `…loss: 0.6989@epochcast {…}\n`. The protocol
 * line is the marker up to the line feed; only it is taken out. A candidate cut by the end of a chunk
 * is held back until its line feed arrives, at most PROTOCOL_LINE_MAX bytes of it.
 */
export class ProtocolSplitter {
  private held: Buffer[] = [];
  private heldLength = 0;
  /** An overlong candidate is being shown up to its line feed. */
  private passing = false;

  /** Returns the bytes to pass on: `chunk` itself when nothing was taken out or held back. */
  split(chunk: Buffer, sink: ProtocolSink): Buffer {
    const len = chunk.length;
    if (this.heldLength === 0 && !this.passing && chunk.indexOf(AT) < 0) {
      if (len > 0) sink.show(chunk);
      return chunk;
    }
    const out = new Output(chunk, sink);
    let scan = 0;
    if (this.heldLength > 0) {
      const next = this.continueHeld(chunk, out);
      if (next === undefined) return out.result();
      scan = next;
    }
    if (this.passing) {
      const nl = chunk.indexOf(LF, scan);
      if (nl < 0) {
        out.showTo(len);
        return out.result();
      }
      scan = nl + 1;
      out.showTo(scan);
      this.passing = false;
    }
    for (;;) {
      const at = chunk.indexOf(AT, scan);
      if (at < 0) break;
      scan = at + 1;
      const available = Math.min(MARKER.length, len - at);
      if (chunk.compare(MARKER, 0, available, at, at + available) !== 0) continue;
      if (available < MARKER.length) {
        out.showTo(at);
        this.hold(chunk.subarray(at));
        out.skipTo(len);
        return out.result();
      }
      const nl = chunk.indexOf(LF, at);
      if (nl < 0) {
        out.showTo(at);
        if (len - at > PROTOCOL_LINE_MAX) {
          this.passing = true;
          out.showTo(len);
        } else {
          this.hold(chunk.subarray(at));
          out.skipTo(len);
        }
        return out.result();
      }
      scan = nl + 1;
      if (nl + 1 - at > PROTOCOL_LINE_MAX) continue;
      // What came before the line is shown first, so that events keep the order of the output.
      out.showTo(at);
      if (sink.line(chunk.toString('utf8', at + MARKER.length, chunk[nl - 1] === CR ? nl - 1 : nl))) out.skipTo(nl + 1);
    }
    out.showTo(len);
    return out.result();
  }

  /** The stream ended: a held candidate is a last line without its line feed, handled if well-formed, else shown. */
  end(sink: ProtocolSink): Buffer {
    this.passing = false;
    if (this.heldLength === 0) return Buffer.alloc(0);
    const line = Buffer.concat(this.held);
    this.held = [];
    this.heldLength = 0;
    const complete = line.length >= MARKER.length;
    const end = line[line.length - 1] === CR ? line.length - 1 : line.length;
    if (complete && sink.line(line.toString('utf8', MARKER.length, end))) return Buffer.alloc(0);
    sink.show(line);
    return line;
  }

  /** Goes on with a held candidate; returns where to scan the chunk from, or undefined when the chunk is used up. */
  private continueHeld(chunk: Buffer, out: Output): number | undefined {
    if (this.heldLength < MARKER.length) {
      const available = Math.min(MARKER.length - this.heldLength, chunk.length);
      if (chunk.compare(MARKER, this.heldLength, this.heldLength + available, 0, available) !== 0) {
        // Not the marker after all: what was held is output, and so is this chunk.
        out.release(this.takeHeld());
        return 0;
      }
      if (this.heldLength + available < MARKER.length) {
        this.hold(chunk);
        out.skipTo(chunk.length);
        return undefined;
      }
    }
    const nl = chunk.indexOf(LF);
    if (nl < 0) {
      if (this.heldLength + chunk.length > PROTOCOL_LINE_MAX) {
        out.release(this.takeHeld());
        this.passing = true;
        out.showTo(chunk.length);
      } else {
        this.hold(chunk);
        out.skipTo(chunk.length);
      }
      return undefined;
    }
    if (this.heldLength + nl + 1 <= PROTOCOL_LINE_MAX) {
      const line = Buffer.concat([...this.held, chunk.subarray(0, nl)]);
      const end = line[line.length - 1] === CR ? line.length - 1 : line.length;
      if (out.sink.line(line.toString('utf8', MARKER.length, end))) {
        this.takeHeld();
        out.skipTo(nl + 1);
        return nl + 1;
      }
    }
    out.release(this.takeHeld());
    out.showTo(nl + 1);
    return nl + 1;
  }

  private hold(bytes: Buffer): void {
    // A copy: the caller may reuse its buffer once push() returns.
    this.held.push(Buffer.from(bytes));
    this.heldLength += bytes.length;
  }

  private takeHeld(): Buffer {
    const bytes = Buffer.concat(this.held);
    this.held = [];
    this.heldLength = 0;
    return bytes;
  }
}

/** The bytes a chunk passes on: ranges of the chunk, shown as they are decided, joined only when something was taken out. */
class Output {
  private readonly parts: Buffer[] = [];
  /** Start of the chunk's bytes not yet decided. */
  private from = 0;
  /** Start of the current run of passed-on bytes, while it is contiguous. */
  private runStart = 0;
  private split = false;

  constructor(
    private readonly chunk: Buffer,
    readonly sink: ProtocolSink,
  ) {}

  /** Bytes from outside the chunk (a released candidate), shown before what follows. */
  release(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.closeRun();
    this.parts.push(bytes);
    this.split = true;
    this.sink.show(bytes);
  }

  /** The chunk's bytes up to `to` are output. */
  showTo(to: number): void {
    if (to <= this.from) return;
    this.sink.show(this.chunk.subarray(this.from, to));
    this.from = to;
  }

  /** The chunk's bytes up to `to` are taken out (a protocol line) or held back. */
  skipTo(to: number): void {
    if (to <= this.from) return;
    this.closeRun();
    this.from = to;
    this.runStart = to;
    this.split = true;
  }

  result(): Buffer {
    this.closeRun();
    if (!this.split) return this.chunk;
    return this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts);
  }

  private closeRun(): void {
    if (this.from > this.runStart) this.parts.push(this.chunk.subarray(this.runStart, this.from));
    this.runStart = this.from;
  }
}
