import type { TrainingState } from './state.js';

/** Every event a callback can hook, in loop order. A misspelt hook name fails to compile. */
export const EVENTS = [
  'onTrainBegin',
  'onEpochBegin',
  'onBatchBegin',
  'onLossBegin',
  'onBackwardBegin',
  'onStepEnd',
  'onBatchEnd',
  'onValidateBegin',
  'onValidateEnd',
  'onEpochEnd',
  'onTrainEnd',
] as const;

export type EventName = (typeof EVENTS)[number];

export type Hook = (state: TrainingState) => void | Promise<void>;

/** A hyper-parameter a callback sets during a fit: `lr`, `mom`, or a name of your own (`'wd'`). */
export type HyperParamName = 'lr' | 'mom' | (string & {});

/**
 * Base class of every callback. Implement only the hooks you need; each receives the read-only
 * training state and may be async (it is awaited). Lower `order` runs first; ties keep the
 * order in which callbacks were added.
 *
 * To end a scope early, throw `CancelFitError`, `CancelEpochError` or `CancelBatchError`.
 * Any other error fails the run (status `failed`), after `onTrainEnd` has run.
 */
export abstract class Callback {
  /** Lower runs first. Recorder −10, schedulers 10, standard callbacks 50–70, notifiers 100. */
  order = 0;
  /** Whether this callback also runs during `lrFind()`'s sweep. */
  runDuringLrFind = false;
  /**
   * The hyper-parameters this callback sets during a fit (through `state.learner.setLr`/`setMom`,
   * or by means of its own), e.g. `['lr']`. When two callbacks of one fit — or a callback and
   * the fit's own schedule (`fitOneCycle`, `lrFind`) — declare the same one, one would silently
   * override the other, so the fit fails with a ConfigError before any hook runs.
   */
  setsHyperParams: readonly HyperParamName[] = [];

  /** Name used in error messages and by `learner.removeCallback(name)`; defaults to the class name. */
  get name(): string {
    return this.constructor.name;
  }

  onTrainBegin?(state: TrainingState): void | Promise<void>;
  onEpochBegin?(state: TrainingState): void | Promise<void>;
  onBatchBegin?(state: TrainingState): void | Promise<void>;
  /** After the forward pass (the loss is computed and read by now). */
  onLossBegin?(state: TrainingState): void | Promise<void>;
  /** After the loss, before the gradients are applied; `CancelBatchError` here skips the step. */
  onBackwardBegin?(state: TrainingState): void | Promise<void>;
  /** After the optimizer step. */
  onStepEnd?(state: TrainingState): void | Promise<void>;
  onBatchEnd?(state: TrainingState): void | Promise<void>;
  onValidateBegin?(state: TrainingState): void | Promise<void>;
  onValidateEnd?(state: TrainingState): void | Promise<void>;
  onEpochEnd?(state: TrainingState): void | Promise<void>;
  /** Always runs: on completion, stop, cancellation, interruption and failure (see `state.status`). */
  onTrainEnd?(state: TrainingState): void | Promise<void>;
}

/** Callbacks sorted by `order`; a stable sort, so ties keep the order they were added. */
export function sortByOrder(callbacks: readonly Callback[]): Callback[] {
  return [...callbacks].sort((a, b) => a.order - b.order);
}
