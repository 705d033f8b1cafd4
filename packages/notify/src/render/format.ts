/**
 * Numbers, durations and one-line headlines, worded the same in every format: a Telegram message,
 * a Slack header and an e-mail subject about the same event say the same thing.
 */

import type { EpochStats } from '@epochcast/core';
import type { AlertLevel, Notification } from '../notification.js';
import { cleanText, cut, oneLine, plural } from './strings.js';

const pad2 = (n: number) => String(n).padStart(2, '0');

/**
 * A human duration: `850ms`, `45s`, `3m 12s`, `1h 02m 03s`, `2d 03h 04m`. Negative durations
 * (clock steps) read as 0; a non-finite one as `—`.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  const t = Math.max(0, ms);
  if (Math.round(t) < 1000) return `${Math.round(t)}ms`;
  const secs = Math.round(t / 1000);
  if (secs < 60) return `${secs}s`;
  if (secs < 3600) return `${Math.floor(secs / 60)}m ${pad2(secs % 60)}s`;
  if (secs < 86_400) return `${Math.floor(secs / 3600)}h ${pad2(Math.floor((secs % 3600) / 60))}m ${pad2(secs % 60)}s`;
  // From a day on seconds are noise, and the string stays short.
  const mins = Math.round(t / 60_000);
  return `${Math.floor(mins / 1440)}d ${pad2(Math.floor((mins % 1440) / 60))}h ${pad2(mins % 60)}m`;
}

/**
 * A loss-like number with 4 significant digits, or as many as its integer part needs up to 6
 * (`0.2171`, `1.234`, `12346`); outside 1e-4…1e6 in exponent form (`1.235e-5`). `NaN`, `Infinity`
 * and `-Infinity` are spelled out.
 */
export function formatLoss(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e6 || a < 1e-4) return x.toExponential(3);
  const intDigits = a >= 1 ? Math.floor(Math.log10(a)) + 1 : 0;
  const s = x.toPrecision(Math.min(6, Math.max(4, intDigits)));
  // Rounding can carry into one more digit (999999.7 → 1.00000e+6): keep one notation per range.
  return s.includes('e') ? x.toExponential(3) : s;
}

const PERCENT_METRIC = /acc|precision|recall|f1|error_?rate/i;
const LOWER_IS_BETTER = /loss|err|mse|mae|perplexity|ppl|distance/i;
const HIGHER_IS_BETTER = /acc|precision|recall|f1|fbeta|auc|dice|iou|jaccard|r2|mcc|kappa|score/i;

/** Whether a metric is a rate shown as a percentage: names with acc/precision/recall/f1, or error rate. */
export function isPercentMetric(name: string): boolean {
  return PERCENT_METRIC.test(name);
}

/**
 * Which way a metric improves: `max` for accuracy-like names (acc, precision, recall, f1, auc,
 * dice, iou, r2, …), `min` for losses and errors (an error rate included) and for anything unknown.
 */
export function metricGoal(name: string): 'min' | 'max' {
  if (LOWER_IS_BETTER.test(name)) return 'min';
  return HIGHER_IS_BETTER.test(name) ? 'max' : 'min';
}

/**
 * A metric's value for a headline or a field: a rate in [0, 1] as a percentage with two decimals
 * (`97.12%`), anything else like a loss. A rate outside [0, 1] is shown as is: the metric
 * evidently reports on another scale, and `9712.00%` would mislead.
 */
export function formatMetric(name: string, value: number): string {
  if (isPercentMetric(name) && value >= 0 && value <= 1) return `${(value * 100).toFixed(2)}%`;
  return formatLoss(value);
}

/** The name the epoch table gives the validation loss, used when there is no metric. */
export const VALID_LOSS = 'valid_loss';

/** The best epoch of a history by one metric. */
export interface BestEpoch {
  /** The epoch, 0-based as in {@link EpochStats}. */
  epoch: number;
  /** Its position in the history. */
  index: number;
  /** The metric it is best by: a metric name, or `valid_loss`. */
  name: string;
  value: number;
  /** Whether the best is the lowest or the highest value. */
  goal: 'min' | 'max';
}

/** Options of {@link bestEpoch}. */
export interface BestEpochOptions {
  /** Judge by this metric (a metric name or `valid_loss`) instead of the first metric. */
  metric?: string;
  /** Override the direction {@link metricGoal} infers from the name. */
  goal?: 'min' | 'max';
}

/**
 * The best row of a history: by the first metric when there is one (highest for accuracy-like
 * names, lowest for losses and errors), else by the lowest validation loss. Ties go to the earlier
 * epoch; NaN values never win. `undefined` when no epoch has a finite value to judge by.
 */
export function bestEpoch(
  history: readonly EpochStats[],
  metricNames: readonly string[],
  options: BestEpochOptions = {},
): BestEpoch | undefined {
  const getter = (name: string) => (s: EpochStats) => (name === VALID_LOSS ? s.validLoss : s.metrics[name]);
  const candidates = options.metric !== undefined ? [options.metric] : [...metricNames.slice(0, 1), VALID_LOSS];
  for (const name of candidates) {
    const get = getter(name);
    const goal = options.goal ?? metricGoal(name);
    let best: BestEpoch | undefined;
    history.forEach((s, index) => {
      const value = get(s);
      if (value === undefined || Number.isNaN(value)) return;
      if (best === undefined || (goal === 'min' ? value < best.value : value > best.value)) {
        best = { epoch: s.epoch, index, name, value, goal };
      }
    });
    if (best !== undefined) return best;
  }
  return undefined;
}

/**
 * What a notification reports, from its event and the fit's status: an `end` whose status is
 * `failed` is a failure, whatever event carried it. An `alert` is an alert, whatever the status.
 */
export type Outcome = 'started' | 'progress' | 'completed' | 'stopped' | 'failed' | 'interrupted' | 'alert';

/** The {@link Outcome} of a notification. */
export function notificationOutcome(n: Pick<Notification, 'event' | 'status'>): Outcome {
  if (n.event === 'alert') return 'alert';
  if (n.event === 'error' || n.status === 'failed') return 'failed';
  if (n.event === 'interrupt' || n.status === 'interrupted') return 'interrupted';
  if (n.event === 'start') return 'started';
  if (n.event === 'epoch') return 'progress';
  return n.status === 'stopped' ? 'stopped' : 'completed';
}

/** The emoji each outcome's headline starts with. */
export const OUTCOME_EMOJI: Readonly<Record<Outcome, string>> = {
  started: '⏳',
  progress: '📈',
  completed: '✅',
  stopped: '⏹',
  failed: '❌',
  interrupted: '⚠️',
  // An alert's headline takes its level's emoji (ALERT_EMOJI); this one is a warning's.
  alert: '🔔',
};

/** The emoji an alert's headline starts with, by its level. */
export const ALERT_EMOJI: Readonly<Record<AlertLevel, string>> = {
  info: 'ℹ️',
  warning: '🔔',
  critical: '🚨',
};

/** Longest user-supplied piece (run name, reason, error message, alert text) a headline quotes. */
const NAME_MAX = 100;
const REASON_MAX = 200;
const METRIC_NAME_MAX = 40;
/** Metrics an epoch headline lists; the table has them all. */
const HEADLINE_METRICS = 6;

/** A run's name for one line: cleaned, shortened; its id when the name is empty. */
export function runLabel(n: Pick<Notification, 'run'>, max = NAME_MAX): string {
  return cut(oneLine(n.run.name) || oneLine(n.run.id) || 'run', max);
}

/** The latest finished epoch: `stats`, else the last of `history`. */
export function latestStats(n: Pick<Notification, 'stats' | 'history'>): EpochStats | undefined {
  return n.stats ?? n.history[n.history.length - 1];
}

/** `name value` for a metric or loss, both one-lined and the name shortened. */
export function metricPhrase(name: string, value: number): string {
  return `${cut(oneLine(name), METRIC_NAME_MAX)} ${formatMetric(name, value)}`;
}

/** `accuracy 97.12% (epoch 4/5)`: the best value, its epoch counted from 1 of the planned total. */
export function bestPhrase(n: Pick<Notification, 'history' | 'metricNames' | 'run'>): string | undefined {
  const best = bestEpoch(n.history, n.metricNames);
  if (best === undefined) return undefined;
  return `${metricPhrase(best.name, best.value)} (epoch ${epochOf(best.epoch + 1, n.run.totalEpochs)})`;
}

/**
 * `3/5`: an epoch counted from 1 of the planned total, or `3` alone while the total is not known
 * (a training reported by its output, before the output says: `epochcast run`).
 */
export function epochOf(epoch: number, total: number): string {
  return total > 0 ? `${epoch}/${total}` : String(epoch);
}

/** Epochs whose times the ETA averages: the latest few, so a slow first epoch (warm-up, compilation) soon stops counting. */
const ETA_EPOCHS = 5;

/**
 * How long the remaining epochs should take at the pace of the latest ones, in ms; undefined when
 * the total is unknown or reached, or no epoch has a time.
 */
export function etaMs(n: Pick<Notification, 'history' | 'stats' | 'run'>): number | undefined {
  const s = latestStats(n);
  if (s === undefined) return undefined;
  const remaining = (s.totalEpochs || n.run.totalEpochs) - (s.epoch + 1);
  if (!(remaining > 0)) return undefined;
  const times = n.history
    .slice(-ETA_EPOCHS)
    .map((h) => h.timeMs)
    .filter((t) => Number.isFinite(t) && t >= 0);
  if (times.length === 0) return undefined;
  return (remaining * times.reduce((a, b) => a + b, 0)) / times.length;
}

/** `TypeError: x is undefined`: the error's name and the first line of its message, one line. */
export function errorSummary(error: Notification['error'], max = REASON_MAX): string {
  if (error === undefined) return '';
  const name = oneLine(error.name);
  const first = oneLine(cleanFirstLine(error.message));
  return cut(name && first ? `${name}: ${first}` : name || first, max);
}

function cleanFirstLine(s: string): string {
  const i = s.search(/[\r\n\u2028\u2029\u0085]/);
  return i < 0 ? s : s.slice(0, i);
}

/** Whether the notification is about a job that is not a training run (no epochs planned). */
export function isJob(n: Notification): boolean {
  return n.run.totalEpochs === 0 && n.history.length === 0;
}

/** Whether a headline quotes an alert's text whole: one line, short enough not to be cut. */
export function alertShownInHeadline(text: string): boolean {
  return cut(oneLine(text), REASON_MAX) === cleanText(text).trim();
}

/** Options of {@link headline}. */
export interface HeadlineOptions {
  /** Cut the headline to this many UTF-16 units. Default 400. */
  maxLength?: number;
  /** Start with the outcome's emoji. Default true. */
  emoji?: boolean;
}

/**
 * One line saying what happened, the same words in every format:
 *
 * - `⏳ mnist-mlp (a1b2c3d4) started on gpu-01 · 5 epochs · one-cycle lrMax=0.003`
 * - `⏳ mnist-mlp (a1b2c3d4) resumed after epoch 3/5 on gpu-01 · 5 epochs · one-cycle lrMax=0.003`
 * - `📈 mnist-mlp epoch 3/5 · train_loss 0.2171 · valid_loss 0.1843 · accuracy 94.05%`
 * - `✅ mnist-mlp completed 5 epochs in 3m 12s · best accuracy 97.12% (epoch 4/5)`
 * - `⏹ mnist-mlp stopped after 3/5 epochs (2m 01s): no improvement · best accuracy 97.12% (epoch 2/5)`
 * - `❌ mnist-mlp failed after 2/5 epochs (1m 05s): TypeError: x is undefined`
 * - `⚠️ mnist-mlp interrupted (SIGINT) after 2/5 epochs (1m 05s)`
 * - `🚨 mnist-mlp · loss is NaN at epoch 3` (an alert: `🔔` for a warning, `ℹ️` for info)
 *
 * Epochs are counted from 1 here ("the 3rd of 5"), while the table keeps fastai's 0-based column.
 * Every user-supplied part is one-lined and shortened, so the result is one line.
 */
export function headline(n: Notification, options: HeadlineOptions = {}): string {
  const outcome = notificationOutcome(n);
  const name = runLabel(n);
  const total = n.run.totalEpochs;
  const took = formatDuration(n.durationMs);
  // A job that is not a training run (`epochcast run`, `notifyRun`) has no epochs to count.
  const done = total > 0 ? `${n.history.length}/${total} epochs` : plural(n.history.length, 'epoch');
  const after = isJob(n) ? `after ${took}` : `after ${done} (${took})`;
  const best = bestPhrase(n);
  const reason = n.stopReason === undefined ? '' : cut(oneLine(n.stopReason), REASON_MAX);
  let body: string;
  switch (outcome) {
    case 'started': {
      const id = cut(oneLine(n.run.id), 40);
      const host = cut(oneLine(n.run.host), NAME_MAX);
      const resumed = n.run.resumedFromEpoch;
      // A resumed run counts the epochs it had done, as the epoch messages do: "after epoch 3/10", then "epoch 4/10".
      const verb = resumed === undefined ? 'started' : `resumed after epoch ${epochOf(resumed, total)}`;
      const parts = [`${name}${id ? ` (${id})` : ''} ${verb}${host ? ` on ${host}` : ''}`];
      if (!isJob(n)) parts.push(plural(total, 'epoch'));
      const schedule = cut(oneLine(n.run.schedule), REASON_MAX);
      if (schedule) parts.push(schedule);
      body = parts.join(' · ');
      break;
    }
    case 'progress': {
      const s = latestStats(n);
      if (s === undefined) {
        body = `${name} epoch ?${total > 0 ? `/${total}` : ''}`;
        break;
      }
      const parts = [
        `${name} epoch ${epochOf(s.epoch + 1, s.totalEpochs || total)}`,
        metricPhrase('train_loss', s.trainLoss),
        metricPhrase(VALID_LOSS, s.validLoss),
      ];
      const shown = n.metricNames.slice(0, HEADLINE_METRICS);
      for (const m of shown) parts.push(metricPhrase(m, s.metrics[m] ?? Number.NaN));
      if (n.metricNames.length > shown.length) parts.push('…');
      const eta = etaMs(n);
      if (eta !== undefined) parts.push(`ETA ${formatDuration(eta)}`);
      body = parts.join(' · ');
      break;
    }
    case 'completed':
      body = `${name} completed ${isJob(n) ? '' : `${plural(n.history.length, 'epoch')} `}in ${took}${best ? ` · best ${best}` : ''}`;
      break;
    case 'stopped':
      body = `${name} stopped ${after}${reason ? `: ${reason}` : ''}${best ? ` · best ${best}` : ''}`;
      break;
    case 'failed': {
      const err = errorSummary(n.error);
      body = `${name} failed ${after}${err ? `: ${err}` : ''}`;
      break;
    }
    case 'interrupted':
      body = `${name} interrupted${reason ? ` (${reason})` : ''} ${after}`;
      break;
    case 'alert': {
      const text = cut(oneLine(n.alert?.text ?? ''), REASON_MAX);
      body = text ? `${name} · ${text}` : `${name} alert`;
      break;
    }
  }
  const emoji = outcome === 'alert' && n.alert ? (ALERT_EMOJI[n.alert.level] ?? OUTCOME_EMOJI.alert) : OUTCOME_EMOJI[outcome];
  const line = options.emoji === false ? body : `${emoji} ${body}`;
  return cut(line, options.maxLength ?? 400);
}

/**
 * The loss plot's file name, as a chat or a push shows it: the run's name in safe characters and
 * its id, `mnist-mlp-a1b2c3d4-losses.png`.
 */
export function plotFileName(n: Pick<Notification, 'run'>): string {
  const slug = n.run.name
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  const id = n.run.id.replace(/[^a-z0-9]+/gi, '');
  return `${slug || 'run'}-${id || 'run'}-losses.png`;
}
