/** The Recorder's four charts: loss, learning rate (and momentum), metrics, and the LR finder. */
import type { Markish } from '@observablehq/plot';
import type { EpochStats } from '../state.js';
import { compose, type LegendItem, type Panel } from './layout.js';
import { observablePlot } from './libraries.js';
import { Plot } from './plot.js';
import {
  axisLabel,
  batchScale,
  blankScale,
  downsampleLine,
  extent,
  formatCount,
  formatSmall,
  integerTicks,
  lrTickLabel,
  type PlotPoint,
  type ScaleOptions,
  yScale,
} from './scales.js';

const COLORS = { train: '#1f77b4', valid: '#ff7f0e', accent: '#d62728', mom: '#2ca02c' } as const;

/** The x and y axis lines, as matplotlib draws them; the grid does the rest. */
function axisLines(): Markish[] {
  const { frame } = observablePlot();
  return [frame({ anchor: 'bottom', stroke: '#888' }), frame({ anchor: 'left', stroke: '#888' })];
}

function omittedNote(dropped: number): string | undefined {
  if (dropped === 0) return undefined;
  return `${dropped} non-finite value${dropped === 1 ? '' : 's'} (NaN or infinite) left out`;
}

const SINGLE_HEIGHT = 370;

/** An empty frame with labelled axes: a plot asked for before any data is a normal moment, not an error. */
function emptyChart(title: string, xTitle: string, yTitle: string): Plot {
  const text = `${title} — no data yet`;
  // Ticks on a made-up [0, 1] domain would read as data; the frame and axis titles are enough.
  const panel: Panel = {
    height: SINGLE_HEIGHT,
    options: { x: blankScale(xTitle), y: blankScale(yTitle), marks: [observablePlot().frame({ stroke: '#888' })] },
  };
  return new Plot(compose(text, [], [panel]), text);
}

const LINE_WIDTH = 1.8;
const DOT_RADIUS = 3.5;
/** Keeps dots at the ends of a scale off the axis lines. */
const DOT_INSET = 8;

function seriesMarks(points: readonly PlotPoint[], color: string, dots: boolean): Markish[] {
  const { dot, line } = observablePlot();
  const marks: Markish[] = [line(points, { x: 'x', y: 'y', stroke: color, strokeWidth: LINE_WIDTH })];
  // A line through one point draws nothing: a lone point is drawn as a dot.
  if (dots || points.length === 1) marks.push(dot(points, { x: 'x', y: 'y', fill: color, r: DOT_RADIUS }));
  return marks;
}

/** The legend of a train/valid chart, listing only the series that have points to show. */
function trainValidLegend(train: readonly PlotPoint[], valid: readonly PlotPoint[], trainDots: boolean): LegendItem[] {
  const items: LegendItem[] = [];
  if (train.length > 0) items.push({ label: 'train', color: COLORS.train, dots: trainDots });
  if (valid.length > 0) items.push({ label: 'valid', color: COLORS.valid, dots: true });
  return items;
}

/**
 * Smoothed training loss per batch and the validation loss at each epoch end, against batches
 * processed (fastai's `plot_loss`).
 */
export function renderLossPlot(d: { losses: readonly number[]; validLosses: readonly { step: number; loss: number }[] }): Plot {
  const title = 'Loss';
  const train = downsampleLine(d.losses);
  const valid = downsampleLine(
    d.validLosses.map((v) => v.loss),
    (i) => d.validLosses[i]?.step ?? Number.NaN,
    Number.POSITIVE_INFINITY,
  );
  if (train.points.length === 0 && valid.points.length === 0) return emptyChart(title, 'batches processed', 'loss');
  const panel: Panel = {
    height: SINGLE_HEIGHT,
    options: {
      x: batchScale(train.points, valid.points),
      y: yScale('loss', train.points, valid.points),
      marks: [...axisLines(), ...seriesMarks(train.points, COLORS.train, false), ...seriesMarks(valid.points, COLORS.valid, true)],
    },
  };
  const key = trainValidLegend(train.points, valid.points, false);
  return new Plot(compose(title, [omittedNote(train.dropped + valid.dropped)], [panel], key), title);
}

function linePanel(points: PlotPoint[], yTitle: string, height: number, color: string): Panel {
  const maxAbs = points.reduce((m, p) => Math.max(m, Math.abs(p.y)), 0);
  const small = maxAbs > 0 && maxAbs < 1e-3;
  return {
    height,
    options: {
      x: batchScale(points),
      y: { ...yScale(yTitle, points), ...(small ? { tickFormat: formatSmall } : {}) },
      marks: [...axisLines(), ...seriesMarks(points, color, false)],
    },
  };
}

/** Learning rate per training batch, and momentum below it when the optimizer has one. */
export function renderLrPlot(d: { lrs: readonly number[]; moms: readonly number[] }): Plot {
  const lr = downsampleLine(d.lrs);
  const mom = downsampleLine(d.moms);
  const hasMom = mom.points.some((p) => p.y !== 0);
  const title = hasMom ? 'Learning rate and momentum' : 'Learning rate';
  if (lr.points.length === 0 && !hasMom) return emptyChart('Learning rate', 'batches processed', 'learning rate');
  const panels: Panel[] = [linePanel(lr.points, 'learning rate', hasMom ? 290 : SINGLE_HEIGHT, COLORS.train)];
  if (hasMom) panels.push(linePanel(mom.points, 'momentum', 200, COLORS.mom));
  return new Plot(compose(title, [omittedNote(lr.dropped + (hasMom ? mom.dropped : 0))], panels), title);
}

/**
 * Per epoch: training and validation loss, then one panel for each validation metric (fastai's
 * `plot_metrics`). Each metric has its own panel because metrics rarely share a scale.
 */
export function renderMetricsPlot(d: { history: readonly EpochStats[]; metricNames: readonly string[] }): Plot {
  const title = 'Metrics';
  if (d.history.length === 0) return emptyChart(title, 'epoch', 'value');
  const epochAt = (i: number) => d.history[i]?.epoch ?? Number.NaN;
  const train = downsampleLine(
    d.history.map((s) => s.trainLoss),
    epochAt,
    Number.POSITIVE_INFINITY,
  );
  const valid = downsampleLine(
    d.history.map((s) => s.validLoss),
    epochAt,
    Number.POSITIVE_INFINITY,
  );
  let dropped = train.dropped + valid.dropped;
  const epochs = d.history.map((s) => s.epoch);
  const first = Math.min(...epochs);
  const last = Math.max(...epochs);
  // One epoch sits in the middle of a one-epoch-wide axis; more span the axis, inset for the dots.
  const x: ScaleOptions = {
    ...axisLabel('epoch'),
    domain: first === last ? [first - 0.5, last + 0.5] : [first, last],
    ticks: integerTicks(first, last),
    tickFormat: formatCount,
    inset: DOT_INSET,
  };
  const noLoss = train.points.length === 0 && valid.points.length === 0;
  const panels: Panel[] = [
    {
      title: noLoss ? 'loss — no data yet' : 'loss',
      legend: trainValidLegend(train.points, valid.points, true),
      height: 230,
      options: {
        x,
        y: noLoss ? blankScale('loss') : { ...yScale('loss', train.points, valid.points), inset: DOT_INSET },
        marks: [...axisLines(), ...seriesMarks(train.points, COLORS.train, true), ...seriesMarks(valid.points, COLORS.valid, true)],
      },
    },
  ];
  for (const name of d.metricNames) {
    const m = downsampleLine(
      d.history.map((s) => s.metrics[name] ?? Number.NaN),
      epochAt,
      Number.POSITIVE_INFINITY,
    );
    dropped += m.dropped;
    const empty = m.points.length === 0;
    panels.push({
      title: empty ? `${name} — no data yet` : name,
      height: 190,
      options: {
        x,
        y: empty ? blankScale(name) : { ...yScale(name, m.points), inset: DOT_INSET },
        marks: [...axisLines(), ...seriesMarks(m.points, COLORS.mom, true)],
      },
    });
  }
  return new Plot(compose(title, [omittedNote(dropped)], panels), title);
}

/**
 * The LR finder's sweep: smoothed loss against learning rate on a log axis, with the suggested
 * learning rate marked and labelled.
 */
export function renderLrFindPlot(d: { lrs: readonly number[]; losses: readonly number[]; suggestedLr: number }): Plot {
  const title = 'Learning rate finder';
  // A log axis has no place for lr <= 0: such points are dropped like non-finite ones.
  const line = downsampleLine(d.losses, (i) => {
    const lr = d.lrs[i];
    return lr !== undefined && lr > 0 ? lr : Number.NaN;
  });
  if (line.points.length === 0) return emptyChart(title, 'learning rate (log scale)', 'loss');
  const suggested = Number.isFinite(d.suggestedLr) && d.suggestedLr > 0 ? d.suggestedLr : undefined;
  let [lo, hi] = extent('x', line.points);
  if (suggested !== undefined) {
    lo = Math.min(lo, suggested);
    hi = Math.max(hi, suggested);
  }
  // One tick per decade, labelled 1e-5 rather than 0.00001.
  const decades: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) decades.push(10 ** e);
  const x: ScaleOptions =
    decades.length >= 3
      ? { ticks: decades, tickFormat: (v: number) => v.toExponential(0).replace('e+', 'e') }
      : { ticks: 5, tickFormat: lrTickLabel };
  const marks: Markish[] = [...axisLines(), ...seriesMarks(line.points, COLORS.train, false)];
  if (suggested !== undefined) {
    // Mark the suggestion on the curve: the sweep point nearest to it on the log axis.
    let near = line.points[0] as PlotPoint;
    for (const p of line.points) {
      if (Math.abs(Math.log(p.x / suggested)) < Math.abs(Math.log(near.x / suggested))) near = p;
    }
    // Keep the label inside the plot: to the left of the mark when the mark is in the right part.
    const rightSide = Math.log(suggested / lo) > 0.7 * Math.log(hi / lo);
    const at = [{ x: suggested, y: near.y, label: `suggested ${lrTickLabel(suggested)}` }];
    const { dot, ruleX, text } = observablePlot();
    marks.push(
      ruleX(at, { x: 'x', stroke: COLORS.accent, strokeDasharray: '6,4', strokeWidth: 1.5 }),
      dot(at, { x: 'x', y: 'y', fill: COLORS.accent, r: 5 }),
      text(at, {
        x: 'x',
        y: 'y',
        text: 'label',
        fill: COLORS.accent,
        fontSize: 13,
        fontWeight: 'bold',
        textAnchor: rightSide ? 'end' : 'start',
        dx: rightSide ? -9 : 9,
        dy: -13,
        // A white halo keeps the label readable where it crosses the grid or the curve.
        stroke: 'white',
        strokeWidth: 4,
      }),
    );
  }
  const panel: Panel = {
    height: SINGLE_HEIGHT,
    options: {
      x: {
        ...axisLabel('learning rate (log scale)'),
        type: 'log',
        domain: [decades[0] ?? lo, decades[decades.length - 1] ?? hi],
        grid: true,
        ...x,
      },
      y: yScale('loss', line.points),
      marks,
    },
  };
  const subtitle = [suggested === undefined ? 'no suggestion' : `suggested lr ${lrTickLabel(suggested)}`, omittedNote(line.dropped)];
  return new Plot(compose(title, subtitle, [panel]), title);
}
