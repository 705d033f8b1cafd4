// Trains with a checkpoint after every epoch; started again after a crash, a kill or a Ctrl-C, it
// resumes from the last checkpoint and ends as an unbroken run would have.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { accuracy, Callback, DataLoaders, Learner, selectBackend, type TrainingState } from '@epochcast/core';
import * as tf from '@tensorflow/tfjs';

await selectBackend();

const dir = './checkpoints/points';

// The same data and model in every process: seeded.
const x = tf.randomUniform([2000, 3], 0, 1, 'float32', 7);
const y = tf.oneHot(tf.argMax(x, 1), 3);
const data = DataLoaders.fromTensors(x, y, { validPct: 0.2, batchSize: 32, seed: 42 });
function buildModel(): tf.Sequential {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [3], units: 16, activation: 'relu', kernelInitializer: init(1) }),
      tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(2) }),
    ],
  });
}

// During a run: a checkpoint after every epoch (the Recorder has already recorded it).
class Checkpoint extends Callback {
  override async onEpochEnd(state: TrainingState) {
    await learn.save(dir);
    console.log(`epoch ${state.epoch + 1}/${state.totalEpochs} saved`);
  }
}
const learn = new Learner({
  model: buildModel(),
  data,
  loss: 'categoricalCrossentropy',
  metrics: [accuracy],
  callbacks: [new Checkpoint()],
});

// Later, in a new process: the same model, optimizer and metrics, and the checkpoint.
const resume = existsSync(dir) || existsSync(`${dir}.previous`); // .previous: killed in the middle of a save
if (resume) {
  const { epochsDone, totalEpochs } = await learn.load(dir);
  console.log(`resuming after epoch ${epochsDone}/${totalEpochs}`);
}
await learn.fitOneCycle(20, { lrMax: 3e-2, resume }); // resumed: epochs epochsDone+1 to 20
console.log(learn.recorder.formatStats());
await rm(dir, { recursive: true }); // finished: the next run starts afresh
