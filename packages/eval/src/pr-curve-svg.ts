import { InvalidArgumentError } from '@detkit/core';

/** A curve to plot: `precision[i]` at `recall[i]`, both in [0, 1]. */
export interface PlotCurve {
  label: string;
  recall: ArrayLike<number>;
  precision: ArrayLike<number>;
}

/** Options of {@link prCurveSvg}. */
export interface PrCurveSvgOptions {
  /** Image size in pixels; default 480 x 360. */
  width?: number;
  height?: number;
  /** Title above the plot; default 'Precision-recall'. */
  title?: string;
}

/** Colour cycle (the Tableau 10 palette, as matplotlib's default). */
const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const fmt = (v: number) => (Math.round(v * 100) / 100).toString();

/**
 * Draws precision-recall curves as a self-contained SVG document (a string; no DOM or native code, so
 * it works in Node and browsers): axes from 0 to 1 with ticks every 0.2, one coloured polyline per curve
 * (its points joined in order), and a legend. Write it to a `.svg` file or
 * put it in a page. Curves from {@link CocoResult.curve} or `vocCurve`.
 */
export function prCurveSvg(curves: readonly PlotCurve[], options: PrCurveSvgOptions = {}): string {
  const { width = 480, height = 360, title = 'Precision-recall' } = options;
  if (!(Number.isFinite(width) && width >= 100 && Number.isFinite(height) && height >= 100)) {
    throw new InvalidArgumentError('prCurveSvg', 'width', `width and height must be numbers >= 100, got ${width} x ${height}`);
  }
  const left = 50, right = 140, top = 30, bottom = 40;
  const pw = width - left - right, ph = height - top - bottom;
  const x = (r: number) => left + r * pw;
  const y = (p: number) => top + (1 - p) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${fmt(left + pw / 2)}" y="18" text-anchor="middle" font-size="13">${escapeXml(title)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const v = i / 5;
    out.push(`<line x1="${fmt(x(v))}" y1="${fmt(y(0))}" x2="${fmt(x(v))}" y2="${fmt(y(1))}" stroke="#e5e5e5"/>`);
    out.push(`<line x1="${fmt(x(0))}" y1="${fmt(y(v))}" x2="${fmt(x(1))}" y2="${fmt(y(v))}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${fmt(x(v))}" y="${fmt(y(0) + 14)}" text-anchor="middle">${v.toFixed(1)}</text>`);
    out.push(`<text x="${fmt(x(0) - 6)}" y="${fmt(y(v) + 4)}" text-anchor="end">${v.toFixed(1)}</text>`);
  }
  out.push(`<rect x="${left}" y="${top}" width="${fmt(pw)}" height="${fmt(ph)}" fill="none" stroke="#333333"/>`);
  out.push(`<text x="${fmt(left + pw / 2)}" y="${height - 6}" text-anchor="middle">recall</text>`);
  out.push(`<text x="14" y="${fmt(top + ph / 2)}" text-anchor="middle" transform="rotate(-90 14 ${fmt(top + ph / 2)})">precision</text>`);
  curves.forEach((c, i) => {
    if (c.recall.length !== c.precision.length) {
      throw new InvalidArgumentError('prCurveSvg', `curves[${i}]`, `has ${c.recall.length} recall and ${c.precision.length} precision values`);
    }
    const colour = COLOURS[i % COLOURS.length] as string;
    const pts: string[] = [];
    for (let j = 0; j < c.recall.length; j++) {
      const r = c.recall[j] as number, p = c.precision[j] as number;
      if (!(Number.isFinite(r) && Number.isFinite(p))) continue;
      pts.push(`${fmt(x(Math.min(1, Math.max(0, r))))},${fmt(y(Math.min(1, Math.max(0, p))))}`);
    }
    out.push(`<polyline fill="none" stroke="${colour}" stroke-width="1.5" points="${pts.join(' ')}"/>`);
    const ly = top + 8 + i * 16;
    out.push(`<line x1="${fmt(left + pw + 12)}" y1="${ly}" x2="${fmt(left + pw + 30)}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`);
    out.push(`<text x="${fmt(left + pw + 34)}" y="${ly + 4}">${escapeXml(c.label)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
