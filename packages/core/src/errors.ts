/**
 * Control flow and error types. Cancellation is an exception (as in fastai v2): a callback
 * throws the error of the scope it wants to end, and the loop catches it at that level.
 */

/** Ends the whole fit early; `onTrainEnd` runs with status `stopped` (or `interrupted`). */
export class CancelFitError extends Error {
  override readonly name = 'CancelFitError';
  constructor(
    readonly reason = 'cancelled',
    readonly status: 'stopped' | 'interrupted' = 'stopped',
  ) {
    super(reason);
  }
}

/** Skips the rest of this epoch (its remaining batches and validation) and goes to `onEpochEnd`. */
export class CancelEpochError extends Error {
  override readonly name = 'CancelEpochError';
  constructor(readonly reason = 'epoch cancelled') {
    super(reason);
  }
}

/** Skips the rest of this batch (including the optimizer step if not yet taken) and goes to `onBatchEnd`. */
export class CancelBatchError extends Error {
  override readonly name = 'CancelBatchError';
  constructor(readonly reason = 'batch cancelled') {
    super(reason);
  }
}

/** A callback hook threw something that is not a cancellation: the run fails with this error. */
export class CallbackError extends Error {
  override readonly name = 'CallbackError';
  constructor(
    readonly callback: string,
    readonly event: string,
    cause: unknown,
  ) {
    super(`callback ${callback}.${event} threw: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    // The frames that matter are where the hook threw, not where the loop wrapped it (as grammY's BotError).
    const frames = cause instanceof Error ? cause.stack?.split('\n').slice(1) : undefined;
    if (frames?.length) this.stack = [`${this.name}: ${this.message}`, ...frames].join('\n');
  }
}

/** Bad input to an epochcast API: the message names the argument, the value received and the fix. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Renders a received value for an error message without dumping whole objects or tensors. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  const ctor = (value as { constructor?: { name?: string } }).constructor?.name;
  return ctor ? `a ${ctor}` : typeof value;
}

/** Anything thrown, as an Error. */
export function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
