import { accuracy, DataLoaders, Learner, selectBackend } from '@epochcast/core';
import * as tf from '@tensorflow/tfjs';

await selectBackend();

// 1,000 points, 3 features; the class is the index of the largest feature.
const x = tf.randomUniform([1000, 3]);
const y = tf.oneHot(tf.argMax(x, 1), 3);
const data = DataLoaders.fromTensors(x, y, { validPct: 0.2, batchSize: 32, seed: 42 });

const model = tf.sequential({
  layers: [tf.layers.dense({ inputShape: [3], units: 16, activation: 'relu' }), tf.layers.dense({ units: 3, activation: 'softmax' })],
});

const learn = new Learner({ model, data, loss: 'categoricalCrossentropy', metrics: [accuracy] });
const { suggestedLr } = await learn.lrFind();
await learn.fitOneCycle(5, { lrMax: suggestedLr });
console.log(learn.recorder.formatStats());
