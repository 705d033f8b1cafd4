/**
 * The caller's handlers (onMessage, onElected, onDeposed, warn) run inside the engines' event
 * handlers and timers: one that throws must be reported, never break coordination. Every engine,
 * and the scope of one, calls them through here.
 */
import { describeError } from './errors.js';
import type { JoinOptions } from './types.js';

export type Warn = (line: string) => void;

/** `warn` that swallows what it throws: a broken logger must not break coordination either. */
export function safeWarn(warn: Warn): Warn {
  return (line) => {
    try {
      warn(line);
    } catch {
      // Nowhere left to report it.
    }
  };
}

/** Calls handler `name` of run `runId`; a throw or a rejection becomes one warning line. */
export function callHandler(warn: Warn, name: string, runId: string, handler: () => unknown): void {
  const report = (error: unknown) => warn(`epochcast: ${name} of run ${runId} threw: ${describeError(error)}`);
  try {
    const result = handler();
    if (result instanceof Promise) result.catch(report);
  } catch (error) {
    report(error);
  }
}

/**
 * A membership's onElected and onDeposed, called alternately: onDeposed only after onElected, and
 * each at most once per term, however many ways an engine learns that a term ended.
 */
export class LeaderCallbacks {
  private announced = false;

  constructor(
    private readonly leadership: JoinOptions['leadership'],
    private readonly warn: Warn,
    private readonly runId: string,
  ) {}

  /** onElected was called and onDeposed not yet. */
  get active(): boolean {
    return this.announced;
  }

  elected(): void {
    const leadership = this.leadership;
    if (this.announced || !leadership) return;
    this.announced = true;
    callHandler(this.warn, 'onElected', this.runId, () => leadership.onElected());
  }

  deposed(): void {
    const leadership = this.leadership;
    if (!this.announced || !leadership) return;
    this.announced = false;
    callHandler(this.warn, 'onDeposed', this.runId, () => leadership.onDeposed());
  }
}
