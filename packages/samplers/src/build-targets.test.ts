// The target builders on hand-made cases (expected values derived in the comments), edge cases, typed
// errors and leaks. torchvision parity is in fixtures.test.ts, the walk-through in walk-through.test.ts.
import { InvalidArgumentError, InvalidValueError, ShapeError, tf } from '@detkit/core';
import { createMaxIouMatcher, createSsdMatcher, PY_FASTER_RCNN_BG_THRESH_LO, ROI_MATCHER_OPTIONS, RPN_MATCHER_OPTIONS } from '@detkit/matchers';
import { describeEachBackend, expectClose, expectNoLeaks } from '@detkit/test-utils';
import { describe, expect, it } from 'vitest';
import { buildRoiTargets, buildRpnTargets, buildSsdTargets, buildSsdTargetsBatch } from './index';

const arr = (t: tf.Tensor) => t.arraySync();

describeEachBackend('buildRpnTargets', () => {
  it('labels, matches, matched boxes and (dx, dy, dw, dh) targets of a small case', () => {
    // Ground truth [1, 0, 11, 10]. Anchor 0 [0, 0, 10, 10] and anchor 1 [2, 0, 12, 10] both overlap it by
    // 9 x 10 = 90 of a 110 union (IoU 0.818 >= 0.7): positive. Anchor 2 is far away: IoU 0, negative.
    // Targets: centre 6 vs 5 (anchor 0) and 7 (anchor 1), widths equal: dx = +-1 / 10, the rest 0.
    const t = buildRpnTargets([[0, 0, 10, 10], [2, 0, 12, 10], [30, 30, 40, 40]], [[1, 0, 11, 10]], { seed: 1 });
    expect(arr(t.labels)).toEqual([1, 1, 0]);
    expect(arr(t.matches)).toEqual([0, 0, -1]);
    expect(arr(t.matchedGtBoxes)).toEqual([[1, 0, 11, 10], [1, 0, 11, 10], [0, 0, 0, 0]]);
    expectClose(t.regressionTargets, [[0.1, 0, 0, 0], [-0.1, 0, 0, 0], [0, 0, 0, 0]]);
    tf.dispose(Object.values(t));
  });

  it('no ground truth: every anchor negative, the sample all negatives, zero targets', () => {
    const anchors = tf.tensor2d(Array.from({ length: 300 }, (_, i) => [i, 0, i + 10, 10]));
    const t = buildRpnTargets(anchors, tf.zeros([0, 4]), { seed: 1 });
    const labels = arr(t.labels) as number[];
    expect(labels.filter((l) => l === 0)).toHaveLength(256);
    expect(labels.filter((l) => l === 1)).toHaveLength(0);
    expect((arr(t.matches) as number[]).every((m) => m === -1)).toBe(true);
    expect(t.regressionTargets.shape).toEqual([300, 4]);
    expect((arr(t.regressionTargets) as number[][]).flat().every((v) => v === 0)).toBe(true);
    tf.dispose([anchors, ...Object.values(t)]);
    const empty = buildRpnTargets([], [], { sampler: false });
    expect(empty.labels.shape).toEqual([0]);
    tf.dispose(Object.values(empty));
  });

  it('imageSize ignores anchors crossing the border (allowedBorder widens it) and leaves them out of matching', () => {
    // Anchor 1 crosses the right border of a 20-wide image by 2 pixels. Without imageSize it is the
    // ground truth's best anchor (IoU 1) and anchor 0 (IoU 6 x 10 / 140 = 0.43) is ignored; with imageSize
    // anchor 1 is ignored, and anchor 0 becomes the best inside anchor, positive by the highest-IoU rule.
    const anchors = [[8, 0, 18, 10], [12, 0, 22, 10], [0, 20, 10, 30]];
    const gt = [[12, 0, 22, 10]];
    expect(arr(buildRpnTargets(anchors, gt, { sampler: false }).labels)).toEqual([-1, 1, 0]);
    const inside = buildRpnTargets(anchors, gt, { sampler: false, imageSize: [40, 20] });
    expect(arr(inside.labels)).toEqual([1, -1, 0]);
    expect(arr(inside.matches)).toEqual([0, -1, -1]);
    expect(arr(buildRpnTargets(anchors, gt, { sampler: false, imageSize: [40, 20], allowedBorder: 2 }).labels)).toEqual([-1, 1, 0]);
  });

  it('leaks no tensors, also when it throws', async () => {
    const anchors = tf.tensor2d([[0, 0, 10, 10], [2, 0, 12, 10]]);
    await expectNoLeaks(() => buildRpnTargets(anchors, [[1, 0, 11, 10]], { seed: 3 }));
    await expectNoLeaks(() => buildRpnTargets(anchors, [[1, 0, 11, 10]], { seed: 3, imageSize: [10, 10] }));
    await expectNoLeaks(() => {
      expect(() => buildRpnTargets(anchors, [[1, 0, 0, 10]])).toThrow(InvalidValueError);
    });
    anchors.dispose();
  });
});

describeEachBackend('buildRoiTargets', () => {
  it('appends the ground truth: a perfect foreground RoI per box, with zero targets', () => {
    // One proposal [0, 0, 10, 10] far from the box [50, 50, 70, 90] (class 4): background. The appended box
    // (index 1) is foreground for itself: class 4, target 0.
    const t = buildRoiTargets([[0, 0, 10, 10]], [[50, 50, 70, 90]], [4], { seed: 1 });
    expect(arr(t.indices)).toEqual([0, 1]);
    expect(arr(t.proposals)).toEqual([[0, 0, 10, 10], [50, 50, 70, 90]]);
    expect(arr(t.classLabels)).toEqual([0, 4]);
    expect(arr(t.matches)).toEqual([-1, 0]);
    expect(arr(t.matchedGtBoxes)).toEqual([[0, 0, 0, 0], [50, 50, 70, 90]]);
    expectClose(t.regressionTargets, [[0, 0, 0, 0], [0, 0, 0, 0]]);
    const plain = buildRoiTargets([[0, 0, 10, 10]], [[50, 50, 70, 90]], [4], { seed: 1, appendGtBoxes: false });
    expect(arr(plain.classLabels)).toEqual([0]);
  });

  it('encodes foreground with (10, 10, 5, 5)', () => {
    // Proposal [0, 0, 20, 20] vs box [2, 0, 22, 20]: IoU 18 x 20 / 440 = 0.818, foreground. Centres 10 and
    // 12, width 20: dx = 10 * 2 / 20 = 1; dy = 0; equal sizes: dw = dh = 0.
    const t = buildRoiTargets([[0, 0, 20, 20]], [[2, 0, 22, 20]], [9], { seed: 1, appendGtBoxes: false });
    expect(arr(t.classLabels)).toEqual([9]);
    expectClose(t.regressionTargets, [[1, 0, 0, 0]]);
  });

  it('samples at most 128 RoIs, at most 32 of them foreground', () => {
    const gt = [[100, 100, 200, 200]];
    const proposals = Array.from({ length: 400 }, (_, i) => (i < 100 ? [100 + (i % 5), 100, 200 + (i % 5), 200] : [300 + i, 300, 320 + i, 330]));
    const t = buildRoiTargets(proposals, gt, [1], { seed: 5 });
    const cls = arr(t.classLabels) as number[];
    expect(cls).toHaveLength(128);
    expect(cls.filter((c) => c > 0)).toHaveLength(32);
    const indices = arr(t.indices) as number[];
    expect(indices).toEqual([...indices].sort((a, b) => a - b));
  });

  it('py-faster-rcnn\'s background range [0.1, 0.5): RoIs below 0.1 are never sampled', () => {
    // Box [0, 0, 10, 10]. Proposal 0 [5, 0, 15, 10]: IoU 50 / 150 = 0.33, background. Proposal 1
    // [9.5, 0, 19.5, 10]: IoU 5 / 195 = 0.026 < 0.1, ignored. The appended box is foreground.
    const options = { matcher: { ...ROI_MATCHER_OPTIONS, negativeMinIou: PY_FASTER_RCNN_BG_THRESH_LO }, seed: 1 };
    const t = buildRoiTargets([[5, 0, 15, 10], [9.5, 0, 19.5, 10]], [[0, 0, 10, 10]], [2], options);
    expect(arr(t.indices)).toEqual([0, 2]);
    expect(arr(t.classLabels)).toEqual([0, 2]);
    // torchvision's RoI matcher keeps proposal 1 as background.
    expect(arr(buildRoiTargets([[5, 0, 15, 10], [9.5, 0, 19.5, 10]], [[0, 0, 10, 10]], [2], { seed: 1 }).classLabels)).toEqual([0, 0, 2]);
  });

  it('no ground truth: all background, zero targets', () => {
    const t = buildRoiTargets([[0, 0, 10, 10], [5, 5, 20, 20]], [], [], { seed: 1 });
    expect(arr(t.classLabels)).toEqual([0, 0]);
    expect(arr(t.regressionTargets)).toEqual([[0, 0, 0, 0], [0, 0, 0, 0]]);
    expect(arr(t.matches)).toEqual([-1, -1]);
  });

  it('leaks no tensors', async () => {
    await expectNoLeaks(() => buildRoiTargets([[0, 0, 20, 20], [1, 1, 30, 30]], [[2, 0, 22, 20]], [3], { seed: 1 }));
  });
});

describeEachBackend('buildSsdTargets', () => {
  it('class labels, targets, and a batch equal to separate calls (an empty image included)', () => {
    const priors = [[0, 0, 10, 10], [10, 0, 20, 10], [0, 10, 10, 20], [10, 10, 20, 20]];
    const images = [
      { boxes: [[0, 0, 10, 10], [11, 11, 20, 20]], classes: [3, 5] },
      { boxes: [] as number[][], classes: [] as number[] },
      { boxes: [[10, 0, 20, 12]], classes: [2] },
    ];
    const batch = buildSsdTargetsBatch(priors, images.map((i) => i.boxes), images.map((i) => i.classes));
    expect(batch.regressionTargets.shape).toEqual([3, 4, 4]);
    // By hand: image 0, prior 0 is box 0 exactly; prior 3 is box 1's best (81 / 100 = 0.81). Image 1: none.
    // Image 2: prior 1 (IoU 100 / 120 = 0.83) is the box's best.
    expect(arr(batch.classLabels)).toEqual([[3, 0, 0, 5], [0, 0, 0, 0], [0, 2, 0, 0]]);
    images.forEach((im, b) => {
      const t = buildSsdTargets(priors, im.boxes, im.classes);
      expect(arr(t.matches)).toEqual((arr(batch.matches) as number[][])[b]);
      expect(arr(t.labels)).toEqual((arr(batch.labels) as number[][])[b]);
      expectClose(t.regressionTargets, (arr(batch.regressionTargets) as number[][][])[b]);
      expectClose(t.matchedGtBoxes, (arr(batch.matchedGtBoxes) as number[][][])[b]);
    });
    // Image 2's target for prior 1 [10, 0, 20, 10] -> box [10, 0, 20, 12]: dy = 10 * (6 - 5) / 10 = 1,
    // dh = 5 log(12 / 10).
    expectClose((arr(batch.regressionTargets) as number[][][])[2]![1]!, [0, 1, 0, 5 * Math.log(1.2)]);
  });

  it('leaks no tensors', async () => {
    const priors = tf.tensor2d([[0, 0, 10, 10], [10, 0, 20, 10]]);
    await expectNoLeaks(() => buildSsdTargets(priors, [[0, 0, 10, 10]], [1]));
    await expectNoLeaks(() => buildSsdTargetsBatch(priors, [[[0, 0, 10, 10]], []], [[1], []]));
    await expectNoLeaks(() => buildSsdTargetsBatch(priors, [], []));
    priors.dispose();
  });
});

describeEachBackend('target builders with a matcher made once', () => {
  it('give what their matcher options give, and the matcher is used (a stricter one changes the labels)', () => {
    // Anchor 0 overlaps the box by 90 / 110 = 0.818, anchor 1 by 50 / 150 = 0.333, anchor 2 not at all.
    const anchors = [[0, 0, 10, 10], [6, 0, 16, 10], [30, 30, 40, 40]];
    const gt = [[1, 0, 11, 10]];
    const made = buildRpnTargets(anchors, gt, { seed: 1, matcher: createMaxIouMatcher(RPN_MATCHER_OPTIONS) });
    const fromOptions = buildRpnTargets(anchors, gt, { seed: 1, matcher: RPN_MATCHER_OPTIONS });
    expect(arr(made.labels)).toEqual(arr(fromOptions.labels));
    expect(arr(made.labels)).toEqual([1, -1, 0]); // 0.333 lies in the ignored band [0.3, 0.7)
    // A matcher with low threshold 0.4 makes anchor 1 negative.
    const strict = buildRpnTargets(anchors, gt, { seed: 1, matcher: createMaxIouMatcher({ ...RPN_MATCHER_OPTIONS, lowThreshold: 0.4 }) });
    expect(arr(strict.labels)).toEqual([1, 0, 0]);
    const roi = buildRoiTargets(anchors, gt, [2], { seed: 1, matcher: createMaxIouMatcher({ highThreshold: 0.8, lowThreshold: 0.3 }) });
    // Foreground at >= 0.8: anchor 0 (0.818) and the appended box (1); anchor 1 (0.333) is ignored.
    expect(arr(roi.classLabels)).toEqual([2, 0, 2]);
    const priors = [[0, 0, 10, 10], [6, 0, 16, 10]];
    const ssd = buildSsdTargetsBatch(priors, [gt], [[1]], { matcher: createSsdMatcher({ threshold: 0.3 }) });
    expect(arr(ssd.labels)).toEqual([[1, 1]]); // 0.333 >= 0.3
    expect(() => buildSsdTargets(priors, gt, [1], { matcher: createSsdMatcher({}), threshold: 0.5 })).toThrow(/'threshold' and matcher are exclusive/);
    expect(() => buildSsdTargets(priors, gt, [1], { matcher: 0.5 as never })).toThrow(InvalidArgumentError);
    tf.dispose([...Object.values(made), ...Object.values(fromOptions), ...Object.values(strict), ...Object.values(roi), ...Object.values(ssd)]);
  });
});

describe('target builder input checks', () => {
  it('name the builder and the argument', () => {
    const errorOf = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as Error & { argument?: string };
      }
      throw new Error('did not throw');
    };
    let e = errorOf(() => buildRpnTargets([[0, 0, 1]], []));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toBe("buildRpnTargets: 'anchors' must have shape [N, 4], got [1, 3]");
    e = errorOf(() => buildRoiTargets([[0, 0, 1, 1]], [[0, 0, 1, 1]], [0]));
    expect(e).toBeInstanceOf(InvalidValueError);
    expect(e.argument).toBe('gtClasses');
    e = errorOf(() => buildSsdTargets([[0, 0, 1, 1]], [[0, 0, 1, 1]], [1, 2]));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toContain("'gtClasses' must have shape [1]");
    e = errorOf(() => buildSsdTargetsBatch([[0, 0, 1, 1]], [[[0, 0, 1, 1]], [[0, 0, 1, 1]]], [[1], [1, 2]]));
    expect(e.message).toContain("'gtClasses[1]'");
    expect(() => buildSsdTargetsBatch([[0, 0, 1, 1]], [[[0, 0, 1, 1]]], [])).toThrow(InvalidArgumentError);
    expect(() => buildRpnTargets([[0, 0, 1, 1]], [], { imageSize: [10] as never })).toThrow(/imageSize/);
    expect(() => buildRpnTargets([[0, 0, 1, 1]], [], { sampler: { batchSize: -1, positiveFraction: 0.5 } })).toThrow(/batchSize/);
    expect(() => buildRoiTargets([[0, 0, 1, 1]], [], [], { appendGtBoxes: 'yes' as never })).toThrow(/appendGtBoxes/);
    expect(() => buildRpnTargets([[0, 0, 1, 1]], [], { matcher: { highThreshold: 0.3, lowThreshold: 0.7 } })).toThrow(/lowThreshold/);
  });
});
