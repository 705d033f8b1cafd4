/**
 * The Recorder's charts: drawn synchronously by Observable Plot into a server-side DOM (linkedom),
 * composed into one standalone SVG document (title, legend and panels are all SVG, so any SVG
 * renderer draws them), and rasterised by resvg with the shipped DejaVu Sans.
 */
import { createRequire } from 'node:module';
import { dot, frame, line as lineMark, type Markish, plot as observablePlot, type PlotOptions, ruleX, text } from '@observablehq/plot';
import { type ResvgRenderOptions, renderAsync } from '@resvg/resvg-js';
import { parseHTML } from 'linkedom';
import type { EpochStats } from './state.js';

/** The family the shipped font declares; the SVG names it so resvg finds it with system fonts off. */
const FONT_FAMILY = 'DejaVu Sans';
const FONT_FILES = ['dejavu-fonts-ttf/ttf/DejaVuSans.ttf', 'dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf'];

/** Lines longer than this are thinned: more points than pixels only bloat the SVG and the PNG. */
export const MAX_LINE_POINTS = 2000;
const MAX_PNG_WIDTH = 8000;

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Outer width of every chart; each panel spans it, its plot area inset by the margins below. */
const WIDTH = 800;
/** Left edge of the title, subtitle and panel titles. */
const PAD = 12;
/** Plot-area margins of every panel; the left one grows to fit the y tick labels (`marginFor`). */
const MARGIN = { left: 66, right: 30, top: 10, bottom: 42 } as const;
/** Plain text and axis text; tick labels are `TICK_FONT_SIZE`. */
const FONT_SIZE = 13;
const TICK_FONT_SIZE = 12;
const TEXT_COLOR = '#222';

const COLORS = { train: '#1f77b4', valid: '#ff7f0e', accent: '#d62728', mom: '#2ca02c' } as const;

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
   * The chart as a PNG, `width` pixels wide (default: the SVG's own width, 800 px) with
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

// ---------------------------------------------------------------------------------------------
// The server-side DOM. The project compiles without the DOM lib, so the little of it used here is
// typed by hand.

interface DomElement {
  readonly tagName: string;
  readonly outerHTML: string;
  readonly children: ArrayLike<DomElement>;
  textContent: string | null;
  setAttribute(name: string, value: string): void;
  getAttribute(name: string): string | null;
  removeAttribute(name: string): void;
  appendChild(child: DomElement): DomElement;
  remove(): void;
}

interface DomDocument {
  createElementNS(ns: string, tag: string): DomElement;
}

let dom: DomDocument | undefined;
function domDocument(): DomDocument {
  // One document serves every chart: Plot only creates detached elements in it.
  dom ??= parseHTML('<!doctype html><html><head></head><body></body></html>').document as unknown as DomDocument;
  return dom;
}

function svgEl(tag: string, attrs: Record<string, string | number>, content?: string): DomElement {
  const el = domDocument().createElementNS(SVG_NS, tag);
  // linkedom lists the attributes set last first: set in reverse, they print in the order written.
  for (const [k, v] of Object.entries(attrs).reverse()) el.setAttribute(k, String(v));
  if (content !== undefined) el.textContent = content;
  return el;
}

/** Advance widths of DejaVu Sans, in em, for the characters of numbers; others count as 0.62 em. */
const CHAR_EM: Record<string, number> = { '.': 0.318, ',': 0.318, '-': 0.361, '\u2212': 0.838, e: 0.615, ' ': 0.318 };
for (const d of '0123456789') CHAR_EM[d] = 0.636;

/** Estimated width of text in DejaVu Sans, for laying out legends and margins. */
function textWidth(s: string, fontSize: number): number {
  let em = 0;
  for (const c of s) em += CHAR_EM[c] ?? 0.62;
  return em * fontSize;
}

// ---------------------------------------------------------------------------------------------
// Layout: a header (title, subtitle lines, legend), then panels stacked vertically.

interface LegendItem {
  label: string;
  color: string;
  /** Draw a dot on the swatch: the series is drawn with dots. */
  dots?: boolean;
}

interface Panel {
  /** Plot's options for this panel: scales and marks; size and margins are filled in. */
  options: PlotOptions;
  /** Plot-area height plus the margins. */
  height: number;
  /** A title above the panel, aligned with its plot area. */
  title?: string;
  /** A legend at the right of the panel's title row. */
  legend?: readonly LegendItem[];
}

const TITLE_SIZE = 17;
const SUBTITLE_SIZE = 12;
const PANEL_TITLE_SIZE = 14;
const PANEL_GAP = 14;

/** A legend row whose right end is at `right`, text baseline at `y`. */
function legend(items: readonly LegendItem[], right: number, y: number): DomElement {
  const g = svgEl('g', { 'font-size': FONT_SIZE });
  const swatch = 22;
  const widths = items.map((it) => swatch + 6 + textWidth(it.label, FONT_SIZE));
  let x = right - widths.reduce((a, b) => a + b, 0) - 18 * (items.length - 1);
  items.forEach((it, i) => {
    const cy = y - FONT_SIZE * 0.35;
    g.appendChild(svgEl('line', { x1: x, x2: x + swatch, y1: cy, y2: cy, stroke: it.color, 'stroke-width': 3 }));
    if (it.dots) g.appendChild(svgEl('circle', { cx: x + swatch / 2, cy, r: 3.5, fill: it.color }));
    g.appendChild(svgEl('text', { x: x + swatch + 6, y }, it.label));
    x += (widths[i] ?? 0) + 18;
  });
  return g;
}

/** Draws one panel with Plot and tidies its SVG for nesting: no stylesheet, no class, our fonts. */
function drawPanel(panel: Panel, marginLeft: number): DomElement {
  const el = observablePlot({
    ...panel.options,
    // The y axis title sits at the left edge, in line with the chart title.
    y: { ...panel.options.y, labelOffset: marginLeft - PAD },
    document: domDocument() as unknown as PlotOptions['document'],
    width: WIDTH,
    height: panel.height,
    marginLeft,
    marginRight: MARGIN.right,
    marginTop: MARGIN.top,
    marginBottom: MARGIN.bottom,
  }) as unknown as DomElement;
  // Plot wraps the svg in a <figure> only for a title, caption or legend, none of which is asked for.
  if (el.tagName.toLowerCase() !== 'svg') throw new Error(`plot: expected Plot to return an <svg>, got <${el.tagName}>`);
  for (const child of Array.from(el.children)) {
    const tag = child.tagName.toLowerCase();
    if (tag === 'style') child.remove();
    else if (tag === 'g' && /axis label$/.test(child.getAttribute('aria-label') ?? '')) child.setAttribute('font-size', String(FONT_SIZE));
  }
  el.removeAttribute('class');
  el.removeAttribute('font-family');
  el.setAttribute('font-size', String(TICK_FONT_SIZE));
  return el;
}

/**
 * The left margin the panels' y tick labels need: the axis title, a gap, the widest label, the
 * tick. Plot does not measure text, so the labels it drew are measured here with DejaVu's widths.
 */
function marginFor(panels: readonly DomElement[]): number {
  let widest = 0;
  for (const el of panels) {
    for (const g of Array.from(el.children)) {
      if (g.getAttribute('aria-label') !== 'y-axis tick label') continue;
      for (const t of Array.from(g.children)) widest = Math.max(widest, textWidth(t.textContent ?? '', TICK_FONT_SIZE));
    }
  }
  return Math.max(MARGIN.left, Math.ceil(PAD + FONT_SIZE + 10 + widest + 9));
}

function compose(
  title: string,
  subtitle: readonly (string | undefined)[],
  panels: readonly Panel[],
  headerLegend?: readonly LegendItem[],
): string {
  let marginLeft: number = MARGIN.left;
  let drawn = panels.map((p) => drawPanel(p, marginLeft));
  const needed = marginFor(drawn);
  if (needed > marginLeft) {
    // Drawn again rather than shifted: Plot then picks the x ticks for the narrower plot area.
    marginLeft = needed;
    drawn = panels.map((p) => drawPanel(p, marginLeft));
  }
  const parts: DomElement[] = [svgEl('rect', { width: '100%', height: '100%', fill: 'white' })];
  let y = PAD + TITLE_SIZE;
  parts.push(svgEl('text', { x: PAD, y, 'font-size': TITLE_SIZE, 'font-weight': 'bold' }, title));
  if (headerLegend && headerLegend.length > 0) parts.push(legend(headerLegend, WIDTH - MARGIN.right, y));
  for (const line of subtitle) {
    if (line === undefined || line === '') continue;
    y += SUBTITLE_SIZE + 6;
    parts.push(svgEl('text', { x: PAD, y, 'font-size': SUBTITLE_SIZE, fill: '#555' }, line));
  }
  y += 8;
  panels.forEach((panel, i) => {
    if (i > 0) y += PANEL_GAP;
    if (panel.title !== undefined) {
      y += PANEL_TITLE_SIZE + 8;
      parts.push(svgEl('text', { x: marginLeft, y, 'font-size': PANEL_TITLE_SIZE, 'font-weight': 'bold' }, panel.title));
      if (panel.legend && panel.legend.length > 0) parts.push(legend(panel.legend, WIDTH - MARGIN.right, y));
      // Clear of the top tick label, which is centred on the plot area's top edge.
      y += 6;
    }
    const el = drawn[i] as DomElement;
    el.setAttribute('y', String(y));
    el.setAttribute('x', '0');
    parts.push(el);
    y += panel.height;
  });
  const height = Math.ceil(y + 8);
  const root = svgEl('svg', {
    xmlns: SVG_NS,
    width: WIDTH,
    height,
    viewBox: `0 0 ${WIDTH} ${height}`,
    'font-family': FONT_FAMILY,
    'font-size': FONT_SIZE,
    color: TEXT_COLOR,
    fill: 'currentColor',
  });
  for (const part of parts) root.appendChild(part);
  return root.outerHTML;
}

// ---------------------------------------------------------------------------------------------
// Data.

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

type ScaleOptions = NonNullable<PlotOptions['y']>;

/**
 * A y scale fitted to the data, not to zero (losses and metrics live far from it), with round
 * ends. A flat series (one epoch, a constant lr) gets a band around its value instead of a
 * zero-height domain.
 */
function yScale(label: string, ...series: readonly PlotPoint[][]): ScaleOptions {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const points of series) {
    for (const p of points) {
      lo = Math.min(lo, p.y);
      hi = Math.max(hi, p.y);
    }
  }
  const base = { ...axisLabel(label), grid: true, nice: true, zero: false };
  if (lo !== hi) return base;
  const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
  return { ...base, domain: [lo - pad, hi + pad] };
}

/** An axis title set along the axis, centred, with no arrow. */
function axisLabel(label: string): ScaleOptions {
  return { label, labelAnchor: 'center', labelArrow: 'none' };
}

/** A frame with ticks and axis titles but no tick labels: for a panel with no data yet. */
function blankScale(label: string): ScaleOptions {
  return { ...axisLabel(label), domain: [0, 1], ticks: [] };
}

/** The x and y axis lines, as matplotlib draws them; the grid does the rest. */
const AXIS_LINES: Markish[] = [frame({ anchor: 'bottom', stroke: '#888' }), frame({ anchor: 'left', stroke: '#888' })];

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
    options: { x: blankScale(xTitle), y: blankScale(yTitle), marks: [frame({ stroke: '#888' })] },
  };
  return new Plot(compose(text, [], [panel]), text);
}

const LINE_WIDTH = 1.8;
const DOT_RADIUS = 3.5;
/** Keeps dots at the ends of a scale off the axis lines. */
const DOT_INSET = 8;

function seriesMarks(points: readonly PlotPoint[], color: string, dots: boolean): Markish[] {
  const marks: Markish[] = [lineMark(points, { x: 'x', y: 'y', stroke: color, strokeWidth: LINE_WIDTH })];
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

/** A 'batches processed' axis: whole-number ticks, and a visible span for a single batch. */
function batchScale(...series: readonly PlotPoint[][]): ScaleOptions {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const points of series) {
    for (const p of points) {
      lo = Math.min(lo, p.x);
      hi = Math.max(hi, p.x);
    }
  }
  const base: ScaleOptions = { ...axisLabel('batches processed'), nice: true };
  const whole = { tickFormat: formatCount };
  if (!(hi >= lo)) return base;
  if (lo === hi) return { ...base, ...whole, nice: false, domain: [lo - 1, hi + 1], ticks: [lo - 1, lo, hi + 1] };
  return hi - lo < 10 ? { ...base, ...whole, ticks: integerTicks(Math.floor(lo), Math.ceil(hi)) } : base;
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
      marks: [...AXIS_LINES, ...seriesMarks(train.points, COLORS.train, false), ...seriesMarks(valid.points, COLORS.valid, true)],
    },
  };
  const key = trainValidLegend(train.points, valid.points, false);
  return new Plot(compose(title, [omittedNote(train.dropped + valid.dropped)], [panel], key), title);
}

/** `2.5e-5` (not `0.000025`), trailing zeros dropped; 0 stays `0`. */
function formatSmall(v: number): string {
  if (v === 0) return '0';
  const [mantissa = '', exponent = '0'] = v.toExponential(2).split('e');
  return `${mantissa.replace(/\.?0+$/, '')}e${Number(exponent)}`;
}

function linePanel(points: PlotPoint[], yTitle: string, height: number, color: string): Panel {
  const maxAbs = points.reduce((m, p) => Math.max(m, Math.abs(p.y)), 0);
  const small = maxAbs > 0 && maxAbs < 1e-3;
  return {
    height,
    options: {
      x: batchScale(points),
      y: { ...yScale(yTitle, points), ...(small ? { tickFormat: formatSmall } : {}) },
      marks: [...AXIS_LINES, ...seriesMarks(points, color, false)],
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

/** `1,000`, as Plot writes counts; without it, Plot writes the ticks of a short axis as `1.0`. */
function formatCount(v: number): string {
  return v.toLocaleString('en-US');
}

/** At most about ten whole-number ticks from `lo` to `hi`: an axis reading "epoch 0.5" has no meaning. */
function integerTicks(lo: number, hi: number): number[] {
  let step = 1;
  // 1, 2, 5, 10, 20, 50, ...
  for (let k = 1; (hi - lo) / step > 10; k++) step = ([1, 2, 5][k % 3] as number) * 10 ** Math.floor(k / 3);
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) ticks.push(t);
  return ticks;
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
        marks: [...AXIS_LINES, ...seriesMarks(train.points, COLORS.train, true), ...seriesMarks(valid.points, COLORS.valid, true)],
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
        marks: [...AXIS_LINES, ...seriesMarks(m.points, COLORS.mom, true)],
      },
    });
  }
  return new Plot(compose(title, [omittedNote(dropped)], panels), title);
}

/** An lr axis label, `3.0e-3`: one significant decimal, so tick labels line up. */
export function lrTickLabel(lr: number): string {
  return lr.toExponential(1).replace('e+', 'e');
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
  // One tick per decade, labelled 1e-5 rather than 0.00001.
  const decades: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) decades.push(10 ** e);
  const x: ScaleOptions =
    decades.length >= 3
      ? { ticks: decades, tickFormat: (v: number) => v.toExponential(0).replace('e+', 'e') }
      : { ticks: 5, tickFormat: lrTickLabel };
  const marks: Markish[] = [...AXIS_LINES, ...seriesMarks(line.points, COLORS.train, false)];
  if (suggested !== undefined) {
    // Mark the suggestion on the curve: the sweep point nearest to it on the log axis.
    let near = line.points[0] as PlotPoint;
    for (const p of line.points) {
      if (Math.abs(Math.log(p.x / suggested)) < Math.abs(Math.log(near.x / suggested))) near = p;
    }
    // Keep the label inside the plot: to the left of the mark when the mark is in the right part.
    const rightSide = Math.log(suggested / lo) > 0.7 * Math.log(hi / lo);
    const at = [{ x: suggested, y: near.y, label: `suggested ${lrTickLabel(suggested)}` }];
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
