import { mkdir } from 'node:fs/promises';
import { CSVLogger, EarlyStopping, fitWithCallbacks, selectBackend, tfjsCallback } from '@epochcast/core';
import * as tf from '@tensorflow/tfjs';

await selectBackend();
const x = tf.randomUniform([1000, 3]);
const y = tf.oneHot(tf.argMax(x, 1), 3);
const model = tf.sequential({
  layers: [tf.layers.dense({ inputShape: [3], units: 16, activation: 'relu' }), tf.layers.dense({ units: 3, activation: 'softmax' })],
});
model.compile({ optimizer: tf.train.adam(1e-2), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
await mkdir('out', { recursive: true });

const adapter = tfjsCallback([new CSVLogger('out/log.csv'), new EarlyStopping({ patience: 2 })]);
await model.fit(x, y, { epochs: 10, validationSplit: 0.2, callbacks: [adapter] });
console.log(adapter.recorder.formatStats());

// tfjs does not call onTrainEnd when fit throws; this wrapper does:
await fitWithCallbacks(model, x, y, { epochs: 10, validationSplit: 0.2 }, [new CSVLogger('out/log.csv')]);
