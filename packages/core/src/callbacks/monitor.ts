import { ConfigError, describeValue } from '../errors.js';
import { checkNonNegative, invalidOption } from '../options.js';
import type { EpochStats, TrainingState } from '../state.js';

/** Whether the monitored value should go down (`min`), up (`max`), or be guessed from its name (`auto`). */
export type MonitorMode = 'auto' | 'min' | 'max';

/** Options shared by the trackers (EarlyStopping, SaveModel, ReduceLROnPlateau). */
export interface MonitorOptions {
  /**
   * The epoch value to watch: `validLoss`, `trainLoss` or a metric name (e.g. `accuracy`; under
   * `tfjsCallback`, tfjs's names such as `acc`). fastai/Keras spellings (`valid_loss`, `val_loss`,
   * `train_loss`, `loss`, `val_<metric>`) are accepted. Default `validLoss`.
   */
  monitor?: string;
  /** `min`, `max`, or `auto`: `min` when the name looks like a loss or an error (loss, error, mse, mae, …), else `max`. Default `auto`. */
  mode?: MonitorMode;
  /** Smallest change that counts as an improvement (Keras semantics), >= 0. */
  minDelta?: number;
}

const LOWER_IS_BETTER = /loss|error|mse|mae|mape|msle|entropy|hinge|divergence|perplexity/i;
const ALIASES: Record<string, string> = {
  valid_loss: 'validLoss',
  val_loss: 'validLoss',
  train_loss: 'trainLoss',
  loss: 'trainLoss',
};

/** Resolves a monitored value from EpochStats and decides what counts as an improvement. */
export class Monitor {
  readonly name: string;
  readonly mode: 'min' | 'max';
  readonly minDelta: number;

  constructor(
    private readonly where: string,
    options: MonitorOptions,
    defaultMinDelta: number,
  ) {
    const { monitor = 'validLoss', mode = 'auto', minDelta = defaultMinDelta } = options;
    if (typeof monitor !== 'string' || monitor.length === 0)
      throw invalidOption(where, 'monitor', "a non-empty string such as 'validLoss', 'trainLoss' or a metric name", monitor);
    if (mode !== 'auto' && mode !== 'min' && mode !== 'max') throw invalidOption(where, 'mode', "'auto', 'min' or 'max'", mode);
    checkNonNegative(where, 'minDelta', minDelta);
    this.name = ALIASES[monitor] ?? monitor;
    this.mode =
      mode !== 'auto' ? mode : this.name === 'validLoss' || this.name === 'trainLoss' || LOWER_IS_BETTER.test(this.name) ? 'min' : 'max';
    this.minDelta = minDelta;
  }

  /** The value that anything beats: +Infinity when minimising, −Infinity when maximising. */
  get worst(): number {
    return this.mode === 'min' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  }

  /**
   * Before the first batch, when the training knows its metrics (the Learner does): a name that
   * no epoch will have is a ConfigError now, not after the first epoch.
   */
  checkAtStart(state: TrainingState): void {
    const host = state.learner;
    if (!host.metricNamesKnownAtStart || this.name === 'validLoss' || this.name === 'trainLoss') return;
    const names = host.metricNames;
    if (names.includes(this.name) || (this.name.startsWith('val_') && names.includes(this.name.slice(4)))) return;
    throw this.unknown(names);
  }

  /** The monitored value in these stats; a ConfigError listing the available names if there is none. */
  value(stats: EpochStats): number {
    if (this.name === 'validLoss') return stats.validLoss;
    if (this.name === 'trainLoss') return stats.trainLoss;
    const metrics = stats.metrics;
    if (Object.hasOwn(metrics, this.name)) return metrics[this.name] as number;
    const unprefixed = this.name.startsWith('val_') ? this.name.slice(4) : undefined;
    if (unprefixed && Object.hasOwn(metrics, unprefixed)) return metrics[unprefixed] as number;
    throw this.unknown(Object.keys(metrics));
  }

  private unknown(metricNames: readonly string[]): ConfigError {
    const available = ['validLoss', 'trainLoss', ...metricNames].join(', ');
    return new ConfigError(
      `${this.where}: monitor ${describeValue(this.name)} is not a value this training reports; available: ${available}. Pass one of these as monitor.`,
    );
  }

  /** Keras's test: `current` beats `reference` by more than minDelta (NaN never improves). */
  improved(current: number, reference: number): boolean {
    return this.mode === 'min' ? current < reference - this.minDelta : current > reference + this.minDelta;
  }

  /** e.g. `validLoss 0.3121`. */
  describe(value: number): string {
    return `${this.name} ${formatValue(value)}`;
  }
}

export function formatValue(value: number): string {
  return Number.isFinite(value) ? String(Number(value.toPrecision(6))) : String(value);
}
