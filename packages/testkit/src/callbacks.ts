/**
 * Callbacks that tests of notifiers keep needing: count epochs, slow them down, time them, crash
 * in one of them as a bug in user code would, raise alerts at given epochs.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Callback, type TrainingState } from '@epochcast/core';
import type { AlertLevel, Notifier } from '@epochcast/notify';

/** Counts epochs begun: a configuration error must stop the run before the first. */
export class EpochCounter extends Callback {
  begun = 0;
  override onEpochBegin(): void {
    this.begun += 1;
  }
}

/**
 * Makes every epoch last at least `ms` longer, as a real model's would: a toy epoch takes a few
 * ms, less than a round trip, so without it epoch messages are (rightly) coalesced, and commands
 * and edits have no time to happen between epochs.
 */
export class SlowEpochs extends Callback {
  constructor(private readonly ms: number) {
    super();
  }
  override async onEpochEnd(): Promise<void> {
    await sleep(this.ms);
  }
}

/** Throws `error` at the end of epoch `epoch` (0-based), as a bug in user code would. */
export class CrashAt extends Callback {
  constructor(
    private readonly epoch: number,
    private readonly error: Error,
  ) {
    super();
  }
  override onEpochEnd(state: TrainingState): void {
    if (state.epoch === this.epoch) throw this.error;
  }
}

/** How long each epoch took, as the training loop saw it (after every other callback's work). */
export class EpochClock extends Callback {
  override order = 200;
  #begin = 0;
  readonly times: number[] = [];
  override onEpochBegin(): void {
    this.#begin = performance.now();
  }
  override onEpochEnd(): void {
    this.times.push(performance.now() - this.#begin);
  }
}

/**
 * Raises alerts through `notifier` at the end of the given epochs (0-based), e.g.
 * `{ 1: ['critical', 'loss is NaN'] }`: after the notifier's own epoch message (order 150), as user
 * code after fit's bookkeeping would.
 */
export class AlertsAt extends Callback {
  override order = 150;
  constructor(
    private readonly notifier: Notifier,
    private readonly alerts: Readonly<Record<number, readonly [AlertLevel, string]>>,
  ) {
    super();
  }
  override onEpochEnd(state: TrainingState): void {
    const alert = this.alerts[state.epoch];
    if (alert) this.notifier.alert(alert[1], { level: alert[0] });
  }
}

/**
 * Holds each epoch's end, and the fit's end, until `delivered()` — the epoch messages the service
 * has received — has caught up with the epochs before. A notifier's hooks run after the other
 * callbacks', so at the end of epoch k (0-based) the messages of epochs 0…k-1 are queued, and at the
 * fit's end all of them. "Every epoch's message goes out, none coalesced" then holds however loaded
 * the machine is, where a fixed pause per epoch holds only while a round trip is shorter than it.
 */
export class AwaitEpochDeliveries extends Callback {
  constructor(
    private readonly delivered: () => number,
    private readonly timeoutMs = 10_000,
  ) {
    super();
  }
  override async onEpochEnd(state: TrainingState): Promise<void> {
    await this.until(state.epoch);
  }
  override async onTrainEnd(state: TrainingState): Promise<void> {
    if (state.status === 'completed') await this.until(state.totalEpochs);
  }
  private async until(count: number): Promise<void> {
    const deadline = performance.now() + this.timeoutMs;
    while (this.delivered() < count) {
      if (performance.now() > deadline) throw new Error(`timed out waiting for ${count} epoch messages (${this.delivered()} delivered)`);
      await sleep(10);
    }
  }
}
