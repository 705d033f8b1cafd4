// The public API of @epochcast/core, and nothing else.

export { type BackendChoice, type BackendName, type SelectBackendOptions, selectBackend } from './backend.js';
export { Callback, EVENTS, type EventName, type Hook, type HyperParamName } from './callback.js';
// Training
export type { CheckpointSummary } from './checkpoint.js';
export { type Batch, type BatchSource, DataLoader, DataLoaders, type DataLoadersOptions } from './data.js';
export { CallbackError, CancelBatchError, CancelEpochError, CancelFitError, ConfigError, describeValue } from './errors.js';
export { formatLr, formatStatsTable, formatTable, formatTime, statsHeader, statsRow } from './format.js';
export { Learner } from './learner.js';
export type { FitOneCycleOptions, FitOptions, LearnerOptions } from './learner-options.js';
// Losses, metrics, optimizers
export { LOSS_NAMES, type LossFn, type LossName } from './losses.js';
export { accuracy, errorRate, type Metric, mae, mse } from './metrics.js';
export { type HyperParams, hyperParams, OPTIMIZER_NAMES, type OptimizerFactory, type OptimizerName } from './optimizers.js';
// Option checks for callback and plugin authors: one message format everywhere
export { checkBoolean, checkInteger, checkNonNegative, checkOptions, checkPositive } from './options.js';
export { preloadPlotting } from './plot/libraries.js';
export { Plot } from './plot/plot.js';
export type { GetPredsOptions, PredictOptions, Preds } from './predict.js';
// Recorder, schedules, plots
export { type LrFindResult, Recorder } from './recorder.js';
export { type EpochReport, type ReportedEnd, ReportedTraining, type ReportedTrainingOptions } from './reported-training.js';
export {
  annealCos,
  annealExp,
  type LrFindOptions,
  type OneCycleOptions,
  oneCycleSchedule,
  ParamScheduler,
  type ParamSchedules,
  type ScheduledValues,
  suggestLr,
} from './schedules.js';
export { SmoothenValue } from './smoothing.js';
export type { BatchIterable, DataSourceOptions, MakeBatches } from './sources.js';
export type { EpochStats, FitMode, StopRequest, TrainingHost, TrainingState, TrainStatus } from './state.js';
export type { ValidationResult } from './validation.js';

// Standard callbacks

export { CSVLogger, type CSVLoggerOptions, historyCsv } from './callbacks/csv-logger.js';
export { EarlyStopping, type EarlyStoppingOptions } from './callbacks/early-stopping.js';
export type { MonitorMode, MonitorOptions } from './callbacks/monitor.js';
export { ProgressCallback, type ProgressCallbackOptions } from './callbacks/progress.js';
export { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from './callbacks/reduce-lr-on-plateau.js';
export { loadModelFrom, SaveModel, type SaveModelOptions, saveModelTo } from './callbacks/save-model.js';
export { TerminateOnNaN } from './callbacks/terminate-on-nan.js';
export { TfjsCallbackAdapter, type TfjsCallbackOptions, tfjsCallback } from './tfjs-callback.js';
export { fitDatasetWithCallbacks, fitWithCallbacks } from './tfjs-fit.js';
