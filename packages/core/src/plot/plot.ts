import type { ResvgRenderOptions } from '@resvg/resvg-js';
import { FONT_FAMILY, fontFilePaths, resvg } from './libraries.js';

const MAX_PNG_WIDTH = 8000;

/** A rendered chart: the SVG, and a PNG on demand. */
export class Plot {
  /** One render per width, shared by every caller: a notifier retrying a send reuses it. */
  private readonly pngs = new Map<number | 'original', Promise<Uint8Array>>();

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
   * Rendered once per width: later calls resolve to the same bytes.
   */
  async png(options: { width?: number } = {}): Promise<Uint8Array> {
    const { width } = options;
    if (width !== undefined && !(Number.isInteger(width) && width > 0 && width <= MAX_PNG_WIDTH)) {
      throw new RangeError(`Plot.png: width must be an integer from 1 to ${MAX_PNG_WIDTH}, got ${width}`);
    }
    const key = width ?? 'original';
    let png = this.pngs.get(key);
    if (!png) {
      png = renderPng(this.svg, width);
      this.pngs.set(key, png);
      // A failed render is not kept, so the next call tries again.
      png.catch(() => this.pngs.delete(key));
    }
    return png;
  }
}

async function renderPng(svg: string, width: number | undefined): Promise<Uint8Array> {
  const options: ResvgRenderOptions = {
    font: {
      loadSystemFonts: false,
      fontFiles: fontFilePaths(),
      defaultFontFamily: FONT_FAMILY,
      sansSerifFamily: FONT_FAMILY,
    },
    fitTo: width === undefined ? { mode: 'original' } : { mode: 'width', value: width },
    background: 'white',
  };
  const image = await resvg().renderAsync(svg, options);
  return image.asPng();
}
