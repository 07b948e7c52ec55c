import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { drawDetections } from './draw';
import { linePlotSpec, writePlot, type Series } from './plot';

/** RGB of pixel (x, y) of decoded PNG bytes. */
function pixel(png: ReturnType<typeof decode>, x: number, y: number): number[] {
  const i = (y * png.width + x) * png.channels;
  return Array.from(png.data.subarray(i, i + 3));
}

/** How many pixels are exactly `rgb`. */
function count(png: ReturnType<typeof decode>, rgb: readonly number[]): number {
  let n = 0;
  for (let i = 0; i < png.data.length; i += png.channels) if (png.data[i] === rgb[0] && png.data[i + 1] === rgb[1] && png.data[i + 2] === rgb[2]) n++;
  return n;
}

const BLUE = [0x1f, 0x77, 0xb4]; // Tableau 10's first colour: the first series, class 0
const ORANGE = [0xff, 0x7f, 0x0e]; // the second: the second series, class 1

describe('writePlot', () => {
  it('writes the plot as PNG and SVG: the size asked for, the curves drawn in the series colours, title, axis titles and legend as text', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'detkit-plot-'));
    const steps = Array.from({ length: 200 }, (_, i) => i + 1);
    const series: Series[] = [
      { name: 'total', points: steps.map((s) => [s, 20 / Math.sqrt(s)] as const) },
      { name: 'classification', points: steps.map((s) => [s, 12 / Math.sqrt(s)] as const) },
      { name: 'box regression', points: steps.map((s) => [s, s === 7 ? NaN : 8 / Math.sqrt(s)] as const) },
    ];
    const file = path.join(dir, 'loss.png');
    await writePlot(file, series, { title: 'training loss (moving average of 3 steps)', xLabel: 'step', yLabel: 'loss (log scale)', logY: true });
    const png = decode(await readFile(file));
    expect([png.width, png.height]).toEqual([900, 500]);
    // Not blank: the two first curves are 2 pixels wide and hundreds of pixels long in their exact colours.
    expect(count(png, BLUE)).toBeGreaterThan(300);
    expect(count(png, ORANGE)).toBeGreaterThan(300);
    const svg = await readFile(path.join(dir, 'loss.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    for (const text of ['training loss (moving average of 3 steps)', 'step', 'loss (log scale)', 'total', 'classification', 'box regression']) expect(svg).toContain(`>${text}<`);
  });

  it('lists every series in the legend, dots one-point series, and says "no data yet" when there is nothing to plot', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'detkit-plot-'));
    const map: Series[] = [
      { name: 'VOC mAP@0.5', points: [[1, 0.25]] },
      { name: 'COCO AP50', points: [] },
    ];
    await writePlot(path.join(dir, 'map.png'), map, { title: 'validation AP', xLabel: 'epoch', width: 600, height: 360 });
    const png = decode(await readFile(path.join(dir, 'map.png')));
    expect([png.width, png.height]).toEqual([600, 360]);
    expect(count(png, BLUE)).toBeGreaterThan(10); // the dot (and the legend symbol)
    const svg = await readFile(path.join(dir, 'map.svg'), 'utf8');
    for (const text of ['validation AP', 'epoch', 'VOC mAP@0.5', 'COCO AP50']) expect(svg).toContain(`>${text}<`);

    await writePlot(path.join(dir, 'empty.png'), [{ name: 'total', points: [[1, -1]] }], { title: 'training loss', xLabel: 'step', logY: true });
    expect(await readFile(path.join(dir, 'empty.svg'), 'utf8')).toContain('>no data yet<');
    const empty = decode(await readFile(path.join(dir, 'empty.png')));
    expect(count(empty, [255, 255, 255])).toBeLessThan(empty.width * empty.height); // the title and the message are drawn
  });

  it('integer x values get integer ticks; log y leaves out non-positive values', () => {
    const spec = linePlotSpec([{ name: 'a', points: [[1, 0], [2, 1], [3, 2]] }], { title: 't', xLabel: 'epoch', logY: true }) as { data: { values: unknown[] }; encoding: { x: { axis: unknown } } };
    expect(spec.data.values).toEqual([{ series: 'a', x: 2, y: 1 }, { series: 'a', x: 3, y: 2 }]);
    expect(spec.encoding.x.axis).toEqual({ tickMinStep: 1, format: 'd' });
  });
});

describe('drawDetections', () => {
  it('scales the image up nearest-neighbour and draws boxes in the class colour with a label above, ground truth in white', () => {
    // A 32 x 32 grey image, drawn 4 times larger: one class-1 detection at (4, 12)-(28, 28), so its 2-pixel
    // outline covers x 16..17 of the 128-pixel drawing, and a ground-truth box at (2, 2)-(10, 10): x = 8 is white.
    const rgb = new Uint8Array(32 * 32 * 3).fill(100);
    const drawn = drawDetections(rgb, 32, 32, { boxes: new Float32Array([4, 12, 28, 28]), scores: new Float32Array([0.9]), labels: new Int32Array([1]) }, {
      classes: ['circle', '<square>'],
      scale: 4,
      groundTruth: { boxes: [2, 2, 10, 10], labels: [0] },
    });
    const png = decode(drawn.png());
    expect([png.width, png.height]).toEqual([128, 128]);
    expect(pixel(png, 70, 80)).toEqual([100, 100, 100]);
    expect(pixel(png, 16, 80)).toEqual(ORANGE);
    expect(pixel(png, 17, 80)).toEqual(ORANGE);
    expect(pixel(png, 18, 80)).toEqual([100, 100, 100]);
    expect(pixel(png, 8, 20)).toEqual([255, 255, 255]);
    // The label sits on an orange band above the box (rows 34..47) with white text on it; names are escaped.
    expect(pixel(png, 17, 40)).toEqual(ORANGE);
    // The text is anti-aliased: count pixels far bluer than orange (blue 14), i.e. mostly white.
    let white = 0;
    for (let y = 34; y < 48; y++) for (let x = 19; x < 100; x++) if (pixel(png, x, y)[2]! > 128) white++;
    expect(white).toBeGreaterThan(40);
    expect(drawn.svg).toContain('>&#60;square&#62; 0.90<');
  });
});
