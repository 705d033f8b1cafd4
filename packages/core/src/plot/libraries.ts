/**
 * The rendering libraries, loaded on the first chart rather than when @epochcast/core is
 * imported: Observable Plot (with d3) and linkedom take a few hundred ms to load, and a run that
 * never draws a chart should not pay for them. `require` loads them synchronously (Node >= 20.19
 * requires ES modules without top-level await, which Plot is), so `recorder.plotLosses().svg`
 * stays synchronous.
 */
import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

export type ObservablePlot = typeof import('@observablehq/plot');
type Resvg = typeof import('@resvg/resvg-js');

let observable: ObservablePlot | undefined;
/** Observable Plot's marks and `plot()`. */
export function observablePlot(): ObservablePlot {
  observable ??= requireHere('@observablehq/plot') as ObservablePlot;
  return observable;
}

let resvgModule: Resvg | undefined;
/** resvg, the rasteriser behind `Plot.png()`. */
export function resvg(): Resvg {
  resvgModule ??= requireHere('@resvg/resvg-js') as Resvg;
  return resvgModule;
}

let loading: Promise<void> | undefined;
/**
 * Loads the plotting libraries now, on the next turn of the event loop, rather than when the first
 * chart is drawn — a few hundred ms with the event loop blocked, which at the end of a fit would
 * hold up its notifiers and, in a sweep, the other runs sharing their account (the notifier base
 * calls this before the first epoch). A synchronous load, not `import()`: a chart drawn while an
 * `import()` of them is under way would fail to `require` a half-loaded module. Never rejects: a
 * library that cannot load fails the chart that needs it, with its own error.
 */
export function preloadPlotting(): Promise<void> {
  loading ??= new Promise<void>((resolve) =>
    setImmediate(() => {
      try {
        observablePlot();
        domDocument();
        resvg();
      } catch {
        // Reported by the chart or PNG that needs the library.
      }
      resolve();
    }),
  );
  return loading;
}

/** The family the shipped font declares; the SVG names it so resvg finds it with system fonts off. */
export const FONT_FAMILY = 'DejaVu Sans';
const FONT_FILES = ['dejavu-fonts-ttf/ttf/DejaVuSans.ttf', 'dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf'];
let fontFiles: string[] | undefined;
/** The shipped DejaVu Sans files, from the installed package, so no system font is ever needed. */
export function fontFilePaths(): string[] {
  fontFiles ??= FONT_FILES.map((f) => requireHere.resolve(f));
  return fontFiles;
}

// ---------------------------------------------------------------------------------------------
// The server-side DOM. The project compiles without the DOM lib, so the little of it used here is
// typed by hand.

export interface DomElement {
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

export interface DomDocument {
  createElementNS(ns: string, tag: string): DomElement;
}

export const SVG_NS = 'http://www.w3.org/2000/svg';

let dom: DomDocument | undefined;
/** One document serves every chart: Plot only creates detached elements in it. */
export function domDocument(): DomDocument {
  if (!dom) {
    const { parseHTML } = requireHere('linkedom') as typeof import('linkedom');
    dom = parseHTML('<!doctype html><html><head></head><body></body></html>').document as unknown as DomDocument;
  }
  return dom;
}

export function svgEl(tag: string, attrs: Record<string, string | number>, content?: string): DomElement {
  const el = domDocument().createElementNS(SVG_NS, tag);
  // linkedom lists the attributes set last first: set in reverse, they print in the order written.
  for (const [k, v] of Object.entries(attrs).reverse()) el.setAttribute(k, String(v));
  if (content !== undefined) el.textContent = content;
  return el;
}
