import { accuracy, Callback, CancelFitError, DataLoaders, Learner, selectBackend, type TrainingState } from '@epochcast/core';
import * as tf from '@tensorflow/tfjs';

class StopBelow extends Callback {
  override order = 70;
  constructor(private readonly target: number) {
    super();
  }
  override onEpochEnd(state: TrainingState) {
    if (state.stats && state.stats.validLoss < this.target) throw new CancelFitError(`valid loss below ${this.target}`);
  }
}

await selectBackend();
const x = tf.randomUniform([1000, 3]);
const y = tf.oneHot(tf.argMax(x, 1), 3);
const data = DataLoaders.fromTensors(x, y, { validPct: 0.2, batchSize: 32 });
const model = tf.sequential({
  layers: [tf.layers.dense({ inputShape: [3], units: 16, activation: 'relu' }), tf.layers.dense({ units: 3, activation: 'softmax' })],
});
const learn = new Learner({ model, data, loss: 'categoricalCrossentropy', metrics: [accuracy], callbacks: [new StopBelow(0.3)] });
await learn.fit(50, { lr: 1e-2 });
console.log(learn.recorder.formatStats());
console.log(`${learn.state.status}: ${learn.state.stopReason}`); // stopped: valid loss below 0.3
