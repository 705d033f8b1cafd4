import { DataLoaders, Learner, selectBackend } from '@epochcast/core';
import { WebhookCallback } from '@epochcast/notify';
import * as tf from '@tensorflow/tfjs';

await selectBackend();
const x = tf.randomUniform([512, 3]);
const data = DataLoaders.fromTensors(x, tf.oneHot(tf.argMax(x, 1), 3), { validPct: 0.2 });
const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 3, activation: 'softmax' })] });

// POSTs each notification as JSON to EPOCHCAST_WEBHOOK_URL, signed with EPOCHCAST_WEBHOOK_SECRET:
// x-epochcast-signature: t=<unix seconds>,v1=<hex HMAC-SHA256>. (Or pass { url, secret }.)
const hook = new WebhookCallback();
const learn = new Learner({ model, data, loss: 'categoricalCrossentropy', callbacks: [hook] });
await learn.fitOneCycle(3);
