import type { Plot, TrainingHost, TrainingState } from '@epochcast/core';
import { newRunId } from './run-info.js';

/**
 * What the notifiers of one fit share: the run id every message names, the moment the fit ended
 * (so Telegram, Slack and e-mail report the same duration), the end's loss plot (drawn, and
 * rendered to PNG, once for all of them), and the wait for their last messages — side by side,
 * so the end of a fit takes as long as the slowest service, not the sum of them.
 */
export class FitSession {
  readonly runId = newRunId();
  private endedAt: number | undefined;
  private plot: Plot | undefined;
  private readonly members = new Set<object>();
  private readonly finishing = new Map<object, Promise<void>>();

  constructor(readonly startedAt: number) {}

  /** A notifier that will send this fit's last message. */
  join(member: object): void {
    this.members.add(member);
  }

  /** Date.now() when the fit ended, the same for every notifier: the first to ask fixes it. */
  endMoment(): number {
    this.endedAt ??= Date.now();
    return this.endedAt;
  }

  /** The loss plot of the end messages, drawn once for all the notifiers of the fit. */
  lossPlot(state: TrainingState): Plot | undefined {
    if (!this.plot && state.learner.recorder.losses.length > 0) this.plot = state.learner.recorder.plotLosses();
    return this.plot;
  }

  /**
   * Hands over one member's last deliveries (they never reject). Every member but the last returns
   * at once; the last waits for all of them, so `fit()` returns when every service is done.
   */
  async finish(member: object, deliveries: Promise<void>): Promise<void> {
    this.finishing.set(member, deliveries);
    if ([...this.members].every((m) => this.finishing.has(m))) await Promise.all(this.finishing.values());
  }
}

const sessions = new WeakMap<TrainingHost, FitSession>();

/** The session of the fit `state` belongs to; a new one for each fit of a learner. */
export function fitSession(state: TrainingState): FitSession {
  const known = sessions.get(state.learner);
  if (known && known.startedAt === state.startedAt) return known;
  const session = new FitSession(state.startedAt);
  sessions.set(state.learner, session);
  return session;
}
