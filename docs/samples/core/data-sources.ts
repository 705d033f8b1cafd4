import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { accuracy, DataLoaders, Learner, selectBackend } from '@epochcast/core';
import * as tf from '@tensorflow/tfjs';

await selectBackend();

// The data on disk: 1,000 JSON files of one sample each, 3 features; the label is the index of the largest.
const dir = await mkdtemp(path.join(tmpdir(), 'records-'));
const files: string[] = [];
for (let i = 0; i < 1000; i++) {
  const features = [Math.random(), Math.random(), Math.random()];
  const file = path.join(dir, `${i}.json`);
  await writeFile(file, JSON.stringify({ features, label: features.indexOf(Math.max(...features)) }));
  files.push(file);
}
const trainFiles = files.slice(0, 800);
const validFiles = files.slice(800);

interface Sample {
  features: number[];
  label: number;
}

// Your reader: files, records, a database. Yields new tensors; the Learner disposes them.
async function decode(batch: string[]): Promise<{ xs: tf.Tensor; ys: tf.Tensor }> {
  const samples = await Promise.all(batch.map(async (file) => JSON.parse(await readFile(file, 'utf8')) as Sample));
  const labels = tf.tensor1d(
    samples.map((s) => s.label),
    'int32',
  );
  const ys = tf.oneHot(labels, 3);
  labels.dispose();
  return { xs: tf.tensor2d(samples.map((s) => s.features)), ys };
}

async function* readBatches(files: string[]) {
  for (let i = 0; i < files.length; i += 64) yield await decode(files.slice(i, i + 64));
}

function shuffle<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

const data = DataLoaders.fromIterables(
  () => readBatches(shuffle(trainFiles)), // called at every epoch's start: a new generator, a new order
  () => readBatches(validFiles),
  { batchesPerEpoch: Math.ceil(trainFiles.length / 64) }, // a generator does not know its length
);

const model = tf.sequential({
  layers: [tf.layers.dense({ inputShape: [3], units: 16, activation: 'relu' }), tf.layers.dense({ units: 3, activation: 'softmax' })],
});
const learn = new Learner({ model, data, loss: 'categoricalCrossentropy', metrics: [accuracy] });
await learn.fitOneCycle(5, { lrMax: 3e-2 });
console.log(learn.recorder.formatStats());
await rm(dir, { recursive: true });
