/** The data side of the charts: lines thinned to what can be drawn, and the scales that fit them. */
import type { PlotOptions } from '@observablehq/plot';

/** Lines longer than this are thinned: more points than pixels only bloat the SVG and the PNG. */
export const MAX_LINE_POINTS = 2000;

/** One point of a line, in data units. */
export interface PlotPoint {
  x: number;
  y: number;
}

/**
 * The finite points of a line (a NaN or infinite y is a gap in the data, not a value), thinned
 * to at most `max` points by bucketing: each bucket keeps its lowest and highest point, in
 * order, so spikes and the envelope survive where an average or a stride would hide them.
 * The first and last points are always kept (so `max` counts from 4).
 */
export function downsampleLine(
  ys: readonly number[],
  xAt: (i: number) => number = (i) => i + 1,
  max = MAX_LINE_POINTS,
): { points: PlotPoint[]; dropped: number } {
  const finite: PlotPoint[] = [];
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i] as number;
    const x = xAt(i);
    if (Number.isFinite(y) && Number.isFinite(x)) finite.push({ x, y });
  }
  const dropped = ys.length - finite.length;
  const n = finite.length;
  const limit = Math.max(4, max);
  if (n <= limit) return { points: finite, dropped };
  const first = finite[0] as PlotPoint;
  const last = finite[n - 1] as PlotPoint;
  const buckets = Math.floor((limit - 2) / 2);
  const inner = n - 2;
  const points: PlotPoint[] = [first];
  for (let b = 0; b < buckets; b++) {
    const start = 1 + Math.floor((b * inner) / buckets);
    const end = 1 + Math.floor(((b + 1) * inner) / buckets);
    if (start >= end) continue;
    let lo = start;
    let hi = start;
    for (let i = start + 1; i < end; i++) {
      const y = (finite[i] as PlotPoint).y;
      if (y < (finite[lo] as PlotPoint).y) lo = i;
      if (y > (finite[hi] as PlotPoint).y) hi = i;
    }
    if (lo === hi) points.push(finite[lo] as PlotPoint);
    else points.push(finite[Math.min(lo, hi)] as PlotPoint, finite[Math.max(lo, hi)] as PlotPoint);
  }
  points.push(last);
  return { points, dropped };
}

/** The lowest and highest x (or y) over the series; [Infinity, -Infinity] when they have no points. */
export function extent(axis: 'x' | 'y', ...series: readonly (readonly PlotPoint[])[]): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const points of series) {
    for (const p of points) {
      lo = Math.min(lo, p[axis]);
      hi = Math.max(hi, p[axis]);
    }
  }
  return [lo, hi];
}

export type ScaleOptions = NonNullable<PlotOptions['y']>;

/**
 * A y scale fitted to the data, not to zero (losses and metrics live far from it), with round
 * ends. A flat series (one epoch, a constant lr) gets a band around its value instead of a
 * zero-height domain.
 */
export function yScale(label: string, ...series: readonly PlotPoint[][]): ScaleOptions {
  const [lo, hi] = extent('y', ...series);
  const base = { ...axisLabel(label), grid: true, nice: true, zero: false };
  if (lo !== hi) return base;
  const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
  return { ...base, domain: [lo - pad, hi + pad] };
}

/** An axis title set along the axis, centred, with no arrow. */
export function axisLabel(label: string): ScaleOptions {
  return { label, labelAnchor: 'center', labelArrow: 'none' };
}

/** A frame with ticks and axis titles but no tick labels: for a panel with no data yet. */
export function blankScale(label: string): ScaleOptions {
  return { ...axisLabel(label), domain: [0, 1], ticks: [] };
}

/** A 'batches processed' axis: whole-number ticks, and a visible span for a single batch. */
export function batchScale(...series: readonly PlotPoint[][]): ScaleOptions {
  const [lo, hi] = extent('x', ...series);
  const base: ScaleOptions = { ...axisLabel('batches processed'), nice: true };
  const whole = { tickFormat: formatCount };
  if (!(hi >= lo)) return base;
  if (lo === hi) return { ...base, ...whole, nice: false, domain: [lo - 1, hi + 1], ticks: [lo - 1, lo, hi + 1] };
  return hi - lo < 10 ? { ...base, ...whole, ticks: integerTicks(Math.floor(lo), Math.ceil(hi)) } : base;
}

/** `2.5e-5` (not `0.000025`), trailing zeros dropped; 0 stays `0`. */
export function formatSmall(v: number): string {
  if (v === 0) return '0';
  const [mantissa = '', exponent = '0'] = v.toExponential(2).split('e');
  return `${mantissa.replace(/\.?0+$/, '')}e${Number(exponent)}`;
}

/** `1,000`, as Plot writes counts; without it, Plot writes the ticks of a short axis as `1.0`. */
export function formatCount(v: number): string {
  return v.toLocaleString('en-US');
}

/** At most about ten whole-number ticks from `lo` to `hi`: an axis reading "epoch 0.5" has no meaning. */
export function integerTicks(lo: number, hi: number): number[] {
  let step = 1;
  // 1, 2, 5, 10, 20, 50, ...
  for (let k = 1; (hi - lo) / step > 10; k++) step = ([1, 2, 5][k % 3] as number) * 10 ** Math.floor(k / 3);
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) ticks.push(t);
  return ticks;
}

/** An lr axis label, `3.0e-3`: one significant decimal, so tick labels line up. */
export function lrTickLabel(lr: number): string {
  return lr.toExponential(1).replace('e+', 'e');
}
