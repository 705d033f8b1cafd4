import { type Callback, EVENTS, type EventName, sortByOrder } from './callback.js';
import { CallbackError, CancelBatchError, CancelEpochError, CancelFitError, ConfigError } from './errors.js';
import type { TrainingState } from './state.js';

/**
 * Calls the hooks of one fit's callbacks, for the Learner and for the model.fit adapter alike:
 * only callbacks that implement an event are visited, cancellations pass through, a `ConfigError`
 * passes through as itself (a setting to fix, named by its own message), and any other error
 * becomes a `CallbackError` naming the callback and the event.
 */
export class HookDispatcher {
  private readonly handlers: Map<EventName, Callback[]>;

  constructor(callbacks: readonly Callback[]) {
    const sorted = sortByOrder(callbacks);
    this.handlers = new Map(
      EVENTS.map((event) => [event, sorted.filter((cb) => typeof cb[event] === 'function')] as const).filter(([, cbs]) => cbs.length > 0),
    );
  }

  async emit(event: EventName, state: TrainingState): Promise<void> {
    const callbacks = this.handlers.get(event);
    if (!callbacks) return;
    for (const cb of callbacks) {
      try {
        // Most hooks are synchronous: skipping the await for them saves a microtask per hook per batch.
        const pending = cb[event]?.(state);
        if (pending) await pending;
      } catch (error) {
        if (error instanceof CancelFitError || error instanceof CancelEpochError || error instanceof CancelBatchError) throw error;
        if (error instanceof ConfigError) throw error;
        throw new CallbackError(cb.name, event, error);
      }
    }
  }

  /** Runs every onTrainEnd hook even if one throws; returns the first failure for the caller to weigh. */
  async trainEnd(state: TrainingState): Promise<CallbackError | undefined> {
    let failure: CallbackError | undefined;
    for (const cb of this.handlers.get('onTrainEnd') ?? []) {
      try {
        await cb.onTrainEnd?.(state);
      } catch (error) {
        failure ??= new CallbackError(cb.name, 'onTrainEnd', error);
      }
    }
    return failure;
  }
}
