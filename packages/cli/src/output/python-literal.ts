// A bounded reader of the Python dict reprs that Hugging Face's Trainer prints per log
// (`{'loss': 0.31, 'learning_rate': 4.5e-05, 'epoch': 1.0}`): literals only, never evaluated, one pass,
// nesting limited, so a hostile line costs time linear in its length and a few frames of stack.

import { parseNumber } from './values.js';

const DEPTH_MAX = 16;

class NotALiteral extends Error {}

/**
 * The number and string entries of a dict literal with string keys, in order (transformers 5 prints
 * its floats as strings: `'loss': '0.6898'`); `undefined` when the text is not one dict literal.
 */
export function parsePythonDict(text: string): Map<string, number | string> | undefined {
  const reader = new LiteralReader(text);
  try {
    reader.space();
    if (text.charCodeAt(reader.at) !== OPEN_BRACE) return undefined;
    const entries = reader.dict(0);
    reader.space();
    return reader.at === text.length ? entries : undefined;
  } catch (error) {
    if (error instanceof NotALiteral || error instanceof RangeError) return undefined;
    throw error;
  }
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_PAREN = 0x28;
const CLOSE_PAREN = 0x29;
const COMMA = 0x2c;
const COLON = 0x3a;
const EQUALS = 0x3d;
const QUOTE = 0x27;
const DOUBLE_QUOTE = 0x22;
const BACKSLASH = 0x5c;
const DOT = 0x2e;

/** A value: a number, a string, or something else (True, None, a list…) that carries no metric. */
type Value = number | string | undefined;

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0' };

class LiteralReader {
  at = 0;

  constructor(private readonly text: string) {}

  dict(depth: number): Map<string, number | string> {
    const entries = new Map<string, number | string>();
    this.at++; // {
    this.items(CLOSE_BRACE, () => {
      const key = this.value(depth + 1);
      this.space();
      this.expect(COLON);
      const value = this.value(depth + 1);
      if (typeof key === 'string' && value !== undefined) entries.set(key, value);
    });
    return entries;
  }

  /** Comma-separated items up to `close`, a trailing comma allowed. */
  private items(close: number, item: () => void): void {
    this.space();
    while (this.text.charCodeAt(this.at) !== close) {
      item();
      this.space();
      const next = this.text.charCodeAt(this.at);
      if (next === COMMA) {
        this.at++;
        this.space();
      } else if (next !== close) {
        throw new NotALiteral();
      }
    }
    this.at++;
  }

  value(depth: number): Value {
    if (depth > DEPTH_MAX) throw new NotALiteral();
    this.space();
    const c = this.text.charCodeAt(this.at);
    if (c === OPEN_BRACE) {
      this.dict(depth);
      return undefined;
    }
    if (c === OPEN_BRACKET || c === OPEN_PAREN) {
      this.at++;
      this.items(c === OPEN_BRACKET ? CLOSE_BRACKET : CLOSE_PAREN, () => this.value(depth + 1));
      return undefined;
    }
    if (c === QUOTE || c === DOUBLE_QUOTE) return this.string(c);
    const token = this.token();
    if (token === '') throw new NotALiteral();
    const number = parseNumber(token);
    if (number !== undefined) return number;
    if (!/^[A-Za-z_][\w.]*$/.test(token)) throw new NotALiteral();
    this.space();
    // `np.float64(0.5)`, `tensor(0.5, device='cuda:0')`: a wrapped scalar counts as its first argument.
    if (this.text.charCodeAt(this.at) === OPEN_PAREN) return this.call(depth);
    return undefined; // True, False, None, a name
  }

  private call(depth: number): Value {
    this.at++;
    let first: Value;
    let index = 0;
    this.items(CLOSE_PAREN, () => {
      const start = this.at;
      const token = this.token();
      this.space();
      if (token !== '' && /^[A-Za-z_]\w*$/.test(token) && this.text.charCodeAt(this.at) === EQUALS) {
        this.at++;
        this.value(depth + 1);
        return;
      }
      this.at = start;
      const value = this.value(depth + 1);
      if (index++ === 0) first = value;
    });
    return typeof first === 'number' ? first : undefined;
  }

  private string(quote: number): string {
    let out = '';
    let from = ++this.at;
    for (;;) {
      const c = this.text.charCodeAt(this.at);
      if (Number.isNaN(c)) throw new NotALiteral();
      if (c === quote) break;
      if (c === BACKSLASH) {
        out += this.text.slice(from, this.at);
        const escaped = this.text[this.at + 1];
        if (escaped === undefined) throw new NotALiteral();
        out += ESCAPES[escaped] ?? escaped;
        this.at += 2;
        from = this.at;
      } else {
        this.at++;
      }
    }
    out += this.text.slice(from, this.at);
    this.at++;
    return out;
  }

  /** A run of number or name characters: `-4.5e-05`, `nan`, `np.float64`. */
  private token(): string {
    const start = this.at;
    for (;;) {
      const c = this.text.charCodeAt(this.at);
      const word =
        (c >= 0x30 && c <= 0x39) ||
        (c >= 0x41 && c <= 0x5a) ||
        (c >= 0x61 && c <= 0x7a) ||
        c === 0x5f ||
        c === DOT ||
        c === 0x2d ||
        c === 0x2b;
      if (!word) break;
      this.at++;
    }
    return this.text.slice(start, this.at);
  }

  private expect(c: number): void {
    if (this.text.charCodeAt(this.at) !== c) throw new NotALiteral();
    this.at++;
  }

  space(): void {
    for (;;) {
      const c = this.text.charCodeAt(this.at);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.at++;
    }
  }
}
