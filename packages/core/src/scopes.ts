import type { EventName } from './callback.js';
import { CancelBatchError, CancelEpochError } from './errors.js';

export interface Scope {
  readonly begin: EventName;
  readonly end: EventName | undefined;
  /** The cancellation that skips the rest of the scope's body; its end event still runs. */
  readonly cancel: (new (...args: never[]) => Error) | undefined;
}

/**
 * Each level of the loop: its events and its cancellation. `CancelFitError` is not caught at the
 * fit's level like the others: how the fit was cancelled is its outcome (`settle`), and the fit's
 * end, `onTrainEnd`, runs however it ended (`endFit`).
 */
export const SCOPES = {
  fit: { begin: 'onTrainBegin', end: undefined, cancel: undefined },
  epoch: { begin: 'onEpochBegin', end: 'onEpochEnd', cancel: CancelEpochError },
  validate: { begin: 'onValidateBegin', end: 'onValidateEnd', cancel: undefined },
  batch: { begin: 'onBatchBegin', end: 'onBatchEnd', cancel: CancelBatchError },
} as const satisfies Record<string, Scope>;

export type ScopeName = keyof typeof SCOPES;
