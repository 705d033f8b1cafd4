import { accuracy, Callback, DataLoaders, Learner, type TrainingState } from '@epochcast/core';
import type { NotifierLogger } from '@epochcast/notify';
import type { SlackCall, SlackServer } from '@epochcast/testkit';
import * as tf from '@tensorflow/tfjs';

export const TOKEN = 'xoxb-test-1f2e3d4c';

/** A tiny learner: 3 inputs, 3 classes, 96 samples; an epoch takes a few ms on the cpu backend. */
export function toyLearner(callbacks: Callback[]): Learner {
  const x = tf.randomUniform([96, 3], 0, 1, 'float32', 7);
  const y = tf.oneHot(tf.argMax(x, 1), 3);
  const data = DataLoaders.fromTensors(x, y, { batchSize: 32, seed: 1, validPct: 0.25 });
  tf.dispose([x, y]);
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 3, activation: 'softmax' })] });
  return new Learner({ model, data, loss: 'categoricalCrossentropy', metrics: [accuracy], callbacks });
}

/** Throws from onEpochEnd of the given epoch (0-based), with a message and a long stack if asked. */
export class Crash extends Callback {
  constructor(
    private readonly atEpoch: number,
    private readonly error: Error,
  ) {
    super();
  }
  override onEpochEnd(state: TrainingState): void {
    if (state.epoch === this.atEpoch) throw this.error;
  }
}

/** Counts epochs begun, to show a configuration error stops the fit before the first. */
export class EpochCounter extends Callback {
  begun = 0;
  override onEpochBegin(): void {
    this.begun += 1;
  }
}

export function collectingLogger(): NotifierLogger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (line) => lines.push(line) };
}

export const calls = (server: SlackServer, method: string): SlackCall[] => server.received.filter((c) => c.method === method);

/** Every string a test should search for secrets: calls, messages, files. */
export function everything(server: SlackServer): string {
  return JSON.stringify({ received: server.received, messages: server.messages() });
}

/**
 * Waits at each epoch end, after the notifier has queued its message: a toy epoch takes a few ms,
 * less than a round trip, so without it epoch messages are (rightly) coalesced.
 */
export class Pause extends Callback {
  override order = 200;
  constructor(private readonly ms = 40) {
    super();
  }
  override async onEpochEnd(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, this.ms));
  }
}
