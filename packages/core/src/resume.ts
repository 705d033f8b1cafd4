/**
 * Resuming a checkpoint's run: which run, from which epoch and step, on which schedule. A resumed
 * fit starts at the epoch after the last one the checkpoint completed, at the step an uninterrupted
 * run would be at, with the smoothed loss where it was, so its lr/momentum schedule, epoch numbers
 * and Recorder history continue as if it had never stopped.
 */
import type { RunProgress } from './checkpoint-schema.js';
import type { DataLoader } from './data.js';
import { ConfigError } from './errors.js';
import { type OneCycleOptions, resolveOneCycle } from './schedules.js';
import type { SmootherState } from './smoothing.js';
import type { FitMode } from './state.js';

/** What a fit is asked to do: its mode, length and schedule, and the run it resumes if any. */
export interface FitPlan {
  mode: FitMode;
  totalEpochs: number;
  schedule: string;
  progress?: Omit<RunProgress, 'epochsDone' | 'step' | 'smoother' | 'totalEpochs' | 'numBatches' | 'schedule'>;
  resume?: ResumePoint | undefined;
}

/** What `learn.load(dir)` read. */
export interface CheckpointSummary {
  /** The directory read: `dir`, or `<dir>.previous` when the last save crashed between its renames. */
  dir: string;
  /** Epochs the saved run had completed (0 when saved before any fit). */
  epochsDone: number;
  /** Epochs the saved run was planned for; undefined when saved before any fit. */
  totalEpochs: number | undefined;
  runName: string | undefined;
}

/** Where a resumed fit starts. */
export interface ResumePoint {
  epochsDone: number;
  /** Steps an uninterrupted run would have taken by now, with this data's batches per epoch. */
  step: number;
  saved: RunProgress;
}

/** The checkpoint's run, checked against the fit asked to resume it. */
export function resumePoint(
  method: RunProgress['method'],
  epochs: number,
  saved: RunProgress | undefined,
  numBatches: number,
): ResumePoint {
  const where = `${method}(${epochs}, { resume: true })`;
  if (!saved)
    throw new ConfigError(
      `${where}: there is no run to resume. Load a checkpoint first with await learn.load(dir) (saved by learn.save(dir) during or after a fit); a checkpoint is resumed once.`,
    );
  if (saved.method !== method)
    throw new ConfigError(
      `${where}: the checkpoint's run was trained with ${saved.method}; resume it with ${saved.method}(n, { resume: true }).`,
    );
  if (!Number.isInteger(epochs) || epochs <= saved.epochsDone)
    throw new ConfigError(
      `${where}: the checkpoint's run has already completed ${saved.epochsDone} of ${saved.totalEpochs} epochs; pass a total greater than ${saved.epochsDone} (e.g. ${saved.totalEpochs > saved.epochsDone ? saved.totalEpochs : saved.epochsDone + 1}).`,
    );
  return { epochsDone: saved.epochsDone, step: saved.epochsDone * numBatches, saved };
}

/** The one-cycle options of a resumed run: the checkpoint's, and any given must agree with them. */
export function resumedOneCycle(given: OneCycleOptions, saved: RunProgress): Required<OneCycleOptions> {
  const kept = saved.oneCycle as Required<OneCycleOptions>;
  for (const key of ['lrMax', 'pctStart', 'divFactor', 'finalDiv', 'moms'] as const) {
    const value = given[key];
    if (value !== undefined && JSON.stringify(value) !== JSON.stringify(kept[key]))
      throw new ConfigError(
        `fitOneCycle(…, { resume: true }): ${key} ${JSON.stringify(value)} differs from the checkpoint's ${JSON.stringify(kept[key])}; a resumed schedule keeps its options. Leave ${key} out.`,
      );
  }
  return resolveOneCycle(kept);
}

/**
 * Replays the training loader's shuffles of the epochs already done, so the resumed epochs see
 * their batches in the order the uninterrupted run would have: each pass draws the epoch's order
 * when its first batch is taken.
 */
export function replayShuffles(loader: DataLoader, epochs: number): void {
  if (!loader.shuffle) return;
  for (let i = 0; i < epochs; i++) {
    const pass = loader.batches();
    const first = pass.next();
    if (!first.done) {
      first.value.xs.dispose();
      first.value.ys.dispose();
    }
    pass.return(undefined);
  }
}

/**
 * A learner's run as a checkpoint keeps it: what the latest fit is doing, updated as each epoch
 * ends; the run a loaded checkpoint holds, until a fit resumes it; and whether the loop is between
 * epochs, the only place a checkpoint is consistent.
 */
export class RunLog {
  progress: RunProgress | undefined;
  loadedRun: RunProgress | undefined;
  atEpochBoundary = true;

  /** A fit begins; `smoother` is where the smoothed loss starts (restored when resuming). */
  begin({ totalEpochs, schedule, progress, resume }: FitPlan, numBatches: number, smoother: SmootherState): void {
    if (resume) this.loadedRun = undefined;
    if (!progress) return;
    const done = { epochsDone: resume?.epochsDone ?? 0, step: resume?.step ?? 0, smoother };
    this.progress = { ...progress, totalEpochs, numBatches, schedule, ...done };
  }

  epochEnded(mode: FitMode, epoch: number, step: number, smoother: SmootherState): void {
    this.atEpochBoundary = true;
    if (mode !== 'fit' || !this.progress) return;
    this.progress.epochsDone = epoch + 1;
    this.progress.step = step;
    this.progress.smoother = smoother;
  }

  loaded(run: RunProgress | undefined): void {
    this.progress = run;
    this.loadedRun = run;
  }

  /** The run for a checkpoint being saved now: a copy. */
  forCheckpoint(where: string): RunProgress | undefined {
    if (!this.atEpochBoundary)
      throw new ConfigError(`${where}: a checkpoint is taken between epochs; call it from onEpochEnd or after the fit, not mid-epoch.`);
    return this.progress && structuredClone(this.progress);
  }
}
