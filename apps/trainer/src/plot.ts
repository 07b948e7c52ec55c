import { PALETTE, Raster, type Rgb } from './raster';

/** One curve of a plot: points (x, y) and a name for the legend. */
export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
}

/** Options of {@link linePlot}. */
export interface LinePlotOptions {
  title: string;
  xLabel: string;
  width?: number;
  height?: number;
  /** Plot y on a log10 axis (losses). Non-positive values are left out. */
  logY?: boolean;
}

/** "Nice" tick positions covering [lo, hi] (1, 2, 5 x 10^k steps). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/** Ticks of a log10 axis spanning [lo, hi] (in log10 units): 1, 2, 5 x 10^k, thinned to 1 x 10^k on long ranges. */
function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  const mantissas = hi - lo > 3 ? [1] : [1, 2, 5];
  for (let k = Math.floor(lo); k <= Math.ceil(hi); k++) for (const m of mantissas) ticks.push(m * 10 ** k);
  return ticks.filter((t) => Math.log10(t) >= lo && Math.log10(t) <= hi);
}

function label(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000 || a < 0.01) return v.toExponential(0);
  return String(Number(v.toPrecision(3)));
}

/**
 * A line plot as an RGB raster: axes with ticks and labels, one coloured line per series, a legend.
 */
export function linePlot(series: readonly Series[], options: LinePlotOptions): Raster {
  const width = options.width ?? 900;
  const height = options.height ?? 500;
  const r = new Raster(width, height);
  const black: Rgb = [0, 0, 0];
  const grey: Rgb = [225, 225, 225];
  const margin = { left: 70, right: 20, top: 36, bottom: 46 };
  const fy = (v: number) => (options.logY ? Math.log10(v) : v);
  const usable = series.map((s) => ({ ...s, points: s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!options.logY || y > 0)) }));
  const all = usable.flatMap((s) => s.points);
  r.text(options.title, margin.left, 12, black, 2);
  if (all.length === 0) {
    r.text('no data yet', width / 2 - 40, height / 2, black, 2);
    return r;
  }
  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...all.map((p) => fy(p[1]))), Math.max(...all.map((p) => fy(p[1])))];
  if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  if (y1 === y0) [y0, y1] = [y0 - 1, y1 + 1];
  const pad = (y1 - y0) * 0.05;
  [y0, y1] = [y0 - pad, y1 + pad];
  const px = (x: number) => margin.left + ((x - x0) / (x1 - x0)) * (width - margin.left - margin.right);
  const py = (y: number) => height - margin.bottom - ((fy(y) - y0) / (y1 - y0)) * (height - margin.top - margin.bottom);
  // Grid and ticks.
  for (const t of niceTicks(x0, x1, 8)) {
    r.line(px(t), margin.top, px(t), height - margin.bottom, grey);
    const text = label(t);
    r.text(text, px(t) - Raster.textWidth(text) / 2, height - margin.bottom + 8, black);
  }
  const yTicks = options.logY ? logTicks(y0, y1) : niceTicks(y0, y1, 6);
  for (const t of yTicks) {
    const y = py(t);
    if (!(y >= margin.top - 1 && y <= height - margin.bottom + 1)) continue;
    r.line(margin.left, y, width - margin.right, y, grey);
    const text = label(t);
    r.text(text, margin.left - 8 - Raster.textWidth(text), y - 3, black);
  }
  r.line(margin.left, margin.top, margin.left, height - margin.bottom, black);
  r.line(margin.left, height - margin.bottom, width - margin.right, height - margin.bottom, black);
  r.text(options.xLabel, width / 2 - Raster.textWidth(options.xLabel), height - 18, black, 2);
  if (options.logY) r.text('log scale', 8, margin.top - 14, black);
  // Curves and legend.
  usable.forEach((s, i) => {
    const c = PALETTE[i % PALETTE.length]!;
    for (let k = 1; k < s.points.length; k++) {
      const [a, b] = [s.points[k - 1]!, s.points[k]!];
      r.line(px(a[0]), py(a[1]), px(b[0]), py(b[1]), c, 2);
    }
    if (s.points.length === 1) r.fillRect(px(s.points[0]![0]) - 2, py(s.points[0]![1]) - 2, px(s.points[0]![0]) + 3, py(s.points[0]![1]) + 3, c);
    const ly = margin.top + 6 + i * 16;
    r.fillRect(width - margin.right - 150, ly, width - margin.right - 136, ly + 8, c);
    r.text(s.name, width - margin.right - 130, ly, black, 1, [255, 255, 255]);
  });
  return r;
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
