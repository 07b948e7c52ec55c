/** A small RGB raster to draw plots and boxes on, written as PNG with fast-png. Text uses js-pixel-fonts' 7-pixel font. */
import { encode } from 'fast-png';
import * as pixelFonts from 'js-pixel-fonts';

/** An RGB colour, 0-255 per channel. */
export type Rgb = readonly [number, number, number];

/** Distinct colours for classes and curves (Tableau 10). */
export const PALETTE: readonly Rgb[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
];

/** An RGB image being drawn on. */
export class Raster {
  readonly data: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = [255, 255, 255],
  ) {
    this.data = new Uint8Array(width * height * 3);
    for (let i = 0; i < this.data.length; i += 3) this.data.set(background, i);
  }

  /** An image from RGB bytes, each pixel scaled up `scale` times (nearest neighbour). */
  static fromRgb(rgb: ArrayLike<number>, width: number, height: number, scale = 1): Raster {
    const r = new Raster(width * scale, height * scale);
    for (let y = 0; y < r.height; y++) {
      for (let x = 0; x < r.width; x++) {
        const s = 3 * (Math.floor(y / scale) * width + Math.floor(x / scale));
        const d = 3 * (y * r.width + x);
        r.data[d] = rgb[s] as number;
        r.data[d + 1] = rgb[s + 1] as number;
        r.data[d + 2] = rgb[s + 2] as number;
      }
    }
    return r;
  }

  pixel(x: number, y: number, c: Rgb): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    this.data.set(c, 3 * (y * this.width + x));
  }

  fillRect(x1: number, y1: number, x2: number, y2: number, c: Rgb): void {
    for (let y = Math.max(0, Math.round(y1)); y < Math.min(this.height, Math.round(y2)); y++) {
      for (let x = Math.max(0, Math.round(x1)); x < Math.min(this.width, Math.round(x2)); x++) this.data.set(c, 3 * (y * this.width + x));
    }
  }

  /** A line of `thickness` pixels (Bresenham, stamped). */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thickness = 1): void {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    const half = (thickness - 1) / 2;
    for (let i = 0; i <= steps; i++) {
      const x = x0 + ((x1 - x0) * i) / steps;
      const y = y0 + ((y1 - y0) * i) / steps;
      if (thickness <= 1) this.pixel(x, y, c);
      else this.fillRect(x - half, y - half, x + half + 1, y + half + 1, c);
    }
  }

  /** The outline of a box, `thickness` pixels inside it. */
  rect(x1: number, y1: number, x2: number, y2: number, c: Rgb, thickness = 1): void {
    for (let t = 0; t < thickness; t++) {
      this.line(x1 + t, y1 + t, x2 - t, y1 + t, c);
      this.line(x1 + t, y2 - t, x2 - t, y2 - t, c);
      this.line(x1 + t, y1 + t, x1 + t, y2 - t, c);
      this.line(x2 - t, y1 + t, x2 - t, y2 - t, c);
    }
  }

  /** Width in pixels of `text` at `scale`. */
  static textWidth(text: string, scale = 1): number {
    if (text.length === 0) return 0;
    const rows = pixelFonts.renderPixels(text, pixelFonts.fonts.sevenPlus);
    return (rows[0]?.length ?? 0) * scale;
  }

  /** Draws `text` with its top-left corner at (x, y), optionally on a filled background. */
  text(text: string, x: number, y: number, c: Rgb, scale = 1, background?: Rgb): void {
    if (text.length === 0) return;
    const rows = pixelFonts.renderPixels(text, pixelFonts.fonts.sevenPlus);
    if (background) this.fillRect(x - scale, y - scale, x + ((rows[0]?.length ?? 0) + 1) * scale, y + (rows.length + 1) * scale, background);
    rows.forEach((row, j) =>
      row.forEach((on, i) => {
        if (on) this.fillRect(x + i * scale, y + j * scale, x + (i + 1) * scale, y + (j + 1) * scale, c);
      }),
    );
  }

  /** PNG bytes. */
  png(): Uint8Array {
    return encode({ width: this.width, height: this.height, data: this.data, channels: 3, depth: 8 });
  }
}
