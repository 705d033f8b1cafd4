/**
 * The Recorder's charts: vega-lite specs compiled and rendered by vega to SVG, rasterised by resvg.
 *
 * The render functions are async because vega's only public headless SVG path
 * (`View.toSVG()`) is: its dataflow evaluation is an async function, and pulling a scenegraph out
 * synchronously would lean on vega internals that happen not to await for inline data today.
 */
import { createRequire } from 'node:module';
import { type ResvgRenderOptions, renderAsync } from '@resvg/resvg-js';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { EpochStats } from './state.js';

/** The family the shipped font declares; the SVG names it so resvg finds it with system fonts off. */
const FONT_FAMILY = 'DejaVu Sans';
const FONT_FILES = ['dejavu-fonts-ttf/ttf/DejaVuSans.ttf', 'dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf'];

/** Lines longer than this are thinned: more points than pixels only bloat the SVG and the PNG. */
export const MAX_LINE_POINTS = 2000;
const MAX_PNG_WIDTH = 8000;

/** Outer size of a single chart, padding, axes, title and legend included. */
const WIDTH = 800;
const HEIGHT = 420;
/** Plot-area width of each panel of a stacked (vconcat) chart: vega-lite cannot `fit` those. */
const PANEL_WIDTH = 680;

const COLORS = { train: '#1f77b4', valid: '#ff7f0e', accent: '#d62728', mom: '#2ca02c' } as const;

/** vega-util's `Error` level: vega's warnings (e.g. about an empty domain) are not the caller's business. */
const VEGA_LOG_ERROR = 1;

let fontFiles: string[] | undefined;
function resolveFonts(): string[] {
  // Resolved on first use, from the installed package, so no system font is ever needed.
  fontFiles ??= FONT_FILES.map((f) => createRequire(import.meta.url).resolve(f));
  return fontFiles;
}

/** A rendered chart: the SVG, and a PNG on demand. */
export class Plot {
  constructor(
    /** A standalone SVG document; its text is set in DejaVu Sans. */
    readonly svg: string,
    /** The chart's title, e.g. for a caption or an alt text. */
    readonly title: string,
  ) {}

  /**
   * The chart as a PNG, `width` pixels wide (default: the SVG's own width, about 800 px) with
   * the aspect ratio kept. Rasterised off the main thread, with the fonts shipped in the
   * `dejavu-fonts-ttf` package only, so text is drawn the same on a machine without fonts.
   */
  async png(options: { width?: number } = {}): Promise<Uint8Array> {
    const { width } = options;
    if (width !== undefined && !(Number.isInteger(width) && width > 0 && width <= MAX_PNG_WIDTH)) {
      throw new RangeError(`Plot.png: width must be an integer from 1 to ${MAX_PNG_WIDTH}, got ${width}`);
    }
    const opts: ResvgRenderOptions = {
      font: {
        loadSystemFonts: false,
        fontFiles: resolveFonts(),
        defaultFontFamily: FONT_FAMILY,
        sansSerifFamily: FONT_FAMILY,
      },
      fitTo: width === undefined ? { mode: 'original' } : { mode: 'width', value: width },
      background: 'white',
    };
    const image = await renderAsync(this.svg, opts);
    return image.asPng();
  }
}

const BASE_CONFIG = {
  font: FONT_FAMILY,
  background: 'white',
  padding: 12,
  title: { fontSize: 17, subtitleFontSize: 12, subtitleColor: '#555', anchor: 'start', offset: 10 },
  axis: { labelFontSize: 12, titleFontSize: 13, titleFontWeight: 'normal', gridColor: '#e6e6e6' },
  // Lines, not dots, in the legend: every series here is drawn as a line.
  legend: { labelFontSize: 13, titleFontSize: 12, symbolType: 'stroke', symbolStrokeWidth: 3, symbolSize: 300 },
  line: { strokeWidth: 1.8 },
} as const;

async function render(spec: TopLevelSpec, title: string): Promise<Plot> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none', logLevel: VEGA_LOG_ERROR });
  try {
    return new Plot(await view.toSVG(), title);
  } finally {
    view.finalize();
  }
}

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

/**
 * A y scale fitted to the data, not to zero (losses and metrics live far from it). A flat series
 * (one epoch, a constant lr) gets a band around its value: vega would otherwise draw a
 * zero-height domain with labels like "0.700000".
 */
function yScale(...series: readonly PlotPoint[][]): { zero: false } | { domain: number[] } {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const points of series) {
    for (const p of points) {
      lo = Math.min(lo, p.y);
      hi = Math.max(hi, p.y);
    }
  }
  if (lo !== hi) return { zero: false };
  const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
  return { domain: [lo - pad, hi + pad] };
}

function omittedNote(dropped: number): string | undefined {
  if (dropped === 0) return undefined;
  return `${dropped} non-finite value${dropped === 1 ? '' : 's'} (NaN or infinite) left out`;
}

function titleOf(text: string, subtitle: readonly (string | undefined)[] = []): { text: string; subtitle?: string[] } {
  const lines = subtitle.filter((s): s is string => s !== undefined && s !== '');
  return lines.length > 0 ? { text, subtitle: lines } : { text };
}

const NO_TICKS = { labels: false, ticks: false, grid: false } as const;

/** An empty frame with labelled axes: a plot asked for before any data is a normal moment, not an error. */
function emptyChart(title: string, xTitle: string, yTitle: string): Promise<Plot> {
  const text = `${title} — no data yet`;
  return render(
    {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      config: BASE_CONFIG,
      width: WIDTH,
      height: HEIGHT,
      autosize: { type: 'fit', contains: 'padding' },
      title: titleOf(text),
      data: { values: [] },
      mark: { type: 'point' },
      encoding: {
        // Ticks on a made-up [0, 1] domain would read as data; the frame and axis titles are enough.
        x: { field: 'x', type: 'quantitative', title: xTitle, scale: { domain: [0, 1] }, axis: NO_TICKS },
        y: { field: 'y', type: 'quantitative', title: yTitle, scale: { domain: [0, 1] }, axis: NO_TICKS },
      },
    },
    text,
  );
}

function seriesColor(domain: readonly string[], range: readonly string[]) {
  return { scale: { domain: [...domain], range: [...range] }, legend: { title: null, orient: 'right' as const } };
}

/**
 * Smoothed training loss per batch and the validation loss at each epoch end, against batches
 * processed (fastai's `plot_loss`).
 */
export function renderLossPlot(d: { losses: readonly number[]; validLosses: readonly { step: number; loss: number }[] }): Promise<Plot> {
  const title = 'Loss';
  const train = downsampleLine(d.losses);
  const valid = downsampleLine(
    d.validLosses.map((v) => v.loss),
    (i) => d.validLosses[i]?.step ?? Number.NaN,
    Number.POSITIVE_INFINITY,
  );
  if (train.points.length === 0 && valid.points.length === 0) return emptyChart(title, 'batches processed', 'loss');
  const color = seriesColor(['train', 'valid'], [COLORS.train, COLORS.valid]);
  const x = { field: 'x', type: 'quantitative', title: 'batches processed', axis: { tickMinStep: 1 } } as const;
  const y = { field: 'y', type: 'quantitative', title: 'loss', scale: yScale(train.points, valid.points) } as const;
  return render(
    {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      config: BASE_CONFIG,
      width: WIDTH,
      height: HEIGHT,
      autosize: { type: 'fit', contains: 'padding' },
      title: titleOf(title, [omittedNote(train.dropped + valid.dropped)]),
      layer: [
        {
          data: { values: train.points.map((p) => ({ ...p, series: 'train' })) },
          mark: { type: 'line', clip: true },
          encoding: { x, y, color: { field: 'series', type: 'nominal', ...color } },
        },
        {
          data: { values: valid.points.map((p) => ({ ...p, series: 'valid' })) },
          mark: { type: 'line', clip: true, point: { size: 50, filled: true } },
          encoding: { x, y, color: { field: 'series', type: 'nominal', ...color } },
        },
      ],
    },
    title,
  );
}

type VConcatSpec = Extract<TopLevelSpec, { vconcat: unknown }>;
type Panel = VConcatSpec['vconcat'][number];

/** A panel's own title, aligned with its plot area so stacked panels line up whatever their y labels. */
function panelTitle(text: string) {
  return { text, fontSize: 14, frame: 'group' as const };
}

/** Small lrs as `2.5e-5`: vega's default would print ticks like `0.0000250`. */
const SMALL_NUMBER_AXIS = {
  labelExpr: "datum.value === 0 ? '0' : replace(format(datum.value, '.2~e'), '+', '')",
} as const;

function linePanel(points: PlotPoint[], yTitle: string, height: number, color: string): Panel {
  const maxAbs = points.reduce((m, p) => Math.max(m, Math.abs(p.y)), 0);
  const small = maxAbs > 0 && maxAbs < 1e-3;
  return {
    width: PANEL_WIDTH,
    height,
    data: { values: points },
    mark: { type: 'line', color },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: 'batches processed', axis: { tickMinStep: 1 } },
      y: { field: 'y', type: 'quantitative', title: yTitle, scale: yScale(points), ...(small ? { axis: SMALL_NUMBER_AXIS } : {}) },
    },
  };
}

/** Learning rate per training batch, and momentum below it when the optimizer has one. */
export function renderLrPlot(d: { lrs: readonly number[]; moms: readonly number[] }): Promise<Plot> {
  const lr = downsampleLine(d.lrs);
  const mom = downsampleLine(d.moms);
  const hasMom = mom.points.some((p) => p.y !== 0);
  const title = hasMom ? 'Learning rate and momentum' : 'Learning rate';
  if (lr.points.length === 0 && !hasMom) return emptyChart('Learning rate', 'batches processed', 'learning rate');
  const panels: Panel[] = [linePanel(lr.points, 'learning rate', hasMom ? 240 : 330, COLORS.train)];
  if (hasMom) panels.push(linePanel(mom.points, 'momentum', 150, COLORS.mom));
  return render(
    {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      config: BASE_CONFIG,
      title: titleOf(title, [omittedNote(lr.dropped + (hasMom ? mom.dropped : 0))]),
      spacing: 24,
      vconcat: panels,
    },
    title,
  );
}

/**
 * Per epoch: training and validation loss, then one panel for each validation metric (fastai's
 * `plot_metrics`). Each metric has its own panel because metrics rarely share a scale.
 */
export function renderMetricsPlot(d: { history: readonly EpochStats[]; metricNames: readonly string[] }): Promise<Plot> {
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
  const epochDomain = [Math.min(...epochs), Math.max(...epochs)];
  // Integer ticks only: an axis reading "epoch 0.5" has no meaning.
  const x = { field: 'x', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } } as const;
  const color = seriesColor(['train', 'valid'], [COLORS.train, COLORS.valid]);
  const lossValues = [...train.points.map((p) => ({ ...p, series: 'train' })), ...valid.points.map((p) => ({ ...p, series: 'valid' }))];
  const noLoss = lossValues.length === 0;
  const panels: Panel[] = [
    {
      title: panelTitle(noLoss ? 'loss — no data yet' : 'loss'),
      width: PANEL_WIDTH,
      height: 200,
      data: { values: lossValues },
      mark: { type: 'line', point: { size: 50, filled: true } },
      encoding: {
        x: noLoss ? { ...x, scale: { domain: epochDomain } } : x,
        y: noLoss
          ? { field: 'y', type: 'quantitative', title: 'loss', scale: { domain: [0, 1] }, axis: NO_TICKS }
          : { field: 'y', type: 'quantitative', title: 'loss', scale: yScale(train.points, valid.points) },
        color: { field: 'series', type: 'nominal', ...color },
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
      title: panelTitle(empty ? `${name} — no data yet` : name),
      width: PANEL_WIDTH,
      height: 160,
      data: { values: m.points },
      mark: { type: 'line', color: COLORS.mom, point: { size: 50, filled: true, color: COLORS.mom } },
      encoding: {
        x: empty ? { ...x, scale: { domain: epochDomain } } : x,
        y: empty
          ? { field: 'y', type: 'quantitative', title: name, scale: { domain: [0, 1] }, axis: NO_TICKS }
          : { field: 'y', type: 'quantitative', title: name, scale: yScale(m.points) },
      },
    });
  }
  return render(
    {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      config: BASE_CONFIG,
      title: titleOf(title, [omittedNote(dropped)]),
      spacing: 24,
      vconcat: panels,
    },
    title,
  );
}

/** `3.0e-3`: the way lrs are written in fastai's output and in most papers. */
export function formatLr(lr: number): string {
  return lr.toExponential(1).replace('e+', 'e');
}

/**
 * The LR finder's sweep: smoothed loss against learning rate on a log axis, with the suggested
 * learning rate marked and labelled.
 */
export function renderLrFindPlot(d: { lrs: readonly number[]; losses: readonly number[]; suggestedLr: number }): Promise<Plot> {
  const title = 'Learning rate finder';
  // A log axis has no place for lr <= 0: such points are dropped like non-finite ones.
  const line = downsampleLine(d.losses, (i) => {
    const lr = d.lrs[i];
    return lr !== undefined && lr > 0 ? lr : Number.NaN;
  });
  if (line.points.length === 0) return emptyChart(title, 'learning rate (log scale)', 'loss');
  const suggested = Number.isFinite(d.suggestedLr) && d.suggestedLr > 0 ? d.suggestedLr : undefined;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const p of line.points) {
    lo = Math.min(lo, p.x);
    hi = Math.max(hi, p.x);
  }
  if (suggested !== undefined) {
    lo = Math.min(lo, suggested);
    hi = Math.max(hi, suggested);
  }
  // One tick per decade, labelled 1e-5 rather than 0.00001; vega's own log ticks crowd or go blank.
  const decades: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) decades.push(10 ** e);
  const axis =
    decades.length >= 3
      ? { values: decades, labelExpr: "replace(format(datum.value, '.0e'), '+', '')", grid: true }
      : { labelExpr: "replace(format(datum.value, '.1e'), '+', '')", grid: true };
  const domain = [decades[0] ?? lo, decades[decades.length - 1] ?? hi];
  const x = {
    field: 'x',
    type: 'quantitative',
    title: 'learning rate (log scale)',
    scale: { type: 'log', domain },
    axis,
  } as const;
  const y = { field: 'y', type: 'quantitative', title: 'loss', scale: yScale(line.points) } as const;

  const layers: Extract<TopLevelSpec, { layer: unknown }>['layer'] = [
    { data: { values: line.points }, mark: { type: 'line', color: COLORS.train }, encoding: { x, y } },
  ];
  if (suggested !== undefined) {
    // Mark the suggestion on the curve: the sweep point nearest to it on the log axis.
    let near = line.points[0] as PlotPoint;
    for (const p of line.points) {
      if (Math.abs(Math.log(p.x / suggested)) < Math.abs(Math.log(near.x / suggested))) near = p;
    }
    const label = `suggested ${formatLr(suggested)}`;
    // Keep the label inside the plot: to the left of the mark when the mark is in the right part.
    const rightSide = Math.log(suggested / lo) > 0.7 * Math.log(hi / lo);
    const at = [{ x: suggested, y: near.y, label }];
    layers.push(
      {
        data: { values: at },
        mark: { type: 'rule', color: COLORS.accent, strokeDash: [6, 4], strokeWidth: 1.5 },
        encoding: { x },
      },
      {
        data: { values: at },
        mark: { type: 'point', color: COLORS.accent, filled: true, size: 90 },
        encoding: { x, y },
      },
      {
        data: { values: at },
        mark: {
          type: 'text',
          color: COLORS.accent,
          fontSize: 13,
          fontWeight: 'bold',
          align: rightSide ? 'right' : 'left',
          dx: rightSide ? -8 : 8,
          dy: -12,
        },
        encoding: { x, y, text: { field: 'label', type: 'nominal' } },
      },
    );
  }
  return render(
    {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      config: BASE_CONFIG,
      width: WIDTH,
      height: HEIGHT,
      autosize: { type: 'fit', contains: 'padding' },
      title: titleOf(title, [suggested === undefined ? 'no suggestion' : `suggested lr ${formatLr(suggested)}`, omittedNote(line.dropped)]),
      layer: layers,
    },
    title,
  );
}
