// Which redraws of a progress bar matter: a bar redrawn a million times in one chunk is one display
// redrawn, and only each display's last redraw (and the chunk's ends) needs to reach the screen.

/** How much of a line tells which display it is (a tqdm description and percentage). */
export const KEY_MAX = 80;

const CR = 0x0d;
const PIPE = 0x7c;
const COLON = 0x3a;

/** A rendering as text, as a row's character codes, or as the UTF-8 bytes of a chunk (the separators and a tqdm key are ASCII). */
export type Chars = string | ArrayLike<number>;

export function charAt(source: Chars, index: number): number {
  return typeof source === 'string' ? source.charCodeAt(index) : (source[index] ?? -1);
}

/**
 * The parts of a chunk of redraws worth writing (a chunk with `\r` but no line feed, escape or
 * backspace: a progress bar redrawn again and again): each `\r` starts a redraw, and a redraw that
 * the next one covers and that shows the same display (sameKey) is never seen; the chunk's first part
 * (the end of the line being drawn), each display's last redraw before another display replaces it
 * (an epoch's bar at 100% before the next epoch's), and the last redraw are. Works on the bytes, so
 * that the skipped redraws are never decoded. Returns [start, end) ranges, in order.
 */
export function keptRedraws(bytes: Uint8Array): [number, number][] {
  const kept: [number, number][] = [];
  const keep = (start: number, end: number) => {
    const last = kept.at(-1);
    if (last !== undefined && last[1] === start) last[1] = end;
    else if (end > start) kept.push([start, end]);
  };
  let cr = bytes.indexOf(CR);
  if (cr < 0) return [[0, bytes.length]];
  keep(0, cr);
  for (;;) {
    const next = bytes.indexOf(CR, cr + 1);
    if (next < 0) break;
    const following = bytes.indexOf(CR, next + 1);
    const nextEnd = following < 0 ? bytes.length : following;
    const covered = nextEnd - next >= next - cr && sameKey(bytes, cr + 1, next, bytes, next + 1, nextEnd);
    if (!covered) keep(cr, next);
    cr = next;
  }
  keep(cr, bytes.length);
  return kept;
}

/**
 * Where a rendering's identity ends: its first `|` (a tqdm bar: description and percentage), else its
 * first `:` (a bar without total, `Epoch 3: 45it […]`), else nowhere — a redrawn line with neither is
 * one display whatever its digits say.
 */
function keyEnd(source: Chars, from: number, to: number): number {
  const limit = Math.min(to, from + KEY_MAX);
  let colon = -1;
  for (let k = from; k < limit; k++) {
    const c = charAt(source, k);
    if (c === PIPE) return k;
    if (c === COLON && colon < 0) colon = k;
  }
  return colon < 0 ? from : colon;
}

/** Whether two renderings are the same display (the same epoch's bar at the same percentage, say). */
export function sameKey(a: Chars, aFrom: number, aTo: number, b: Chars, bFrom: number, bTo: number): boolean {
  const aEnd = keyEnd(a, aFrom, aTo);
  const bEnd = keyEnd(b, bFrom, bTo);
  if (aEnd - aFrom !== bEnd - bFrom) return false;
  for (let k = 0; k < aEnd - aFrom; k++) if (charAt(a, aFrom + k) !== charAt(b, bFrom + k)) return false;
  return true;
}
