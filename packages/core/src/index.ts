// The public API of @epochcast/core, and nothing else.

export { type BackendChoice, type BackendName, type SelectBackendOptions, selectBackend } from './backend.js';
export { Callback, EVENTS, type EventName, type Hook } from './callback.js';
export { type Batch, DataLoader, DataLoaders, type DataLoadersOptions } from './data.js';
export { CallbackError, CancelBatchError, CancelEpochError, CancelFitError, ConfigError, describeValue } from './errors.js';
export { formatStatsTable, formatTime } from './format.js';
// Training
export { type FitOneCycleOptions, type FitOptions, Learner, type LearnerOptions, type ValidationResult } from './learner.js';

// Losses, metrics, optimizers
export { LOSS_NAMES, type LossFn, type LossName } from './losses.js';
export { accuracy, errorRate, type Metric, mae, mse } from './metrics.js';
export { type HyperParams, hyperParams, OPTIMIZER_NAMES, type OptimizerFactory, type OptimizerName } from './optimizers.js';
export { Plot } from './plot.js';
// Recorder, schedules, plots
export { type LrFindResult, Recorder } from './recorder.js';
export {
  annealCos,
  annealExp,
  type LrFindOptions,
  type OneCycleOptions,
  oneCycleSchedule,
  ParamScheduler,
  type ScheduledValues,
  suggestLr,
} from './schedules.js';
export { SmoothenValue } from './smoothing.js';
export type { EpochStats, FitMode, TrainingHost, TrainingState, TrainStatus } from './state.js';

// Standard callbacks

export { CSVLogger, type CSVLoggerOptions, historyCsv } from './callbacks/csv-logger.js';
export { EarlyStopping, type EarlyStoppingOptions } from './callbacks/early-stopping.js';
export type { MonitorMode, MonitorOptions } from './callbacks/monitor.js';
export { ProgressCallback, type ProgressCallbackOptions } from './callbacks/progress.js';
export { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from './callbacks/reduce-lr-on-plateau.js';
export { loadModelFrom, SaveModel, type SaveModelOptions, saveModelTo } from './callbacks/save-model.js';
export { TerminateOnNaN } from './callbacks/terminate-on-nan.js';
export { type Membership, type RunRecord, type ScopeMessage, scopeName } from './coordination/index.js';
// Notifiers
export { NOTIFY_EVENTS, type Notification, type NotificationError, type NotifyEvent, type RunInfo } from './notification.js';
export { ConsoleNotifier, type ConsoleNotifierOptions } from './notifiers/console.js';
export { httpError, PermanentError, RateLimitError, TransientError } from './notifiers/errors.js';
export {
  type DeliveryReport,
  Notifier,
  type NotifierLimits,
  type NotifierLogger,
  type NotifierOptions,
  rank,
  type ScopeRequest,
  type SendContext,
} from './notifiers/notifier.js';
export { WebhookNotifier, type WebhookNotifierOptions, type WebhookPayload } from './notifiers/webhook.js';
export { type NotifyRunOptions, notifyRun } from './notify-run.js';
// Rendering notifications (shared by every plugin)
export {
  type BestEpoch,
  bestEpoch,
  type EmailOptions,
  type EpochTableOptions,
  emailSubject,
  epochTable,
  escapeHtml,
  escapeMarkdownV2,
  escapeSlack,
  escapeTelegramHtml,
  formatDuration,
  formatLoss,
  formatMetric,
  headline,
  LOSS_PLOT_CID,
  notificationOutcome,
  OUTCOME_EMOJI,
  type Outcome,
  type RenderedEmail,
  type RenderTextOptions,
  renderEmail,
  renderSlack,
  renderTelegramCaption,
  renderTelegramHtml,
  renderTelegramMarkdownV2,
  renderText,
  SLACK_LIMITS,
  type SlackBlock,
  type SlackMessage,
  type SlackOptions,
  TELEGRAM_MAX_CAPTION,
  TELEGRAM_MAX_MESSAGE,
  type TelegramCaptionOptions,
  type TelegramOptions,
  trimStack,
} from './render/index.js';
export {
  fitDatasetWithCallbacks,
  fitWithCallbacks,
  TfjsCallbackAdapter,
  type TfjsCallbackOptions,
  tfjsCallback,
} from './tfjs-callback.js';
