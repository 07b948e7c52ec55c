import { writeFile } from 'node:fs/promises';
import type { TopLevelSpec } from 'vega-lite';
import { drawing, FONT_FAMILY, type Drawing } from './raster';

/** One curve of a plot: points (x, y) and a name for the legend. */
export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
}

/** Options of {@link linePlot}. */
export interface LinePlotOptions {
  title: string;
  xLabel: string;
  /** Title of the y axis. Default: none. */
  yLabel?: string;
  /** Size of the whole image in pixels, title and legend included. Default 900 x 500. */
  width?: number;
  height?: number;
  /** Plot y on a log10 axis (losses). Non-positive values are left out. */
  logY?: boolean;
}

/**
 * Longer series are thinned to about this many evenly spaced points (the last one kept): over twice the
 * plot's width in pixels, so the drawn curve is the same, while the SVG stays small and fast to render.
 */
const MAX_POINTS_PER_SERIES = 2000;

/** Every `ceil(n / max)`-th point of `points`, and the last one. */
function thin<T>(points: readonly T[], max: number): readonly T[] {
  const stride = Math.ceil(points.length / max);
  if (stride <= 1) return points;
  return points.filter((_, i) => i % stride === 0 || i === points.length - 1);
}

/** Series with at most this many points also get a dot per point (so one-point series show). */
const MAX_POINTS_WITH_DOTS = 30;

/**
 * Ends of a log axis for data in [lo, hi] (both > 0): the nearest 1, 2 or 5 x 10^k outside, so both ends carry a
 * labelled tick (Vega's own `nice` goes to whole decades, which can leave most of the plot empty).
 */
function logDomain(lo: number, hi: number): [number, number] {
  const candidates = (v: number) => [1, 2, 5, 10].map((m) => Number((m * 10 ** Math.floor(Math.log10(v))).toPrecision(12)));
  return [candidates(lo).filter((t) => t <= lo).pop() ?? lo, candidates(hi).find((t) => t >= hi) ?? hi];
}

/**
 * The Vega-Lite spec of {@link linePlot}: one coloured line per series (Tableau 10 colours, Vega's `category10`, legend in series
 * order, every series listed even when it has no points yet), axes with titles, the title on top.
 */
export function linePlotSpec(series: readonly Series[], options: LinePlotOptions): TopLevelSpec {
  const width = options.width ?? 900;
  const height = options.height ?? 500;
  const values = series.flatMap((s) =>
    thin(s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!options.logY || y > 0)), MAX_POINTS_PER_SERIES).map(([x, y]) => ({ series: s.name, x, y })),
  );
  const frame = {
    width,
    height,
    autosize: { type: 'fit', contains: 'padding' },
    padding: 12,
    background: 'white',
    title: { text: options.title, anchor: 'start', fontSize: 16, offset: 12 },
    config: { font: FONT_FAMILY, axis: { labelFontSize: 12, titleFontSize: 13, gridColor: '#e1e1e1' }, legend: { labelFontSize: 12, symbolStrokeWidth: 3 } },
  } as const;
  if (values.length === 0) {
    return { ...frame, data: { values: [{}] }, mark: { type: 'text', text: 'no data yet', fontSize: 16 }, encoding: { x: { value: width / 2 }, y: { value: height / 2 } } };
  }
  const [yMin, yMax] = values.reduce(([lo, hi], v) => [Math.min(lo, v.y), Math.max(hi, v.y)], [Infinity, -Infinity]);
  const integerX = values.every((v) => Number.isInteger(v.x));
  const longest = Math.max(...series.map((s) => s.points.length));
  return {
    ...frame,
    data: { values },
    mark: { type: 'line', strokeWidth: 2, clip: true, point: longest <= MAX_POINTS_WITH_DOTS ? { size: 30, filled: true } : false },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: options.xLabel, scale: { zero: false, nice: false }, axis: integerX ? { tickMinStep: 1, format: 'd' } : {} },
      y: {
        field: 'y',
        type: 'quantitative',
        title: options.yLabel ?? null,
        scale: options.logY ? { type: 'log', nice: false, domain: logDomain(yMin, yMax) } : { zero: false, padding: 8 },
        axis: { format: '~g' },
      },
      color: { field: 'series', type: 'nominal', scale: { domain: series.map((s) => s.name), scheme: 'category10' }, legend: { title: null, orient: 'right' } },
    },
  };
}

/**
 * A line plot, drawn by Vega-Lite (compiled to Vega, rendered headless to SVG) and rasterised to PNG by
 * resvg: axes with ticks, titles and a grid, one coloured line per series, a legend, the title on top.
 */
export async function linePlot(series: readonly Series[], options: LinePlotOptions): Promise<Drawing> {
  // Loaded on first use: together they take a few tenths of a second to import, which commands that draw no
  // plot (detect, eval, --help) should not pay.
  const [{ parse, View }, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new View(parse(compile(linePlotSpec(series, options)).spec), { renderer: 'none' });
  try {
    return drawing(await view.toSVG());
  } finally {
    view.finalize();
  }
}

/** Writes {@link linePlot}'s PNG to `file` (a .png path) and its SVG next to it, with the extension .svg. */
export async function writePlot(file: string, series: readonly Series[], options: LinePlotOptions): Promise<void> {
  const plot = await linePlot(series, options);
  await Promise.all([writeFile(file, plot.png()), writeFile(file.replace(/\.png$/i, '') + '.svg', plot.svg)]);
}

/** A trailing moving average of `window` points, for noisy per-step losses. */
export function smooth(points: readonly (readonly [number, number])[], window: number): [number, number][] {
  const out: [number, number][] = [];
  let sum = 0;
  for (let i = 0; i < points.length; i++) {
    sum += points[i]![1];
    if (i >= window) sum -= points[i - window]![1];
    out.push([points[i]![0], sum / Math.min(i + 1, window)]);
  }
  return out;
}
