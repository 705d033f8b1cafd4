import * as tf from '@tensorflow/tfjs';
import { expect, test } from 'vitest';
import { accuracy, Learner } from '../src/index.js';
import { toyLoaders, toyModel } from './helpers.js';

test('smoke', async () => {
  await tf.setBackend('cpu');
  const learn = new Learner({ model: toyModel(), data: toyLoaders(512), loss: 'categoricalCrossentropy', metrics: [accuracy] });
  await learn.fitOneCycle(5, { lrMax: 3e-2 });
  console.log(learn.recorder.formatStats());
  expect(learn.recorder.history).toHaveLength(5);
});
