// evaluateVoc and vocAp on cases worked by hand, traced to the VOC devkit (VOCevaldet.m, VOCap.m).
import { InvalidArgumentError } from '@detkit/core';
import { describe, expect, it } from 'vitest';
import { evaluateVoc, vocAp, vocCurve } from './index';

const close = (a: number, b: number) => expect(a).toBeCloseTo(b, 12);

describe('vocAp', () => {
  it('all-point (VOCap.m) and 11-point (VOC2007) on TP, FP, TP with 2 objects', () => {
    // rec = [0.5, 0.5, 1], prec = [1, 0.5, 2/3].
    // all-point: mrec = [0, .5, .5, 1, 1], mpre = [0, 1, .5, 2/3, 0] -> envelope [1, 1, 2/3, 2/3, 0];
    //   recall changes at i = 1 (0 -> .5) and i = 3 (.5 -> 1): AP = .5 * 1 + .5 * 2/3 = 5/6.
    // 11-point: t = 0, .1, .2, .3(0000000000000004), .4, .5 reach max(prec[rec >= t]) = 1 (6 points),
    //   t = .6.., .7.., .8, .9, 1 reach 2/3 (5 points): AP = (6 + 5 * 2/3) / 11.
    const rec = [0.5, 0.5, 1], prec = [1, 0.5, 2 / 3];
    close(vocAp(rec, prec, 'all-point'), 5 / 6);
    close(vocAp(rec, prec, '11-point'), (6 + (5 * 2) / 3) / 11);
  });

  it('11-point thresholds are k * 0.1, as voc_eval.py computes them', () => {
    // Recall exactly 0.3 (3/10) does not reach 3 * 0.1 = 0.30000000000000004, so only t = 0, .1, .2 see
    // precision 1: AP = 3 / 11.
    close(vocAp([0.3], [1], '11-point'), 3 / 11);
    close(vocAp([0.4], [1], '11-point'), 5 / 11);
  });

  it('empty curves give 0; bad method is an error', () => {
    expect(vocAp([], [], 'all-point')).toBe(0);
    expect(vocAp([], [], '11-point')).toBe(0);
    expect(() => vocAp([1], [1], 'area' as '11-point')).toThrow(InvalidArgumentError);
  });
});

describe('evaluateVoc, worked by hand', () => {
  it('perfect detections give 1.0, both methods', () => {
    const gt = [{ boxes: [[0, 0, 10, 10], [20, 20, 40, 40]], labels: [0, 1] }];
    const dt = [{ boxes: [[20, 20, 40, 40], [0, 0, 10, 10]], scores: [0.7, 0.6], labels: [1, 0] }];
    for (const method of ['all-point', '11-point'] as const) {
      const r = evaluateVoc(gt, dt, { method });
      close(r.map, 1);
      // 11-point sums 11 * (1 / 11) = 1.0000000000000002 in float64, as voc_eval.py's loop does.
      r.perClass.forEach((c) => close(c.ap, 1));
    }
  });

  it('one false positive ranked first gives AP 0.5', () => {
    // rec = [0, 1], prec = [0, 0.5]. all-point: mrec = [0, 0, 1, 1], mpre -> [.5, .5, .5, 0]; the
    // recall step 0 -> 1 at i = 2 gives 1 * 0.5. 11-point: every t has max(prec[rec >= t]) = 0.5.
    const gt = [{ boxes: [[0, 0, 10, 10]], labels: [0] }];
    const dt = [{ boxes: [[50, 50, 60, 60], [0, 0, 10, 10]], scores: [0.9, 0.8], labels: [0, 0] }];
    close(evaluateVoc(gt, dt).map, 0.5);
    close(evaluateVoc(gt, dt, { method: '11-point' }).map, 0.5);
    const c = evaluateVoc(gt, dt).perClass[0]!;
    expect([c.truePositives, c.falsePositives, c.numPositives]).toEqual([1, 1, 1]);
    expect(Array.from(c.recall)).toEqual([0, 1]);
    expect(Array.from(c.precision)).toEqual([0, 0.5]);
    expect(vocCurve(c)).toEqual({ label: '0', recall: [0, 1], precision: [0, 0.5] });
  });

  it('difficult objects are ignored: not in npos, a detection of one is neither TP nor FP', () => {
    // npos = 1 (the difficult one does not count). Detections: 0.9 on the difficult object (ignored),
    // 0.8 on the regular one (TP). Cumulative tp = [0, 1], fp = [0, 0]: prec = [0 / eps = 0, 1],
    // rec = [0, 1] -> all-point AP = 1.
    const gt = [{ boxes: [[0, 0, 10, 10], [20, 20, 30, 30]], labels: [0, 0], difficult: [1, 0] }];
    const dt = [{ boxes: [[0, 0, 10, 10], [20, 20, 30, 30]], scores: [0.9, 0.8], labels: [0, 0] }];
    const r = evaluateVoc(gt, dt);
    close(r.map, 1);
    expect(r.perClass[0]).toMatchObject({ numPositives: 1, truePositives: 1, falsePositives: 0 });
  });

  it('a duplicate detection is a false positive; the best-IoU object decides (devkit rule)', () => {
    // Objects A [0, 0, 10, 10] and B [0, 0, 10, 12]. Detection 1 (0.9) = A: TP. Detection 2 (0.8) =
    // [0, 0, 10, 10.5]: IoU with A 100/105 = 0.952, with B 105/120 = 0.875. Its best is A, already
    // detected: FP, although B (IoU >= .5) is free (VOCevaldet.m uses only jmax). tp = [1, 1], fp = [0, 1]:
    // rec = [.5, .5], prec = [1, .5] -> all-point AP = 0.5.
    const gt = [{ boxes: [[0, 0, 10, 10], [0, 0, 10, 12]], labels: [0, 0] }];
    const dt = [{ boxes: [[0, 0, 10, 10], [0, 0, 10, 10.5]], scores: [0.9, 0.8], labels: [0, 0] }];
    const r = evaluateVoc(gt, dt);
    close(r.map, 0.5);
    expect(r.perClass[0]).toMatchObject({ truePositives: 1, falsePositives: 1 });
  });

  it('IoU exactly at the threshold matches (devkit: ovmax >= minoverlap)', () => {
    // Detection [0, 0, 10, 5] on object [0, 0, 10, 10]: IoU 50 / 100 = 0.5.
    const r = evaluateVoc([{ boxes: [[0, 0, 10, 10]], labels: [0] }], [{ boxes: [[0, 0, 10, 5]], scores: [1], labels: [0] }]);
    close(r.map, 1);
    close(evaluateVoc([{ boxes: [[0, 0, 10, 10]], labels: [0] }], [{ boxes: [[0, 0, 10, 5]], scores: [1], labels: [0] }], { iouThreshold: 0.51 }).map, 0);
  });

  it("equals the devkit's +1 IoU on raw VOC coordinates when boxes are read as [xmin - 1, ymin - 1, xmax, ymax]", () => {
    // Raw devkit boxes (1-based, inclusive): gt [1, 1, 10, 10], det [1, 1, 10, 5].
    // Devkit: iw = 10 - 1 + 1 = 10, ih = 5 - 1 + 1 = 5, ua = 10 * 10 + 10 * 5 - 50 = 100: IoU 0.5.
    // Converted: gt [0, 0, 10, 10], det [0, 0, 10, 5]: 50 / 100 = 0.5, the same.
    const toContinuous = ([x1, y1, x2, y2]: number[]) => [x1! - 1, y1! - 1, x2!, y2!];
    const r = evaluateVoc([{ boxes: [toContinuous([1, 1, 10, 10])], labels: [0] }], [{ boxes: [toContinuous([1, 1, 10, 5])], scores: [1], labels: [0] }], { iouThreshold: 0.5 });
    close(r.map, 1);
  });

  it('classes without positives get -1 and stay out of mAP; images may be empty', () => {
    const r = evaluateVoc(
      [{ boxes: [[0, 0, 10, 10]], labels: [0] }, { boxes: [], labels: [] }],
      [{ boxes: [[0, 0, 10, 10]], scores: [0.5], labels: [0] }, { boxes: [[1, 1, 5, 5]], scores: [0.9], labels: [3] }],
      { classNames: ['square', 'a', 'b', 'ghost'] },
    );
    expect(r.perClass.map((c) => [c.name, c.ap])).toEqual([['square', 1], ['ghost', -1]]);
    close(r.map, 1);
    expect(evaluateVoc([], []).map).toBe(-1);
  });

  it('bad options are typed errors', () => {
    expect(() => evaluateVoc([], [], { iouThreshold: 2 })).toThrow(InvalidArgumentError);
    expect(() => evaluateVoc([], [], { method: 'x' as '11-point' })).toThrow(InvalidArgumentError);
  });
});
