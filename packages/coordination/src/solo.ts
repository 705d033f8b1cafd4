import { callHandler, LeaderCallbacks, safeWarn } from './callbacks.js';
import { ownRecord } from './records.js';
import type { JoinOptions, Membership } from './types.js';

/**
 * A scope of one, for a run that could not reach any engine: it is its own leader, lists itself,
 * receives what it sends itself, and paces its sends alone (`reserve` rejects, so the caller does).
 * Plugins then work the same way with or without company.
 */
export function soloMembership(options: Omit<JoinOptions, 'authKey'>): Membership {
  let record = { ...options.record };
  const warn = safeWarn(options.warn);
  const leadership = new LeaderCallbacks(options.leadership, warn, record.id);
  let resigned = false;
  let left = false;
  if (options.leadership) {
    // After `join` resolves, as the engines do: the caller holds the membership when it hears of it.
    setImmediate(() => {
      if (!left && !resigned) leadership.elected();
    });
  }
  return {
    runId: record.id,
    engine: 'local',
    get isLeader() {
      return leadership.active;
    },
    update(patch) {
      const checked = ownRecord({ ...record, ...patch, id: record.id });
      if ('error' in checked) warn(`epochcast: ignored an update of run ${record.id}: ${checked.error}`);
      else record = checked.record;
    },
    runs: async () => [record],
    async sendTo(runId, message) {
      if (left || runId !== record.id) return false;
      callHandler(warn, 'onMessage', record.id, () => options.onMessage(message));
      return true;
    },
    reserve: () => Promise.reject(new Error('no shared budget: this run acts alone')),
    resign() {
      resigned = true;
      leadership.deposed();
    },
    async leave() {
      left = true;
      leadership.deposed();
    },
  };
}
