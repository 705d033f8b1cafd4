// Cross-package: the packages as a consumer sees them — by package name, from their built dist
// and declarations — so a broken exports map or an accidental internal export shows up here.
import * as core from '@epochcast/core';
import * as notify from '@epochcast/notify';
import * as ntfy from '@epochcast/ntfy';
import * as tf from '@tensorflow/tfjs';
import { expect, test } from 'vitest';

test('@epochcast/core exports the training API and nothing else', () => {
  expect(Object.keys(core).sort()).toEqual(
    [
      'CSVLogger',
      'Callback',
      'CallbackError',
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
      'ReportedTraining',
      'SaveModel',
      'SmoothenValue',
      'TerminateOnNaN',
      'TfjsCallbackAdapter',
      'accuracy',
      'annealCos',
      'annealExp',
      'checkBoolean',
      'checkInteger',
      'checkNonNegative',
      'checkOptions',
      'checkPositive',
      'describeValue',
      'errorRate',
      'fitDatasetWithCallbacks',
      'fitWithCallbacks',
      'formatLr',
      'formatStatsTable',
      'formatTable',
      'formatTime',
      'historyCsv',
      'hyperParams',
      'loadModelFrom',
      'mae',
      'mse',
      'oneCycleSchedule',
      'preloadPlotting',
      'saveModelTo',
      'selectBackend',
      'statsHeader',
      'statsRow',
      'suggestLr',
      'tfjsCallback',
    ].sort(),
  );
});

test('@epochcast/notify exports the notifier base, the render kit and nothing else', () => {
  expect(Object.keys(notify).sort()).toEqual(
    [
      'Alerts',
      'BEST_MARKER',
      'ConfigError',
      'ConfigRejectedError',
      'ConsoleCallback',
      'ELLIPSIS',
      'MIN_MESSAGE_LENGTH',
      'NOTIFY_EVENTS',
      'Notifier',
      'MARKDOWN',
      'OUTCOME_EMOJI',
      'PLAIN',
      'PermanentError',
      'ProxyRefusedError',
      'ProxyUnreachableError',
      'RateLimitError',
      'TransientError',
      'VALID_LOSS',
      'WebhookCallback',
      'WebhookSignatureError',
      'bestEpoch',
      'bestPhrase',
      'divergence',
      'nanLoss',
      'plateau',
      'slowEpoch',
      'threshold',
      'epochOf',
      'buildContent',
      'cleanText',
      'cut',
      'epochTable',
      'errorSummary',
      'etaMs',
      'errorText',
      'escapeHtml',
      'escapeHtmlText',
      'escapeMarkdown',
      'formatCount',
      'formatDuration',
      'formatLoss',
      'formatMetric',
      'formatTimestamp',
      'headline',
      'httpError',
      'isJob',
      'jobNotification',
      'jobRunInfo',
      'isPercentMetric',
      'latestStats',
      'metricGoal',
      'metricPhrase',
      'notificationDetails',
      'notificationOutcome',
      'notifyAll',
      'notifyRun',
      'oneLine',
      'pack',
      'plotFileName',
      'plural',
      'proxyFetch',
      'proxyRoute',
      'rank',
      'redactSecrets',
      'registerSecret',
      'renderBlock',
      'renderBlocks',
      'renderMessages',
      'renderText',
      'runLabel',
      'scopeAuthKey',
      'scopeName',
      'selectEpochRows',
      'trimStack',
      'verifyWebhookSignature',
    ].sort(),
  );
});

test('@epochcast/ntfy exports NtfyCallback and its constants, nothing else', () => {
  expect(Object.keys(ntfy).sort()).toEqual(
    ['DEFAULT_MAX_ATTACHMENT_BYTES', 'NTFY_EPOCH_INTERVAL_MS', 'NTFY_MESSAGE_BYTES', 'NtfyCallback'].sort(),
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
