import { Callback, type HyperParamName } from './callback.js';
import { CancelFitError, ConfigError, describeValue } from './errors.js';
import { noMomentumError } from './optimizers.js';
import { checkLr, invalidOption } from './options.js';
import type { LrFindResult } from './recorder.js';
import type { TrainingState } from './state.js';

/** Cosine annealing from `start` to `end` as `pct` goes 0 → 1 (fastai's `annealing_cos`). */
export function annealCos(start: number, end: number, pct: number): number {
  return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
}

/** Exponential annealing from `start` to `end` (the LR finder's sweep). */
export function annealExp(start: number, end: number, pct: number): number {
  return start * (end / start) ** pct;
}

export interface OneCycleOptions {
  /** Peak learning rate. Default 3e-3. */
  lrMax?: number;
  /** Fraction of the steps spent warming up. Default 0.3. */
  pctStart?: number;
  /** The lr starts at lrMax / divFactor. Default 25. */
  divFactor?: number;
  /** The lr ends at lrMax / finalDiv. Default divFactor × 1e4. */
  finalDiv?: number;
  /** Momentum at the start/end and at the peak lr: [high, low]. Default [0.95, 0.85]. */
  moms?: readonly [number, number];
}

export interface ScheduledValues {
  lr: number;
  mom: number;
}

/**
 * fastai v1's one-cycle policy over `totalSteps` optimizer steps: for the first
 * ⌊totalSteps·pctStart⌋ steps the lr anneals (cosine) from lrMax/divFactor up to lrMax while the
 * momentum goes from moms[0] down to moms[1]; then the lr anneals down to lrMax/finalDiv and the
 * momentum back up. `step` is the number of steps already taken (0 = the first batch).
 */
export function oneCycleSchedule(totalSteps: number, options: OneCycleOptions = {}): (step: number) => ScheduledValues {
  const o = resolveOneCycle(options);
  const warmup = Math.floor(totalSteps * o.pctStart);
  const cooldown = totalSteps - warmup;
  const [high, low] = o.moms;
  const start = o.lrMax / o.divFactor;
  const end = o.lrMax / o.finalDiv;
  return (step) => {
    if (step < warmup) {
      const pct = step / warmup;
      return { lr: annealCos(start, o.lrMax, pct), mom: annealCos(high, low, pct) };
    }
    const pct = cooldown > 0 ? Math.min(1, (step - warmup) / cooldown) : 1;
    return { lr: annealCos(o.lrMax, end, pct), mom: annealCos(low, high, pct) };
  };
}

export function resolveOneCycle(options: OneCycleOptions): Required<OneCycleOptions> {
  const where = 'fitOneCycle';
  const lrMax = checkLr(where, 'lrMax', options.lrMax ?? 3e-3);
  const pctStart = options.pctStart ?? 0.3;
  if (typeof pctStart !== 'number' || !(pctStart >= 0 && pctStart < 1))
    throw invalidOption(where, 'pctStart', 'a number in [0, 1)', pctStart, 'The default is 0.3.');
  const divFactor = options.divFactor ?? 25;
  if (typeof divFactor !== 'number' || !(divFactor >= 1) || !Number.isFinite(divFactor))
    throw invalidOption(where, 'divFactor', 'a finite number >= 1', divFactor, 'The default is 25.');
  const finalDiv = options.finalDiv ?? divFactor * 1e4;
  if (typeof finalDiv !== 'number' || !(finalDiv >= 1) || !Number.isFinite(finalDiv))
    throw invalidOption(where, 'finalDiv', 'a finite number >= 1', finalDiv, 'The default is divFactor × 1e4.');
  const moms = options.moms ?? [0.95, 0.85];
  if (!Array.isArray(moms) || moms.length !== 2 || !moms.every((m) => typeof m === 'number' && m >= 0 && m < 1))
    throw invalidOption(where, 'moms', 'two numbers in [0, 1), [high, low]', moms, 'The default is [0.95, 0.85].');
  return { lrMax, pctStart, divFactor, finalDiv, moms };
}

/** A schedule for each hyper-parameter a ParamScheduler sets, as a function of the step (0 = the first batch). */
export interface ParamSchedules {
  lr?: (step: number) => number;
  mom?: (step: number) => number;
}

/**
 * Sets hyper-parameters before every training batch from a schedule of the step: either one
 * function `step => { lr, mom }` (as `oneCycleSchedule` returns; the momentum is set where the
 * optimizer has one), or one function per hyper-parameter, `{ lr?, mom? }`, setting only those
 * given (then `mom` on an optimizer without momentum is a ConfigError before the first batch).
 * It declares what it sets (`setsHyperParams`): a second setter of the same one in the fit —
 * another ParamScheduler, fitOneCycle's own, ReduceLROnPlateau on lr — is a ConfigError when the
 * fit starts. It sits out `lrFind()`, whose sweep sets the lr itself.
 */
export class ParamScheduler extends Callback {
  override order = 10;
  override setsHyperParams: readonly HyperParamName[];
  private readonly values: (step: number) => Partial<ScheduledValues>;
  private readonly momRequired: boolean;

  constructor(
    schedule: ((step: number) => ScheduledValues) | ParamSchedules,
    private readonly options: { momsGiven?: boolean } = {},
  ) {
    super();
    if (typeof schedule === 'function') {
      this.values = schedule;
      this.setsHyperParams = ['lr', 'mom'];
      this.momRequired = false;
      return;
    }
    const { lr, mom } = checkParamSchedules(schedule);
    this.values = (step) => ({ lr: lr?.(step), mom: mom?.(step) });
    this.setsHyperParams = [...(lr ? ['lr'] : []), ...(mom ? ['mom'] : [])];
    this.momRequired = mom !== undefined;
  }

  // Momentum asked for explicitly (fitOneCycle's moms) on an optimizer without any: said once a fit,
  // not silently ignored; the default moms on plain SGD are fastai's behaviour and say nothing.
  override onTrainBegin(state: TrainingState): void {
    if (!(this.momRequired || this.options.momsGiven) || state.learner.hyperParams.hasMomentum) return;
    if (this.momRequired) throw noMomentumError('ParamScheduler({ mom })', state.learner.optimizer);
    if (this.options.momsGiven)
      console.warn(
        `epochcast: ${noMomentumError('fitOneCycle({ moms })', state.learner.optimizer).message} The lr still follows the cycle.`,
      );
  }

  override onBatchBegin(state: TrainingState): void {
    if (!state.training) return;
    const { lr, mom } = this.values(state.step);
    if (lr !== undefined) state.learner.setLr(lr);
    if (mom !== undefined && state.learner.hyperParams.hasMomentum) state.learner.setMom(mom);
  }
}

/** The `{ lr?, mom? }` form: only those keys, each a function, at least one. */
function checkParamSchedules(schedule: ParamSchedules): ParamSchedules {
  const where = 'ParamScheduler';
  const expected = 'a function step => ({ lr, mom }), or an object of functions of the step, e.g. { lr: (step) => 1e-3 }';
  if (typeof schedule !== 'object' || schedule === null || Array.isArray(schedule))
    throw invalidOption(where, 'schedule', expected, schedule);
  const keys = Object.keys(schedule);
  const unknown = keys.find((key) => key !== 'lr' && key !== 'mom');
  if (unknown !== undefined)
    throw new ConfigError(
      `${where}: it schedules lr and mom; received a schedule for ${describeValue(unknown)}. For another hyper-parameter, write a callback that sets it and declares it in setsHyperParams.`,
    );
  if (keys.length === 0)
    throw new ConfigError(`${where}: received an empty object of schedules; give lr, mom or both, e.g. { lr: (step) => 1e-3 }.`);
  for (const key of ['lr', 'mom'] as const)
    if (key in schedule && typeof schedule[key] !== 'function') throw invalidOption(where, key, expected, schedule[key]);
  return schedule;
}

export interface LrFindOptions {
  /** Default 1e-7. */
  startLr?: number;
  /** Default 10. */
  endLr?: number;
  /** Number of steps of the sweep. Default 100. */
  numIt?: number;
  /** Stop when the smoothed loss exceeds 4× the best seen, or is NaN. Default true. */
  stopDiv?: boolean;
}

export function resolveLrFind(options: LrFindOptions): Required<LrFindOptions> {
  const startLr = checkLr('lrFind', 'startLr', options.startLr ?? 1e-7);
  const endLr = checkLr('lrFind', 'endLr', options.endLr ?? 10);
  if (endLr <= startLr)
    throw new ConfigError(`lrFind: endLr must be greater than startLr; received startLr ${startLr} and endLr ${endLr}.`);
  const numIt = options.numIt ?? 100;
  if (!Number.isInteger(numIt) || numIt < 2) throw invalidOption('lrFind', 'numIt', 'an integer >= 2', numIt, 'The default is 100.');
  return { startLr, endLr, numIt, stopDiv: options.stopDiv ?? true };
}

/** The LR finder's sweep: lr grows exponentially each step; stops at numIt or when the loss diverges. */
export class LRFinder extends Callback {
  override order = 10;
  override runDuringLrFind = true;
  override setsHyperParams: readonly HyperParamName[] = ['lr'];
  private best = Number.POSITIVE_INFINITY;

  constructor(private readonly options: Required<LrFindOptions>) {
    super();
  }

  override onBatchBegin(state: TrainingState): void {
    if (!state.training) return;
    const { startLr, endLr, numIt } = this.options;
    state.learner.setLr(annealExp(startLr, endLr, state.step / (numIt - 1)));
  }

  override onBatchEnd(state: TrainingState): void {
    if (!state.training) return;
    const smooth = state.smoothLoss;
    if (smooth < this.best) this.best = smooth;
    if (this.options.stopDiv && (Number.isNaN(smooth) || smooth > 4 * this.best)) throw new CancelFitError('lrFind: the loss diverged');
    if (state.step >= this.options.numIt) throw new CancelFitError('lrFind: sweep complete');
  }
}

/**
 * The suggestion rule: the lr where the smoothed loss falls fastest, i.e. the minimum of
 * d(loss)/d(log10 lr), after dropping the first 10 and last 5 points (noise at the start, the
 * blow-up at the end), as fastai v1's `recorder.plot(suggestion=True)`. With fewer than 20 finite
 * points there is no reliable slope, and the lr of the lowest loss divided by 10 is returned.
 */
export function suggestLr(lrs: readonly number[], losses: readonly number[]): Pick<LrFindResult, 'suggestedLr' | 'minLossLr'> {
  const points = lrs.map((lr, i) => ({ lr, loss: losses[i] ?? Number.NaN })).filter((p) => Number.isFinite(p.loss));
  if (points.length === 0) return { suggestedLr: Number.NaN, minLossLr: Number.NaN };
  const minPoint = points.reduce((a, b) => (b.loss < a.loss ? b : a));
  const minLossLr = minPoint.lr / 10;
  if (points.length < 20) return { suggestedLr: minLossLr, minLossLr };
  const inner = points.slice(10, points.length - 5);
  let steepest = inner[0] ?? minPoint;
  let steepestSlope = Number.POSITIVE_INFINITY;
  for (let i = 0; i < inner.length; i++) {
    // Central differences inside, one-sided at the ends, as numpy.gradient.
    const a = inner[Math.max(0, i - 1)];
    const b = inner[Math.min(inner.length - 1, i + 1)];
    if (!a || !b || a === b) continue;
    const slope = (b.loss - a.loss) / (Math.log10(b.lr) - Math.log10(a.lr));
    if (slope < steepestSlope) {
      steepestSlope = slope;
      steepest = inner[i] ?? steepest;
    }
  }
  return { suggestedLr: steepest.lr, minLossLr };
}
