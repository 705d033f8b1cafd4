import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { renderLossPlot, renderLrFindPlot, renderLrPlot, renderMetricsPlot } from '../src/plot/charts.js';
import { Plot } from '../src/plot/plot.js';
import { downsampleLine, lrTickLabel, MAX_LINE_POINTS } from '../src/plot/scales.js';
import { Recorder } from '../src/recorder.js';
import type { EpochStats } from '../src/state.js';

const OUT_DIR = fileURLToPath(new URL('../../../.test-output/plots/', import.meta.url));

/** Kept so a person can look at what the charts show (the folder is gitignored). */
async function save(name: string, plot: Plot): Promise<Uint8Array> {
  const png = await plot.png();
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(`${OUT_DIR}${name}.png`, png);
  writeFileSync(`${OUT_DIR}${name}.svg`, plot.svg);
  return png;
}

interface Image {
  width: number;
  height: number;
  /** RGBA, row-major. */
  rgba: Uint8Array;
}

/** Enough of a PNG decoder for resvg's output: 8-bit RGBA, not interlaced. */
function decodePng(png: Uint8Array): Image {
  const buf = Buffer.from(png);
  expect([...buf.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let off = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect({ bitDepth: data[8], colorType: data[9], interlace: data[12] }).toEqual({
        bitDepth: 8,
        colorType: 6,
        interlace: 0,
      });
    } else if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const bpp = 4;
  const stride = width * bpp;
  const rgba = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? (rgba[y * stride + x - bpp] ?? 0) : 0;
      const b = y > 0 ? (rgba[(y - 1) * stride + x] ?? 0) : 0;
      const c = x >= bpp && y > 0 ? (rgba[(y - 1) * stride + x - bpp] ?? 0) : 0;
      const v = line[x] ?? 0;
      let out: number;
      if (filter === 0) out = v;
      else if (filter === 1) out = v + a;
      else if (filter === 2) out = v + b;
      else if (filter === 3) out = v + ((a + b) >> 1);
      else {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        out = v + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      }
      rgba[y * stride + x] = out & 0xff;
    }
  }
  return { width, height, rgba };
}

/** Pixels in the box that are clearly darker than the white background. */
function darkPixels(img: Image, box: { x0: number; y0: number; x1: number; y1: number }): number {
  let n = 0;
  for (let y = box.y0; y < Math.min(box.y1, img.height); y++) {
    for (let x = box.x0; x < Math.min(box.x1, img.width); x++) {
      const i = (y * img.width + x) * 4;
      const lum = ((img.rgba[i] ?? 255) + (img.rgba[i + 1] ?? 255) + (img.rgba[i + 2] ?? 255)) / 3;
      if (lum < 128) n++;
    }
  }
  return n;
}

/** Geometry that a NaN or an infinity leaked into (text may say "NaN": the subtitle does). */
function badNumbers(svg: string): string[] {
  return [...svg.matchAll(/(?:d|transform|x|y|x2|y2)="[^"]*(?:NaN|Infinity)[^"]*"/g)].map((m) => m[0]);
}

/** A loss curve shaped like a real one: fast drop, slow decay, noise. */
function lossCurve(n: number): number[] {
  let seed = 7;
  const rand = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  return Array.from({ length: n }, (_, i) => 0.3 + 2 * Math.exp(-i / (n / 8)) + 0.05 * (rand() - 0.5));
}

function oneCycle(n: number, lrMax: number): { lrs: number[]; moms: number[] } {
  const up = Math.floor(n * 0.3);
  const lrs: number[] = [];
  const moms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = i < up ? i / up : (i - up) / (n - up);
    const cos = (a: number, b: number) => b + ((a - b) / 2) * (1 + Math.cos(Math.PI * t));
    lrs.push(i < up ? cos(lrMax / 25, lrMax) : cos(lrMax, lrMax / 25e4));
    moms.push(i < up ? cos(0.95, 0.85) : cos(0.85, 0.95));
  }
  return { lrs, moms };
}

function history(epochs: number): EpochStats[] {
  return Array.from({ length: epochs }, (_, epoch) => ({
    epoch,
    totalEpochs: epochs,
    trainLoss: 0.6 / (epoch + 1) + 0.1,
    validLoss: 0.5 / (epoch + 1) + 0.15,
    metrics: { accuracy: 0.8 + 0.15 * (1 - 1 / (epoch + 1)), error_rate: 0.2 - 0.15 * (1 - 1 / (epoch + 1)) },
    lr: 1e-3,
    timeMs: 12_000,
  }));
}

function lrFindSweep(): { lrs: number[]; losses: number[]; suggestedLr: number } {
  const lrs: number[] = [];
  const losses: number[] = [];
  for (let i = 0; i < 100; i++) {
    const lr = 1e-7 * 10 ** ((i / 99) * 7);
    lrs.push(lr);
    const x = Math.log10(lr);
    losses.push(2.3 - 1.6 / (1 + Math.exp(-(x + 3.5) * 2.5)) + (x > -1.2 ? (x + 1.2) ** 2 * 3 : 0));
  }
  return { lrs, losses, suggestedLr: 3e-3 };
}

const trainValid = (n: number, epochs: number) => ({
  losses: lossCurve(n),
  validLosses: Array.from({ length: epochs }, (_, e) => ({
    step: Math.round(((e + 1) * n) / epochs),
    loss: 0.45 + 1.2 / (e + 2),
  })),
});

describe('renderLossPlot', () => {
  it('labels the axes, titles the chart and has a train/valid legend', async () => {
    const plot = renderLossPlot(trainValid(1200, 4));
    // Synchronous: a Plot, not a promise of one, whose svg is already a string.
    expect(plot).toBeInstanceOf(Plot);
    expect(typeof plot.svg).toBe('string');
    expect(plot.title).toBe('Loss');
    for (const text of ['Loss', 'batches processed', '>loss<', '>train<', '>valid<']) expect(plot.svg).toContain(text);
    // The SVG names the font that png() loads, so text never falls back to a missing system font.
    expect(plot.svg).toContain('font-family="DejaVu Sans"');
    await save('loss', plot);
  });

  it('is one standalone SVG document: no HTML wrapper, no stylesheet, no system font', () => {
    const { svg } = renderLossPlot(trainValid(300, 3));
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="800"')).toBe(true);
    expect(svg.endsWith('</svg>')).toBe(true);
    for (const bad of ['<figure', '<div', '<style', '<foreignObject', 'system-ui', 'class="plot-']) expect(svg).not.toContain(bad);
  });

  it('draws a single batch as a dot on a whole-number axis', async () => {
    const plot = renderLossPlot({ losses: [0.5], validLosses: [] });
    expect(plot.svg).toContain('<circle');
    for (const tick of ['>0<', '>1<', '>2<']) expect(plot.svg).toContain(tick);
    expect(plot.svg).not.toContain('>1.0<');
    // Only the series that are drawn are in the legend.
    expect(plot.svg).toContain('>train<');
    expect(plot.svg).not.toContain('>valid<');
    await save('loss-1-batch', plot);
  });

  it('renders a PNG of about 800 px, or the width asked for', async () => {
    const plot = renderLossPlot(trainValid(300, 3));
    const img = decodePng(await plot.png());
    expect(img.width).toBeGreaterThanOrEqual(780);
    expect(img.width).toBeLessThanOrEqual(820);
    expect(img.height).toBeGreaterThan(300);
    expect(img.height).toBeLessThan(img.width);
    const small = decodePng(await plot.png({ width: 400 }));
    expect(small.width).toBe(400);
    expect(Math.abs(small.height - img.height / 2)).toBeLessThanOrEqual(1);
    await expect(plot.png({ width: 0 })).rejects.toThrow(RangeError);
  });

  it('renders the PNG once per width: a retried send gets the same bytes without drawing again', async () => {
    const plot = renderLossPlot(trainValid(300, 3));
    // Two sends at once (two notifiers) and a later retry share one render.
    const [first, concurrent] = await Promise.all([plot.png(), plot.png()]);
    expect(concurrent).toBe(first);
    expect(await plot.png()).toBe(first);
    // Another width is another image, rendered once too; the first is still kept.
    const small = await plot.png({ width: 400 });
    expect(small).not.toBe(first);
    expect(decodePng(small).width).toBe(400);
    expect(await plot.png({ width: 400 })).toBe(small);
    expect(await plot.png()).toBe(first);
    // Each Plot renders its own: a plot of other data is not served from this one's cache.
    const other = renderLossPlot(trainValid(300, 4));
    expect(Buffer.from(await other.png()).equals(Buffer.from(first))).toBe(false);
  });

  it('draws the text with the shipped font (title pixels vanish when the text is removed)', async () => {
    const plot = renderLossPlot(trainValid(300, 3));
    const titleBox = { x0: 0, y0: 0, x1: 200, y1: 40 };
    const withText = darkPixels(decodePng(await plot.png()), titleBox);
    const noText = new Plot(plot.svg.replace(/<text[^>]*>[^<]*<\/text>/g, ''), plot.title);
    const withoutText = darkPixels(decodePng(await noText.png()), titleBox);
    // "Loss" in bold 17 px is a few hundred dark pixels; without text that corner is blank.
    expect(withText).toBeGreaterThan(80);
    expect(withoutText).toBe(0);
    // The y axis title, rotated along the left edge.
    expect(darkPixels(decodePng(await plot.png()), { x0: 0, y0: 120, x1: 30, y1: 300 })).toBeGreaterThan(30);
    // Axis titles too: "batches processed" sits in the bottom band.
    const img = decodePng(await plot.png());
    expect(darkPixels(img, { x0: 200, y0: img.height - 30, x1: 600, y1: img.height })).toBeGreaterThan(100);
  });

  it('renders 100,000 batches quickly, into a small SVG and PNG', async () => {
    const data = trainValid(100_000, 20);
    const t0 = performance.now();
    const plot = renderLossPlot(data);
    const svgMs = performance.now() - t0;
    const t1 = performance.now();
    const png = await plot.png();
    const pngMs = performance.now() - t1;
    console.log(
      `100k losses: svg ${svgMs.toFixed(0)} ms, ${(plot.svg.length / 1024).toFixed(0)} KiB; png ${pngMs.toFixed(0)} ms, ${(png.length / 1024).toFixed(0)} KiB`,
    );
    expect(svgMs).toBeLessThan(2000);
    expect(pngMs).toBeLessThan(2000);
    expect(plot.svg.length).toBeLessThan(150_000);
    expect(png.length).toBeLessThan(250_000);
    await save('loss-100k', plot);
  });

  it('leaves NaN and infinite losses out of the line, and says so', async () => {
    const { losses, validLosses } = trainValid(500, 2);
    losses[0] = Number.NaN;
    losses[100] = Number.POSITIVE_INFINITY;
    losses[101] = Number.NEGATIVE_INFINITY;
    losses[499] = Number.NaN;
    const plot = renderLossPlot({ losses, validLosses: [...validLosses, { step: 600, loss: Number.NaN }] });
    expect(badNumbers(plot.svg)).toEqual([]);
    expect(plot.svg).toContain('5 non-finite values (NaN or infinite) left out');
    await save('loss-nan', plot);
  });

  it('renders an all-NaN run as an empty chart', async () => {
    const plot = renderLossPlot({ losses: [Number.NaN, Number.NaN], validLosses: [] });
    expect(plot.title).toBe('Loss — no data yet');
    expect(plot.svg).toContain('no data yet');
  });
});

describe('renderLrPlot', () => {
  it('draws lr per batch and momentum in a second panel', async () => {
    const plot = renderLrPlot(oneCycle(1000, 3e-3));
    for (const text of ['Learning rate and momentum', 'learning rate', 'momentum', 'batches processed']) {
      expect(plot.svg).toContain(text);
    }
    await save('lr', plot);
  });

  it('leaves out the momentum panel when there is no momentum', async () => {
    const { lrs } = oneCycle(200, 1e-2);
    const plot = renderLrPlot({ lrs, moms: lrs.map(() => 0) });
    expect(plot.svg).toContain('learning rate');
    expect(plot.svg).not.toContain('>momentum<');
    await save('lr-no-mom', plot);
  });

  it('writes small lrs in exponent form', async () => {
    const { lrs, moms } = oneCycle(300, 1e-5);
    const plot = renderLrPlot({ lrs, moms });
    expect(plot.svg).toContain('>1e-5<');
    await save('lr-small', plot);
  });
});

describe('renderMetricsPlot', () => {
  it('draws train/valid loss and one panel per metric against epochs', async () => {
    const plot = renderMetricsPlot({ history: history(8), metricNames: ['accuracy', 'error_rate'] });
    for (const text of ['Metrics', '>epoch<', '>accuracy<', '>error_rate<', '>train<', '>valid<']) {
      expect(plot.svg).toContain(text);
    }
    await save('metrics', plot);
  });

  it('copes with a single epoch and a metric that is NaN', async () => {
    const h = history(1);
    const first = h[0] as EpochStats;
    first.validLoss = Number.NaN;
    const plot = renderMetricsPlot({ history: h, metricNames: ['accuracy', 'missing'] });
    expect(badNumbers(plot.svg)).toEqual([]);
    expect(plot.svg).toContain('left out');
    expect(plot.svg).toContain('missing — no data yet');
    await save('metrics-1-epoch', plot);
  });
});

describe('renderLrFindPlot', () => {
  it('uses a log lr axis with decade labels and marks the suggestion', async () => {
    const plot = renderLrFindPlot(lrFindSweep());
    for (const text of ['Learning rate finder', 'learning rate (log scale)', '>loss<', 'suggested 3.0e-3']) {
      expect(plot.svg).toContain(text);
    }
    for (const tick of ['1e-7', '1e-5', '1e-3', '1e-1', '1e0']) expect(plot.svg).toContain(`>${tick}<`);
    await save('lr-find', plot);
  });

  it('renders without a usable suggestion and with lr <= 0 or NaN losses', async () => {
    const sweep = lrFindSweep();
    sweep.lrs[0] = 0;
    sweep.losses[50] = Number.NaN;
    const plot = renderLrFindPlot({ ...sweep, suggestedLr: Number.NaN });
    expect(plot.svg).toContain('no suggestion');
    expect(badNumbers(plot.svg)).toEqual([]);
  });
});

describe('Recorder plots', () => {
  it('returns Plots synchronously', () => {
    const r = new Recorder();
    r.losses = lossCurve(50);
    const { lrs, moms } = oneCycle(50, 1e-3);
    r.lrs = lrs;
    r.moms = moms;
    r.history = history(2);
    r.epochEndSteps = [25, 50];
    r.metricNames = ['accuracy'];
    r.lrFindResult = { ...lrFindSweep(), minLossLr: 1e-2 };
    for (const plot of [r.plotLosses(), r.plotLr(), r.plotMetrics(), r.plotLrFind()]) {
      expect(plot).toBeInstanceOf(Plot);
      expect(plot.svg).toMatch(/^<svg xmlns=/);
    }
  });

  it('throws synchronously when there is no LR finder sweep', () => {
    expect(() => new Recorder().plotLrFind()).toThrow(/no LR finder sweep recorded yet/);
  });
});

describe('empty input', () => {
  it('renders each chart with a "no data yet" title instead of throwing', async () => {
    const plots = [
      renderLossPlot({ losses: [], validLosses: [] }),
      renderLrPlot({ lrs: [], moms: [] }),
      renderMetricsPlot({ history: [], metricNames: ['accuracy'] }),
      renderLrFindPlot({ lrs: [], losses: [], suggestedLr: Number.NaN }),
    ];
    for (const plot of plots) {
      expect(plot.svg).toContain('no data yet');
      expect(decodePng(await plot.png()).width).toBeGreaterThan(700);
    }
    await save('empty-loss', plots[0] as Plot);
  });
});

describe('downsampleLine', () => {
  it('keeps first and last points and every spike, within the bound', () => {
    const ys = Array.from({ length: 100_000 }, (_, i) => Math.sin(i / 1000));
    ys[54_321] = 50;
    ys[77_777] = -50;
    const { points, dropped } = downsampleLine(ys);
    expect(dropped).toBe(0);
    expect(points.length).toBeLessThanOrEqual(MAX_LINE_POINTS);
    expect(points[0]).toEqual({ x: 1, y: ys[0] });
    expect(points[points.length - 1]).toEqual({ x: 100_000, y: ys[99_999] });
    expect(points.some((p) => p.y === 50)).toBe(true);
    expect(points.some((p) => p.y === -50)).toBe(true);
    // x stays in order, so the line never doubles back.
    for (let i = 1; i < points.length; i++) {
      expect((points[i] as { x: number }).x).toBeGreaterThan((points[i - 1] as { x: number }).x);
    }
  });

  it('passes short lines through and counts what it drops', () => {
    expect(downsampleLine([1, Number.NaN, 3])).toEqual({
      points: [
        { x: 1, y: 1 },
        { x: 3, y: 3 },
      ],
      dropped: 1,
    });
  });

  it('labels the lr axis the fastai way', () => {
    expect(lrTickLabel(3e-3)).toBe('3.0e-3');
    expect(lrTickLabel(0.1)).toBe('1.0e-1');
    expect(lrTickLabel(2)).toBe('2.0e0');
  });
});
