/** Time bounds on promises: the flush bound, each attempt's timeout, a bounded wait for a join. */
import { TransientError } from './errors.js';

/** `promise`'s value, or undefined if it has not settled within `ms`. */
export async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

/** Stops (false) or restarts (true) the time bound of the attempt in progress. */
export type AttemptClock = (running: boolean) => void;

/**
 * Runs one attempt, settled by the first of: the attempt itself, its time bound, or the outer
 * abort (the flush bound) — so a plugin that ignores its signal still cannot hold up the end.
 * `run` gets the attempt's signal and a clock to stop the bound while it waits for its turn on
 * the service's pace (that wait is no failure of the service).
 */
export async function withTimeout<T>(
  ms: number,
  outer: AbortSignal,
  run: (signal: AbortSignal, clock: AttemptClock) => Promise<T>,
  /** After the bound, how long `run` may take to fail in its own words (it knows what it waited for). */
  graceMs = 0,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onOuterAbort: (() => void) | undefined;
  let clock: AttemptClock = () => {};
  const bounds = new Promise<never>((_, reject) => {
    clock = (running) => {
      clearTimeout(timer);
      if (!running) return;
      timer = setTimeout(() => {
        const error = new TransientError(`no answer within ${ms} ms`);
        controller.abort(error);
        if (graceMs > 0) timer = setTimeout(() => reject(error), graceMs);
        else reject(error);
      }, ms);
    };
    clock(true);
    onOuterAbort = () => {
      controller.abort(outer.reason);
      reject(outer.reason);
    };
    if (outer.aborted) onOuterAbort();
    else outer.addEventListener('abort', onOuterAbort, { once: true });
  });
  try {
    return await Promise.race([run(controller.signal, (running) => clock(running)), bounds]);
  } finally {
    clock = () => {};
    clearTimeout(timer);
    if (onOuterAbort) outer.removeEventListener('abort', onOuterAbort);
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
