/**
 * `Alerts`: a callback that watches a run for what should wake you — a NaN loss, a diverging loss,
 * a metric crossing a line, a plateau, an epoch far slower than the others — and sends an `alert`
 * through every notifier attached to the learner, each rule at most once until it recovers.
 */
import { Callback, ConfigError, checkOptions, checkPositive, describeValue, type EpochStats, type TrainingState } from '@epochcast/core';
import type { AlertLevel } from './notification.js';
import { Notifier } from './notifier.js';
import { formatDuration, formatMetric, metricGoal, VALID_LOSS } from './render/format.js';

/**
 * One condition to watch. `batch` runs after each training batch, `epoch` after each epoch; each
 * returns the alert's text while the condition holds, and undefined while it does not. The rule's
 * own state starts afresh with `reset` at the start of each fit.
 */
export interface AlertRule {
  /** Names the rule in warnings, e.g. `nanLoss`. */
  readonly name: string;
  readonly level: AlertLevel;
  reset(): void;
  batch?(state: TrainingState): string | undefined;
  epoch?(state: TrainingState, stats: EpochStats): string | undefined;
}

/** Options shared by the rules: how loud they are. */
export interface AlertRuleOptions {
  /** Default `warning` (`critical` for `nanLoss`). */
  level?: AlertLevel;
}

const LEVELS: readonly AlertLevel[] = ['info', 'warning', 'critical'];

function levelOf(where: string, options: AlertRuleOptions | undefined, fallback: AlertLevel): AlertLevel {
  const level = options?.level ?? fallback;
  if (!LEVELS.includes(level))
    throw new ConfigError(`${where}: level must be one of ${LEVELS.join(', ')}; received ${describeValue(level)}.`);
  return level;
}

const at = (s: TrainingState) => `epoch ${s.epoch + 1}${s.totalEpochs > 0 ? `/${s.totalEpochs}` : ''}`;

/** The training loss is NaN or infinite: the run is lost from here on. Critical by default. */
export function nanLoss(options: AlertRuleOptions = {}): AlertRule {
  options = checkOptions('nanLoss', options, "{ level: 'critical' }");
  return {
    name: 'nanLoss',
    level: levelOf('nanLoss', options, 'critical'),
    reset() {},
    // A training reported from elsewhere has no batch count to name.
    batch: (s) =>
      Number.isFinite(s.loss)
        ? undefined
        : `loss is ${s.loss} at ${at(s)}${Number.isFinite(s.numBatches) ? `, batch ${s.batch + 1}/${s.numBatches}` : ''}`,
  };
}

/** Options of {@link divergence}. */
export interface DivergenceOptions extends AlertRuleOptions {
  /** How many times its best the smoothed loss may reach. Default 4 (fastai's lr finder stops there). */
  factor?: number;
}

/** The smoothed training loss rose above `factor` × the best it reached in this fit. */
export function divergence(options: DivergenceOptions = {}): AlertRule {
  options = checkOptions('divergence', options, '{ factor: 4 }');
  const factor = checkPositive('divergence', 'factor', options.factor ?? 4);
  if (factor <= 1) throw new ConfigError(`divergence: factor must be above 1 (the loss above factor × its best); received ${factor}.`);
  let best = Number.POSITIVE_INFINITY;
  return {
    name: 'divergence',
    level: levelOf('divergence', options, 'warning'),
    reset() {
      best = Number.POSITIVE_INFINITY;
    },
    batch(s) {
      const loss = s.smoothLoss;
      if (!Number.isFinite(loss)) return undefined;
      if (loss < best) best = loss;
      if (!(best > 0) || loss <= factor * best) return undefined;
      return `loss diverging at ${at(s)}: smoothed loss ${formatMetric('loss', loss)} is ${(loss / best).toFixed(1)}× its best (${formatMetric('loss', best)})`;
    },
  };
}

export type ThresholdOp = '>' | '>=' | '<' | '<=';
const OPS: Readonly<Record<ThresholdOp, (a: number, b: number) => boolean>> = {
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
};
const OP_WORDS: Readonly<Record<ThresholdOp, string>> = { '>': '>', '>=': '≥', '<': '<', '<=': '≤' };

/** An epoch's value of `metric`: `train_loss`, `valid_loss`, or a metric by its name. */
function metricValue(stats: EpochStats, metric: string): number | undefined {
  if (metric === 'train_loss') return stats.trainLoss;
  if (metric === VALID_LOSS) return stats.validLoss;
  return stats.metrics[metric];
}

/**
 * An epoch's `metric` (`train_loss`, `valid_loss` or a metric's name) compares to `value` as `op`
 * says: `threshold('accuracy', '>=', 0.95)` — good news is worth a message too.
 */
export function threshold(metric: string, op: ThresholdOp, value: number, options: AlertRuleOptions = {}): AlertRule {
  if (typeof metric !== 'string' || metric.trim() === '')
    throw new ConfigError(`threshold: metric must be a metric's name, train_loss or valid_loss; received ${describeValue(metric)}.`);
  if (!(op in OPS)) throw new ConfigError(`threshold: op must be one of > >= < <=; received ${describeValue(op)}.`);
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new ConfigError(`threshold: value must be a finite number; received ${describeValue(value)}.`);
  options = checkOptions('threshold', options, "{ level: 'info' }");
  const holds = OPS[op];
  return {
    name: `threshold(${metric} ${op} ${value})`,
    level: levelOf('threshold', options, 'warning'),
    reset() {},
    epoch(s, stats) {
      const v = metricValue(stats, metric);
      if (v === undefined || Number.isNaN(v) || !holds(v, value)) return undefined;
      return `${metric} ${formatMetric(metric, v)} at ${at(s)} (${OP_WORDS[op]} ${formatMetric(metric, value)})`;
    },
  };
}

/** Options of {@link plateau}. */
export interface PlateauOptions extends AlertRuleOptions {
  /** Epochs without improvement before the alert. Default 3. */
  patience?: number;
  /** Least change that counts as an improvement, in the metric's own direction. Default 0. */
  minDelta?: number;
}

/** `metric` has not improved (in its direction: lower for losses and errors, higher for accuracy-like names) for `patience` epochs. */
export function plateau(metric: string, options: PlateauOptions = {}): AlertRule {
  if (typeof metric !== 'string' || metric.trim() === '')
    throw new ConfigError(`plateau: metric must be a metric's name, train_loss or valid_loss; received ${describeValue(metric)}.`);
  options = checkOptions('plateau', options, '{ patience: 3, minDelta: 0.001 }');
  const patience = options.patience ?? 3;
  if (!Number.isInteger(patience) || patience < 1)
    throw new ConfigError(`plateau: patience must be a whole number of epochs >= 1; received ${describeValue(patience)}.`);
  const minDelta = options.minDelta ?? 0;
  if (typeof minDelta !== 'number' || !(minDelta >= 0))
    throw new ConfigError(`plateau: minDelta must be a number >= 0; received ${describeValue(minDelta)}.`);
  const goal = metricGoal(metric);
  let best: { value: number; epoch: number } | undefined;
  let since = 0;
  return {
    name: `plateau(${metric})`,
    level: levelOf('plateau', options, 'warning'),
    reset() {
      best = undefined;
      since = 0;
    },
    epoch(s, stats) {
      const v = metricValue(stats, metric);
      if (v === undefined || Number.isNaN(v)) return undefined;
      const better = best === undefined || (goal === 'min' ? v < best.value - minDelta : v > best.value + minDelta);
      if (better) {
        best = { value: v, epoch: stats.epoch };
        since = 0;
        return undefined;
      }
      since += 1;
      if (since < patience || best === undefined) return undefined;
      return `${metric} has not improved for ${since} epochs at ${at(s)} (best ${formatMetric(metric, best.value)} at epoch ${best.epoch + 1})`;
    },
  };
}

/** Options of {@link slowEpoch}. */
export interface SlowEpochOptions extends AlertRuleOptions {
  /** How many times the median epoch time an epoch may take. Default 2. */
  factor?: number;
}

/** An epoch took more than `factor` × the median time of the epochs before it (at least two of them). */
export function slowEpoch(options: SlowEpochOptions = {}): AlertRule {
  options = checkOptions('slowEpoch', options, '{ factor: 2 }');
  const factor = checkPositive('slowEpoch', 'factor', options.factor ?? 2);
  if (factor <= 1)
    throw new ConfigError(`slowEpoch: factor must be above 1 (an epoch slower than factor × the median); received ${factor}.`);
  let times: number[] = [];
  return {
    name: 'slowEpoch',
    level: levelOf('slowEpoch', options, 'warning'),
    reset() {
      times = [];
    },
    epoch(s, stats) {
      const t = stats.timeMs;
      if (!Number.isFinite(t)) return undefined;
      const before = times;
      times = [...times, t].slice(-100);
      if (before.length < 2) return undefined;
      const median = medianOf(before);
      if (!(median > 0) || t <= factor * median) return undefined;
      return `${at(s)} took ${formatDuration(t)}, ${(t / median).toFixed(1)}× the median epoch (${formatDuration(median)})`;
    },
  };
}

function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Options of {@link Alerts}. */
export interface AlertsOptions {
  /** Where the alerts go. Default: every notifier attached to the learner. */
  notifiers?: readonly Notifier[];
}

/**
 * Watches a fit with `rules` and sends an alert through the notifiers when one holds: each rule at
 * most once, until its condition stops holding (it recovered) — then it may fire again.
 *
 * ```ts
 * new Learner({ …, callbacks: [new TelegramCallback(), new Alerts([nanLoss(), divergence({ factor: 4 }), threshold('accuracy', '>=', 0.95), plateau('valid_loss', { patience: 3 }), slowEpoch({ factor: 2 })])] });
 * ```
 *
 * Its checks are a few comparisons per batch; the sends only enqueue (the notifiers' queues).
 */
export class Alerts extends Callback {
  // After the Recorder and the standard callbacks, before the notifiers' own epoch messages.
  override order = 90;
  readonly rules: readonly AlertRule[];
  private readonly notifiers: readonly Notifier[] | undefined;
  private firing = new Set<AlertRule>();
  private targets: readonly Notifier[] = [];
  private readonly batchRules: AlertRule[];
  private readonly epochRules: AlertRule[];

  constructor(rules: readonly AlertRule[], options: AlertsOptions = {}) {
    super();
    if (!Array.isArray(rules) || rules.length === 0 || !rules.every(isRule))
      throw new ConfigError(
        `Alerts: rules must be a non-empty list of rules such as [nanLoss(), divergence({ factor: 4 })]; received ${describeValue(rules)}.`,
      );
    options = checkOptions('Alerts', options, '{ notifiers: [telegram] }');
    if (options.notifiers !== undefined && !(Array.isArray(options.notifiers) && options.notifiers.every((n) => n instanceof Notifier)))
      throw new ConfigError(
        `Alerts: notifiers must be a list of notifiers (TelegramCallback, …); received ${describeValue(options.notifiers)}.`,
      );
    this.rules = [...rules];
    this.notifiers = options.notifiers;
    this.batchRules = this.rules.filter((r) => r.batch);
    this.epochRules = this.rules.filter((r) => r.epoch);
  }

  override onTrainBegin(state: TrainingState): void {
    this.firing = new Set();
    for (const rule of this.rules) rule.reset();
    this.targets = this.notifiers ?? state.learner.callbacks.filter((cb): cb is Notifier => cb instanceof Notifier);
  }

  override onBatchEnd(state: TrainingState): void {
    if (!state.training) return;
    for (const rule of this.batchRules) this.judge(rule, rule.batch?.(state));
  }

  override onEpochEnd(state: TrainingState): void {
    const stats = state.stats;
    if (!stats) return;
    for (const rule of this.epochRules) this.judge(rule, rule.epoch?.(state, stats));
  }

  private judge(rule: AlertRule, text: string | undefined): void {
    if (text === undefined) {
      this.firing.delete(rule);
      return;
    }
    if (this.firing.has(rule)) return;
    this.firing.add(rule);
    for (const notifier of this.targets) notifier.alert(text, { level: rule.level });
  }
}

function isRule(value: unknown): value is AlertRule {
  const rule = value as Partial<AlertRule> | null;
  return (
    typeof rule === 'object' &&
    rule !== null &&
    typeof rule.name === 'string' &&
    typeof rule.reset === 'function' &&
    (typeof rule.batch === 'function' || typeof rule.epoch === 'function')
  );
}
