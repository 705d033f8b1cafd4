/**
 * Which run a notification is about: its name, id, host and rank — for a fit (from the training
 * state) and for any other job (`notifyRun`, `epochcast run`).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import type { RunRecord } from '@epochcast/coordination';
import type { EpochStats, TrainingState } from '@epochcast/core';
import * as tf from '@tensorflow/tfjs';
import type { RunInfo } from './notification.js';

/** The process's rank in a distributed job: `RANK`, else `LOCAL_RANK`, else 0. */
export function rank(): number {
  const value = Number(process.env.RANK ?? process.env.LOCAL_RANK ?? 0);
  return Number.isInteger(value) && value > 0 ? value : 0;
}

/** A new run id: 8 lowercase hex characters. */
export function newRunId(): string {
  return randomBytes(4).toString('hex');
}

/** The name a run gets when none is given: `EPOCHCAST_RUN_NAME`, else the script's file name, else `fallback`. */
function defaultRunName(fallback: string): string {
  const script = process.argv[1] ? path.basename(process.argv[1]).replace(/\.[cm]?[jt]s$/, '') : '';
  return process.env.EPOCHCAST_RUN_NAME || script || fallback;
}

function hostOf(r: number): string {
  return r > 0 ? `${hostname()} rank ${r}` : hostname();
}

/** The run of a fit: named, identified by `id` (shared by the fit's notifiers), its epochs and schedule. */
export function fitRunInfo(state: TrainingState, runName: string | undefined, id: string): RunInfo {
  const r = rank();
  const info: RunInfo = {
    name: runName ?? defaultRunName('run'),
    id,
    host: hostOf(r),
    rank: r,
    startedAt: state.startedAt,
    totalEpochs: state.totalEpochs,
    schedule: state.schedule,
  };
  if (state.resumedFromEpoch !== undefined) info.resumedFromEpoch = state.resumedFromEpoch;
  let model: TrainingState['learner']['model'];
  try {
    model = state.learner.model;
  } catch {
    // A training reported from elsewhere (`ReportedTraining`) has no model here, nor a backend of ours.
    return info;
  }
  info.backend = tf.getBackend();
  try {
    info.params = model.countParams();
  } catch {
    // A model that is not built yet has no parameter count; the messages simply leave it out.
  }
  return info;
}

/** Options of {@link jobRunInfo}. */
export interface JobRunOptions {
  /** Names the job. Default `EPOCHCAST_RUN_NAME`, else the script's file name, else `job`. */
  name?: string;
  /** What runs, shown as the `job:` detail (e.g. the command line). Default `job`. */
  schedule?: string;
}

/** The run of a job that is not a fit (`notifyRun`, `epochcast run`): no epochs, started now. */
export function jobRunInfo(options: JobRunOptions = {}): RunInfo {
  const r = rank();
  return {
    name: options.name ?? defaultRunName('job'),
    id: newRunId(),
    host: hostOf(r),
    rank: r,
    startedAt: Date.now(),
    totalEpochs: 0,
    schedule: options.schedule ?? 'job',
  };
}

// The hooks run on the training loop: every notifier of a fit shares one copy of the history per
// finished epoch rather than each copying the O(epochs) array. The Recorder starts a new array
// each fit, and its length tells whether an epoch was added since the copy.
const historySnapshots = new WeakMap<readonly EpochStats[], EpochStats[]>();

/** A copy of `history` as it is now, shared by every caller until it grows. */
export function historySnapshot(history: readonly EpochStats[]): EpochStats[] {
  const cached = historySnapshots.get(history);
  if (cached && cached.length === history.length) return cached;
  const copy = [...history];
  historySnapshots.set(history, copy);
  return copy;
}

/** What the other runs of a scope see of this one after an epoch: its count and its main metric. */
export function progressOf(state: TrainingState): Partial<RunRecord> {
  const stats = state.learner.recorder.history.at(-1);
  if (!stats) return { epoch: state.epoch + 1 };
  const name = state.learner.metricNames[0];
  const value = name !== undefined ? stats.metrics[name] : undefined;
  const metric =
    name !== undefined && value !== undefined && Number.isFinite(value)
      ? { name, value }
      : Number.isFinite(stats.validLoss)
        ? { name: 'valid_loss', value: stats.validLoss }
        : { name: 'train_loss', value: stats.trainLoss };
  return { epoch: stats.epoch + 1, metric };
}
