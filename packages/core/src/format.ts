import type { EpochStats } from './state.js';

/** `mm:ss`, or `h:mm:ss` from an hour on, as fastai's table shows time. */
export function formatTime(ms: number): string {
  if (!Number.isFinite(ms)) return '--:--';
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mmss = `${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
}

/** A learning rate as people write it: `0.0003`, `0.01`, `1.2e-7` (three significant digits). */
export function formatLr(lr: number): string {
  if (!Number.isFinite(lr)) return String(lr);
  return String(Number(lr.toPrecision(3)));
}

/** Column names of the epoch table: `epoch train_loss valid_loss <metrics…> time`. */
export function statsHeader(metricNames: readonly string[]): string[] {
  return ['epoch', 'train_loss', 'valid_loss', ...metricNames, 'time'];
}

/** One table row: losses and metrics with 6 decimals (fastai's format), `#na#` for a missing value. */
export function statsRow(stats: EpochStats, metricNames: readonly string[]): string[] {
  const num = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '#na#' : v.toFixed(6));
  return [
    String(stats.epoch),
    num(stats.trainLoss),
    num(stats.validLoss),
    ...metricNames.map((name) => num(stats.metrics[name])),
    formatTime(stats.timeMs),
  ];
}

/** Left-aligned columns two spaces apart, each as wide as its widest cell. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The fastai epoch table for a history. */
export function formatStatsTable(history: readonly EpochStats[], metricNames?: readonly string[]): string {
  const names = metricNames ?? Object.keys(history[0]?.metrics ?? {});
  return formatTable([statsHeader(names), ...history.map((s) => statsRow(s, names))]);
}
