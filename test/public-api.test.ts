// Cross-package: @epochcast/core as a consumer sees it — by package name, from its built dist
// and declarations — so a broken exports map or an accidental internal export shows up here.
import * as core from '@epochcast/core';
import * as tf from '@tensorflow/tfjs';
import { expect, test } from 'vitest';

test('the package exports the public API and nothing else', () => {
  expect(Object.keys(core).sort()).toEqual(
    [
      'CSVLogger',
      'Callback',
      'CallbackError',
      'CancelBatchError',
      'CancelEpochError',
      'CancelFitError',
      'ConfigError',
      'ConsoleNotifier',
      'DataLoader',
      'DataLoaders',
      'EVENTS',
      'EarlyStopping',
      'LOSS_NAMES',
      'LOSS_PLOT_CID',
      'Learner',
      'NOTIFY_EVENTS',
      'Notifier',
      'OPTIMIZER_NAMES',
      'OUTCOME_EMOJI',
      'ParamScheduler',
      'PermanentError',
      'Plot',
      'ProgressCallback',
      'RateLimitError',
      'Recorder',
      'ReduceLROnPlateau',
      'SLACK_LIMITS',
      'SaveModel',
      'SmoothenValue',
      'TELEGRAM_MAX_CAPTION',
      'TELEGRAM_MAX_MESSAGE',
      'TerminateOnNaN',
      'TfjsCallbackAdapter',
      'TransientError',
      'WebhookNotifier',
      'accuracy',
      'describeValue',
      'annealCos',
      'annealExp',
      'bestEpoch',
      'emailSubject',
      'epochTable',
      'errorRate',
      'escapeHtml',
      'escapeMarkdownV2',
      'escapeSlack',
      'escapeTelegramHtml',
      'fitDatasetWithCallbacks',
      'fitWithCallbacks',
      'formatDuration',
      'formatLoss',
      'formatMetric',
      'formatStatsTable',
      'formatTime',
      'headline',
      'historyCsv',
      'httpError',
      'hyperParams',
      'loadModelFrom',
      'mae',
      'mse',
      'notificationOutcome',
      'notifyRun',
      'oneCycleSchedule',
      'rank',
      'renderEmail',
      'renderSlack',
      'renderTelegramCaption',
      'renderTelegramHtml',
      'renderTelegramMarkdownV2',
      'renderText',
      'saveModelTo',
      'scopeName',
      'selectBackend',
      'suggestLr',
      'tfjsCallback',
      'trimStack',
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
