import type { EpochStats, Plot, TrainStatus } from '@epochcast/core';

/** What a notifier can be told about. */
export const NOTIFY_EVENTS = ['start', 'epoch', 'end', 'error', 'interrupt', 'alert'] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/** How loud an alert is: `info` arrives quietly where the service can be quiet, `warning` and `critical` loudly. */
export type AlertLevel = 'info' | 'warning' | 'critical';
export const ALERT_LEVELS: readonly AlertLevel[] = ['info', 'warning', 'critical'];

/** What an `alert` notification says, besides the run: the user's text and how loud it is. */
export interface NotificationAlert {
  /** At most 1000 characters (longer text is cut, with `…`); may span lines. */
  text: string;
  level: AlertLevel;
}

/** Which run a notification is about; every message names it. */
export interface RunInfo {
  /** The run's name (option `runName`, else `EPOCHCAST_RUN_NAME`, else the script's name). */
  name: string;
  /** Unique per fit: 8 lowercase hex characters. */
  id: string;
  /** The machine's host name, with `rank N` appended on a non-zero rank. */
  host: string;
  /** The process's rank in a distributed job (`RANK`, else `LOCAL_RANK`, else 0). */
  rank: number;
  /** Date.now() when the fit began. */
  startedAt: number;
  totalEpochs: number;
  /** The lr schedule, e.g. `one-cycle lrMax=0.003 pctStart=0.3 divFactor=25`. */
  schedule: string;
  /** Trainable parameters of the model, when known. */
  params?: number;
  /** The tfjs backend in use (`wasm`, `cpu`, `tensorflow`). */
  backend?: string;
  /**
   * Set when the fit resumes a checkpoint (`fitOneCycle(n, { resume: true })`): the epochs the run
   * had completed before it stopped. The start message then says "resumed after epoch k/n".
   */
  resumedFromEpoch?: number;
}

/** A failure, as plain data: safe to serialise, already redacted. */
export interface NotificationError {
  name: string;
  message: string;
  stack?: string;
}

/**
 * Everything a plugin needs to render one message. Built by the Notifier base from the training
 * state; plain data except `plot`. Every string in it has passed through the notifier's redaction.
 */
export interface Notification {
  event: NotifyEvent;
  run: RunInfo;
  /** The latest finished epoch, if any. */
  stats?: EpochStats;
  /** Every finished epoch of this fit so far. */
  history: EpochStats[];
  /** Metric names in table order. */
  metricNames: string[];
  /** Time since the fit began, in ms. */
  durationMs: number;
  status: TrainStatus;
  /** Why the run stopped or was interrupted (`learn.stop(reason)`, EarlyStopping, a signal). */
  stopReason?: string;
  error?: NotificationError;
  /** The loss plot, on `end` messages when the notifier's `plot` option is on. */
  plot?: Plot;
  /** Set exactly on `alert` notifications (`notifier.alert(text, { level })`). */
  alert?: NotificationAlert;
}
