/**
 * Chart layout: a header (title, subtitle lines, legend), then panels stacked vertically, each
 * drawn by Observable Plot and composed into one standalone SVG document (title, legend and
 * panels are all SVG, so any SVG renderer draws them).
 */
import type { PlotOptions } from '@observablehq/plot';
import { type DomElement, domDocument, FONT_FAMILY, observablePlot, SVG_NS, svgEl } from './libraries.js';

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

/** Advance widths of DejaVu Sans, in em, for the characters of numbers; others count as 0.62 em. */
const CHAR_EM: Record<string, number> = { '.': 0.318, ',': 0.318, '-': 0.361, '\u2212': 0.838, e: 0.615, ' ': 0.318 };
for (const d of '0123456789') CHAR_EM[d] = 0.636;

/** Estimated width of text in DejaVu Sans, for laying out legends and margins. */
function textWidth(s: string, fontSize: number): number {
  let em = 0;
  for (const c of s) em += CHAR_EM[c] ?? 0.62;
  return em * fontSize;
}

export interface LegendItem {
  label: string;
  color: string;
  /** Draw a dot on the swatch: the series is drawn with dots. */
  dots?: boolean;
}

export interface Panel {
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
  const el = observablePlot().plot({
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

export function compose(
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
