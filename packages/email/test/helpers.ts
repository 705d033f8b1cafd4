import { accuracy, Callback, DataLoaders, Learner, type TrainingState } from '@epochcast/core';
import * as tf from '@tensorflow/tfjs';

/** A 3-class toy problem small enough that a 5-epoch fit takes well under a second on cpu. */
export function toyLearner(callbacks: Callback[]): Learner {
  const x = tf.randomUniform([96, 3], 0, 1, 'float32', 7);
  const y = tf.oneHot(tf.argMax(x, 1), 3);
  const data = DataLoaders.fromTensors(x, y, { batchSize: 32, seed: 1, validPct: 0.25 });
  tf.dispose([x, y]);
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 3, activation: 'softmax' })] });
  return new Learner({ model, data, loss: 'categoricalCrossentropy', metrics: [accuracy], callbacks });
}

/** Collects the notifier's warning lines. */
export function warnings(): { lines: string[]; logger: { warn(line: string): void } } {
  const lines: string[] = [];
  return { lines, logger: { warn: (line) => lines.push(line) } };
}

/** Counts epochs begun, to prove a verify failure stops the run before its first epoch. */
export class EpochCounter extends Callback {
  begun = 0;
  override onEpochBegin(): void {
    this.begun += 1;
  }
}

/** Throws at the end of epoch `at` (0-based), as a bug in user code would. */
export class CrashAt extends Callback {
  constructor(
    private readonly at: number,
    private readonly message: string,
  ) {
    super();
  }
  override onEpochEnd(state: TrainingState): void {
    if (state.epoch === this.at) throw new TypeError(this.message);
  }
}

/** Makes every epoch take at least `ms` longer, as a real model's would. */
export class SlowEpochs extends Callback {
  constructor(private readonly ms: number) {
    super();
  }
  override async onEpochEnd(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, this.ms));
  }
}

export const PNG_MAGIC = Buffer.from('89504e470d0a1a0a', 'hex');
