// Cross-package: @epochcast/core as a consumer sees it — by package name, from its built dist
// and declarations — so a broken exports map or an accidental internal export shows up here.
import * as core from '@epochcast/core';
import * as tf from '@tensorflow/tfjs';
import { expect, test } from 'vitest';

test('the package exports the public API and nothing else', () => {
  expect(Object.keys(core).sort()).toEqual(
    [
      'CSVLogger',
      'CallbackError',
      'Callback',
      'CancelBatchError',
      'CancelEpochError',
      'CancelFitError',
      'ConfigError',
      'DataLoader',
      'DataLoaders',
      'EVENTS',
      'EarlyStopping',
      'LOSS_NAMES',
      'Learner',
      'OPTIMIZER_NAMES',
      'ParamScheduler',
      'Plot',
      'ProgressCallback',
      'Recorder',
      'ReduceLROnPlateau',
      'SaveModel',
      'SmoothenValue',
      'TerminateOnNaN',
      'TfjsCallbackAdapter',
      'accuracy',
      'annealCos',
      'annealExp',
      'errorRate',
      'fitDatasetWithCallbacks',
      'fitWithCallbacks',
      'formatStatsTable',
      'formatTime',
      'hyperParams',
      'loadModelFrom',
      'mae',
      'mse',
      'oneCycleSchedule',
      'saveModelTo',
      'selectBackend',
      'suggestLr',
      'tfjsCallback',
    ].sort(),
  );
});

test('a consumer can train, read the table and draw a plot through the package entry point', async () => {
  await core.selectBackend({ log: false });
  const x = tf.randomUniform([256, 3], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.argMax(x, 1), 3);
  const data = core.DataLoaders.fromTensors(x, y, { batchSize: 32 });
  const model = tf.sequential({
    layers: [tf.layers.dense({ inputShape: [3], units: 8, activation: 'relu' }), tf.layers.dense({ units: 3, activation: 'softmax' })],
  });
  const learn = new core.Learner({ model, data, loss: 'categoricalCrossentropy', metrics: [core.accuracy] });
  await learn.fitOneCycle(2, { lrMax: 1e-2 });
  expect(learn.recorder.formatStats().split('\n')[0]).toMatch(/^epoch\s+train_loss\s+valid_loss\s+accuracy\s+time$/);
  const png = await learn.recorder.plotLosses().png();
  expect([...png.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
  tf.dispose([x, y]);
  data.dispose();
  learn.dispose();
});
