// What the `wrap` scenario's emitter (tqdm-emitter.ts) writes and the scenario reads back: shared
// here so that the emitter imports nothing heavier than this.

export const EPOCHS = 10;
export const DEFAULT_UPDATES = 1_000_000;
/** Between two timestamp lines on stdout. */
export const TICK_MS = 100;
/** Prefix of a timestamp line: `sent <performance.timeOrigin + now(), ms> <Date.now()>`. */
export const SENT = 'sent ';

/** The last stdout line, as JSON. */
export interface EmitterReport {
  /** From just before the first write to just after the last progress write. */
  elapsedMs: number;
  /** Each epoch's share of it: where a slowdown falls (the start, or all along). */
  epochMs: number[];
  updates: number;
  stderrBytes: number;
  /** Validation and timestamp lines written to stdout before this one. */
  stdoutLines: number;
}
