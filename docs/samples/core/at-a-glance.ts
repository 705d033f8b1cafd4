import { mkdir, writeFile } from 'node:fs/promises';
import { loadMnist, mnistModel } from '@epochcast/cli/mnist';
import { accuracy, DataLoaders, Learner, ProgressCallback, selectBackend } from '@epochcast/core';

await selectBackend(); // tfjs-node if installed, else wasm, else cpu; prints which on stderr

// 3,000 real MNIST digits (x: [3000, 784] pixels in [0, 1], y: [3000, 10] one-hot) and a seeded
// tf.Sequential MLP 784 → 128 → 10: any tensors and any tfjs LayersModel do.
const { x, y } = loadMnist(3000);
const model = mnistModel();

const data = DataLoaders.fromTensors(x, y, { validPct: 0.2, batchSize: 64, seed: 42 });
const learn = new Learner({ model, data, loss: 'categoricalCrossentropy', metrics: [accuracy], callbacks: [new ProgressCallback()] });

const { suggestedLr } = await learn.lrFind(); // weights restored afterwards
console.log(`lrFind suggests lr ${suggestedLr.toPrecision(3)}`);
await learn.fitOneCycle(3, { lrMax: suggestedLr }); // the epoch table, a row as each epoch ends
await mkdir('out', { recursive: true });
await writeFile('out/loss.png', await learn.recorder.plotLosses().png());
