// evaluateCoco on cases worked by hand, each traced to pycocotools' cocoeval.py.
import { DetkitError, InvalidArgumentError, InvalidValueError, ShapeError, tf } from '@detkit/core';
import { describeEachBackend, expectNoLeaks } from '@detkit/test-utils';
import { describe, expect, it } from 'vitest';
import { COCO_IOU_THRESHOLDS, COCO_RECALL_THRESHOLDS, evaluateCoco, type Detections, type GroundTruth } from './index';

const close = (a: number, b: number) => expect(a).toBeCloseTo(b, 12);

describe('evaluateCoco, worked by hand', () => {
  it('thresholds are the linspace values pycocotools compares with', () => {
    // np.linspace(.5, .95, 10) = i * 0.049999999999999996 + 0.5: 0.8999999999999999 at i = 8, 0.75 exactly at i = 5.
    expect(COCO_IOU_THRESHOLDS).toHaveLength(10);
    expect(COCO_IOU_THRESHOLDS[5]).toBe(0.75);
    expect(COCO_IOU_THRESHOLDS[8]).toBe(0.8999999999999999);
    expect(COCO_RECALL_THRESHOLDS[3]).toBe(0.03);
    expect(COCO_RECALL_THRESHOLDS[100]).toBe(1);
  });

  it('perfect detections give 1.0', () => {
    // Every detection matches its own ground truth at IoU 1: tp = 1, 2, 3, fp = 0, so precision is
    // tp / (tp + eps) ~ 1 at every recall threshold and recall is 1 (cocoeval.py accumulate()).
    const gt: GroundTruth[] = [
      { boxes: [[0, 0, 10, 10], [20, 20, 60, 70]], labels: [1, 1] },
      { boxes: [[5, 5, 205, 105]], labels: [2] },
    ];
    const dt: Detections[] = [
      { boxes: [[20, 20, 60, 70], [0, 0, 10, 10]], scores: [0.3, 0.9], labels: [1, 1] },
      { boxes: [[5, 5, 205, 105]], scores: [0.5], labels: [2] },
    ];
    const r = evaluateCoco(gt, dt);
    for (const key of ['ap', 'ap50', 'ap75', 'ar10', 'ar100'] as const) close(r.stats[key], 1);
    // Areas 100 (small), 2000 (medium), 20000 (large): each range holds one class's objects.
    close(r.stats.apSmall, 1);
    close(r.stats.apLarge, 1);
    // AR@1: one detection per image. Image 0 keeps only its 0.9 detection: class 1 recall 1/2; class 2 recall 1.
    close(r.stats.ar1, (0.5 + 1) / 2);
    expect(r.perClass.map((p) => [p.classId, p.numGroundTruth, p.numDetections])).toEqual([[1, 2, 2], [2, 1, 1]]);
  });

  it('one false positive ranked first gives AP 0.5', () => {
    // dt: FP (0.9), TP (0.8); npig = 1. rc = [0, 1], pr = [0, 0.5 - eps]; made monotone from the right:
    // [0.5, 0.5]. searchsorted(rc, 0) = 0 and searchsorted(rc, r > 0) = 1, so all 101 points read 0.5
    // at every IoU threshold: AP = AP50 = AP75 = 0.5. AR@100 = 1; AR@1 sees only the FP: 0.
    const r = evaluateCoco(
      [{ boxes: [[0, 0, 10, 10]], labels: [0] }],
      [{ boxes: [[50, 50, 60, 60], [0, 0, 10, 10]], scores: [0.9, 0.8], labels: [0, 0] }],
    );
    close(r.stats.ap, 0.5);
    close(r.stats.ap50, 0.5);
    close(r.stats.ap75, 0.5);
    close(r.stats.ar100, 1);
    close(r.stats.ar1, 0);
    const curve = r.curve(0);
    expect(curve.recall).toHaveLength(101);
    curve.precision.forEach((p) => close(p, 0.5));
  });

  it('a detection inside a crowd region is ignored, not a false positive', () => {
    // Crowd IoU is intersection / detection area (maskApi.c bbIou): det [120, 120, 140, 140] in crowd
    // [100, 100, 200, 200] scores 400 / 400 = 1 and matches it; matched-to-ignored detections are
    // ignored (dtIg = gtIg[m]). Left: the TP alone, AP = 1.
    const gt = { boxes: [[0, 0, 10, 10], [100, 100, 200, 200]], labels: [0, 0], iscrowd: [0, 1] };
    const dt = { boxes: [[120, 120, 140, 140], [0, 0, 10, 10]], scores: [0.9, 0.8], labels: [0, 0] };
    close(evaluateCoco([gt], [dt]).stats.ap, 1);
    // Without the crowd flag the region is a regular object: the 0.9 detection has IoU 400 / 10000 and
    // is a FP, npig = 2: rc = [0, 0.5], pr = [0, 0.5] -> q = 0.5 for r <= 0.5 (51 of 101 points), 0
    // beyond: AP = 51 * 0.5 / 101.
    close(evaluateCoco([{ ...gt, iscrowd: [0, 0] }], [dt]).stats.ap, (51 * 0.5) / 101);
  });

  it('a crowd region can absorb several detections', () => {
    // Two detections inside one crowd region: both match it (crowd ground truth is never "used up"),
    // both are ignored; nothing else: no regular ground truth, so every AP is -1 (pycocotools' absent).
    const r = evaluateCoco(
      [{ boxes: [[0, 0, 100, 100]], labels: [0], iscrowd: [true] }],
      [{ boxes: [[10, 10, 20, 20], [50, 50, 60, 60]], scores: [0.9, 0.8], labels: [0, 0] }],
    );
    expect(r.stats.ap).toBe(-1);
    expect(r.perClass[0]?.ap).toBe(-1);
  });

  it('area ranges are inclusive at both ends and use the given area', () => {
    // Object area 1024 = 32²: inside small [0, 1024] and medium [1024, 9216] (cocoeval.py compares
    // area < lo or area > hi). The box is 40 x 40 = 1600, but the given (segment) area decides.
    const gt = [{ boxes: [[0, 0, 40, 40]], labels: [0], area: [1024] }];
    const dt = [{ boxes: [[0, 0, 40, 40]], scores: [1], labels: [0] }];
    const r = evaluateCoco(gt, dt);
    close(r.stats.apSmall, 1);
    close(r.stats.apMedium, 1);
    expect(r.stats.apLarge).toBe(-1);
  });

  it('maxDets limits detections per image, best scores first', () => {
    // Two objects, detections 0.9 and 0.8 both TPs. maxDets 1 keeps the 0.9 one: recall 1/2.
    const r = evaluateCoco(
      [{ boxes: [[0, 0, 10, 10], [20, 20, 30, 30]], labels: [0, 0] }],
      [{ boxes: [[20, 20, 30, 30], [0, 0, 10, 10]], scores: [0.8, 0.9], labels: [0, 0] }],
    );
    close(r.stats.ar1, 0.5);
    close(r.stats.ar10, 1);
    const r2 = evaluateCoco(
      [{ boxes: [[0, 0, 10, 10], [20, 20, 30, 30]], labels: [0, 0] }],
      [{ boxes: [[20, 20, 30, 30], [0, 0, 10, 10]], scores: [0.8, 0.9], labels: [0, 0] }],
      { maxDets: [1, 1, 1] },
    );
    // AP with one detection: rc = [0.5], pr = [1] -> 1 for r <= 0.5 (51 points), 0 beyond.
    close(r2.stats.ap, 51 / 101);
  });

  it('empty inputs: no images, images without objects or detections', () => {
    const none = evaluateCoco([], []);
    expect(none.statsArray).toEqual(new Array(12).fill(-1));
    expect(none.perClass).toEqual([]);
    const r = evaluateCoco([{ boxes: [], labels: [] }, { boxes: [[0, 0, 5, 5]], labels: [3] }], [{ boxes: [], scores: [], labels: [] }, { boxes: [], scores: [], labels: [] }]);
    close(r.stats.ap, 0);
    close(r.stats.ar100, 0);
  });

  it('detections of classes not evaluated are ignored; names label the table', () => {
    const r = evaluateCoco([{ boxes: [[0, 0, 10, 10]], labels: [1] }], [{ boxes: [[0, 0, 10, 10], [0, 0, 10, 10]], scores: [0.5, 0.9], labels: [1, 7] }], {
      classes: [1],
      classNames: ['bg', 'cat'],
    });
    close(r.stats.ap, 1);
    expect(r.perClass.map((p) => p.name)).toEqual(['cat']);
  });

  it('bad input: typed errors naming the image and field', () => {
    const thrown = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        expect(DetkitError.isInstance(e)).toBe(true);
        return e as DetkitError & { argument: string; index: number };
      }
      throw new Error('expected an error');
    };
    const gt = [{ boxes: [[0, 0, 10, 10]], labels: [0] }];
    expect(thrown(() => evaluateCoco(gt, []))).toBeInstanceOf(InvalidArgumentError);
    const nan = thrown(() => evaluateCoco(gt, [{ boxes: [[0, 0, 1, 1], [0, NaN, 1, 1]], scores: [1, 1], labels: [0, 0] }]));
    expect(nan).toBeInstanceOf(InvalidValueError);
    expect(nan.argument).toBe('detections[0].boxes');
    expect(nan.index).toBe(1);
    expect(thrown(() => evaluateCoco([{ boxes: [[5, 0, 1, 1]], labels: [0] }], [{ boxes: [], scores: [], labels: [] }])).message).toContain('x2 < x1');
    expect(thrown(() => evaluateCoco(gt, [{ boxes: [[0, 0, 1, 1]], scores: [1, 2], labels: [0] }]))).toBeInstanceOf(ShapeError);
    expect(thrown(() => evaluateCoco(gt, [{ boxes: [[0, 0, 1, 1, 1]], scores: [1], labels: [0] }]))).toBeInstanceOf(ShapeError);
    expect(thrown(() => evaluateCoco(gt, [{ boxes: [[0, 0, 1, 1]], scores: [NaN], labels: [0] }])).argument).toBe('detections[0].scores');
    expect(thrown(() => evaluateCoco(gt, [{ boxes: [[0, 0, 1, 1]], scores: [1], labels: [0.5] }])).argument).toBe('detections[0].labels');
    expect(thrown(() => evaluateCoco(gt, [{ boxes: [], scores: [], labels: [] }], { maxDets: [10, 1, 100] })).argument).toBe('maxDets');
    expect(thrown(() => evaluateCoco(gt, [{ boxes: [], scores: [], labels: [] }]).curve(5)).argument).toBe('classId');
  });

  it('checks its own invariants on random data: AP, AR in [0, 1]; AP50 >= AP75', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const gt: GroundTruth[] = [], dt: Detections[] = [];
    for (let i = 0; i < 20; i++) {
      const boxes: number[][] = [], labels: number[] = [];
      for (let j = 0; j < 4; j++) {
        const x = rand() * 200, y = rand() * 200;
        boxes.push([x, y, x + 5 + rand() * 80, y + 5 + rand() * 80]);
        labels.push(Math.floor(rand() * 3));
      }
      gt.push({ boxes, labels });
      dt.push({ boxes: boxes.map((b) => b.map((v) => v + (rand() - 0.5) * 8)).map(([a, b2, c, d]) => [a!, b2!, Math.max(a!, c!), Math.max(b2!, d!)]), scores: boxes.map(() => rand()), labels });
    }
    const r = evaluateCoco(gt, dt);
    for (const v of r.statsArray) expect(v === -1 || (v >= 0 && v <= 1)).toBe(true);
    expect(r.stats.ap50).toBeGreaterThanOrEqual(r.stats.ap75);
    expect(r.stats.ar100).toBeGreaterThanOrEqual(r.stats.ar10);
    expect(r.stats.ar10).toBeGreaterThanOrEqual(r.stats.ar1);
  });
});

describeEachBackend('evaluateCoco with tensors', () => {
  it('accepts tensors and flat arrays, and leaves no tensors behind', async () => {
      const flat = evaluateCoco([{ boxes: new Float32Array([0, 0, 10, 10]), labels: new Int32Array([0]) }], [{ boxes: [50, 50, 60, 60, 0, 0, 10, 10], scores: [0.9, 0.8], labels: [0, 0] }]);
      close(flat.stats.ap, 0.5);
      await expectNoLeaks(() => {
        const boxes = tf.tensor2d([[50, 50, 60, 60], [0, 0, 10, 10]]);
        const scores = tf.tensor1d([0.9, 0.8]);
        const labels = tf.tensor1d([0, 0], 'int32');
        const gtBoxes = tf.tensor2d([[0, 0, 10, 10]]);
        const r = evaluateCoco([{ boxes: gtBoxes, labels: [0] }], [{ boxes, scores, labels }]);
        close(r.stats.ap, 0.5);
        tf.dispose([boxes, scores, labels, gtBoxes]);
      });
    });
});
