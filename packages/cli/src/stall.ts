/**
 * `--stall DURATION`: a command that prints nothing, or shows no progress, for that long is
 * probably hung (a data loader waiting forever, a deadlock, a dead GPU) — say so once, and say
 * again when it moves.
 */
import { formatDuration } from '@epochcast/notify';

/** What the watch says, and to whom: an alert when the command stalls, a note when it moves again. */
export type StallReport = (text: string, level: 'warning' | 'info') => void;

/**
 * Watches a command's output. Until its output has shown any progress (an epoch, a step, a bar
 * that moved), any output counts as life; from then on only progress does, so a script that keeps
 * printing the same warning while its training hangs still counts as stalled.
 *
 * The hot path (`output()`, `progress()`, called per chunk) only stores a timestamp; a timer checks
 * a few times per period.
 */
export class StallWatch {
  private lastOutput: number;
  private lastProgress: number;
  private progressSeen = false;
  private stalledSince: number | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly stallMs: number,
    private readonly report: StallReport,
    private readonly describe: () => string,
    private readonly now: () => number = Date.now,
  ) {
    this.lastOutput = this.lastProgress = this.now();
    // A few checks per period: an alert comes at most a tenth of the period (and 10 s) late.
    this.timer = setInterval(() => this.check(), Math.max(50, Math.min(stallMs / 10, 10_000)));
    this.timer.unref();
  }

  /** The command printed something. */
  output(): void {
    this.lastOutput = this.now();
    if (!this.progressSeen) this.moved();
  }

  /** The command's output showed the training moving. */
  progress(): void {
    this.progressSeen = true;
    this.lastProgress = this.lastOutput = this.now();
    this.moved();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Checks now (the timer calls it; tests too). */
  check(): void {
    if (this.stalledSince !== undefined) return;
    const last = this.progressSeen ? this.lastProgress : this.lastOutput;
    const idle = this.now() - last;
    if (idle < this.stallMs) return;
    this.stalledSince = last;
    const what =
      this.progressSeen && this.now() - this.lastOutput < this.stallMs
        ? `no progress for ${formatDuration(idle)} (it still prints, but no epoch or step moved)`
        : `no output for ${formatDuration(idle)}`;
    this.report(`Stalled? ${what}. ${this.describe()}`, 'warning');
  }

  private moved(): void {
    const since = this.stalledSince;
    if (since === undefined) return;
    this.stalledSince = undefined;
    this.report(`Moving again after ${formatDuration(this.now() - since)} without ${this.progressSeen ? 'progress' : 'output'}.`, 'info');
  }
}

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * `10m`, `90s`, `1h30m`, `2h`, `500ms` → milliseconds; a bare number is seconds. Undefined for
 * anything else.
 */
export function parseDuration(text: string): number | undefined {
  const value = text.trim();
  if (value.length === 0 || value.length > 40) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const parts = value.match(/\d+(?:\.\d+)?(?:ms|s|m|h|d)/g);
  if (!parts || parts.join('') !== value) return undefined;
  let total = 0;
  for (const part of parts) {
    const [, n = '', unit = ''] = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(part) ?? [];
    total += Number(n) * (UNITS[unit] ?? Number.NaN);
  }
  return Number.isFinite(total) ? total : undefined;
}
