// The per-class table and the SVG plot.
import { describe, expect, it } from 'vitest';
import { evaluateCoco, evaluateVoc, formatApTable, prCurveSvg, vocCurve } from './index';

const gt = [{ boxes: [[0, 0, 10, 10], [20, 20, 40, 40]], labels: [0, 1] }];
const dt = [{ boxes: [[50, 50, 60, 60], [0, 0, 10, 10], [20, 20, 40, 40]], scores: [0.9, 0.8, 0.7], labels: [0, 0, 1] }];

describe('formatApTable', () => {
  it('one row per class, a mean row, -1 shown as -', () => {
    const r = evaluateCoco(gt, dt, { classes: [0, 1, 2], classNames: ['square', 'big', 'none'] });
    const table = formatApTable(r.perClass, { columns: ['ap', 'ap50', 'numGroundTruth'] });
    const lines = table.trim().split('\n');
    expect(lines[0]).toMatch(/^\| class\s+\|\s+ap \|\s+ap50 \| numGroundTruth \|$/);
    expect(lines[2]).toMatch(/^\| square \| 0\.500 \| 0\.500 \|\s+1 \|$/);
    expect(lines[3]).toMatch(/^\| big\s+\| 1\.000 \| 1\.000 \|\s+1 \|$/);
    expect(lines[4]).toMatch(/^\| none\s+\|\s+- \|\s+- \|\s+0 \|$/);
    // Mean over the classes with a value: (0.5 + 1) / 2.
    expect(lines[5]).toMatch(/^\| mean\s+\| 0\.750 \| 0\.750 \|\s+\|$/);
  });

  it('works for VOC results and percentages', () => {
    const table = formatApTable(evaluateVoc(gt, dt).perClass, { columns: ['ap'], scale: 100, digits: 1 });
    expect(table).toContain('| 0     |  50.0 |');
    expect(table).toContain('| mean  |  75.0 |');
  });
});

describe('prCurveSvg', () => {
  it('draws one polyline per curve with points mapped to the axes', () => {
    const r = evaluateCoco(gt, dt);
    const svg = prCurveSvg([r.curve(0), vocCurve(evaluateVoc(gt, dt).perClass[1]!)], { width: 400, height: 300, title: 'PR <test>' });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('PR &lt;test&gt;');
    const lines = [...svg.matchAll(/<polyline [^>]*points="([^"]*)"/g)].map((m) => m[1]!.split(' '));
    expect(lines).toHaveLength(2);
    // Plot area: left 50, top 30, width 400 - 50 - 140 = 210, height 300 - 30 - 40 = 230.
    // COCO curve of class 0: precision 0.5 at every recall: y = 30 + 0.5 * 230 = 145; recall 0 -> x 50, 1 -> 260.
    expect(lines[0]![0]).toBe('50,145');
    expect(lines[0]![100]).toBe('260,145');
    // VOC curve of class 1: one TP: recall 1, precision 1 -> (260, 30).
    expect(lines[1]).toEqual(['260,30']);
  });

  it('rejects curves whose lengths differ', () => {
    expect(() => prCurveSvg([{ label: 'x', recall: [0, 1], precision: [1] }])).toThrow(/recall/);
  });
});
