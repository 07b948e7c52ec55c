// rpnLoss and fastRcnnLoss beyond the fixtures: each normalisation on a case small enough to derive by
// hand, the walk-through's shapes, empty mini-batches.
import { tf } from '@detkit/core';
import { describeEachBackend, expectClose } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import { fastRcnnLoss, rpnLoss } from './index';

const LN2 = Math.log(2);
/** Two anchors, logits 0 (BCE ln 2 each), anchor 0 positive with d = (0.5, 0, 0, 0), anchor 1 negative. */
const objectness = [[0, 0]];
const deltas = [[[0.5, 1, 1, 1], [3, 3, 3, 3]]];
const targets = [[[0, 1, 1, 1], [0, 0, 0, 0]]];
const labels = [[1, 0]];
const parts = (l: { total: tf.Tensor; classification: tf.Tensor; regression: tf.Tensor }) => [l.classification, l.regression, l.total].map((t) => t.dataSync()[0] as number);

describeEachBackend('rpnLoss and fastRcnnLoss by hand', () => {
  it("'torchvision': both sums / the 2 sampled anchors, beta 1/9, lambda 1", () => {
    // smooth L1 (beta 1/9) at |d| = 0.5 >= 1/9: 0.5 - 0.5 / 9 = 4/9; 3s on the negative anchor do not count.
    const cls = (2 * LN2) / 2;
    const reg = 4 / 9 / 2;
    expectClose(parts(rpnLoss(objectness, deltas, labels, targets)), [cls, reg, cls + reg]);
  });

  it("'paper': N_cls = sampled, N_reg = anchors / 9, lambda 10, beta 1; or given numbers", () => {
    const reg = 0.5 * 0.25; // 0.5 d^2 at d = 0.5
    expectClose(parts(rpnLoss(objectness, deltas, labels, targets, { normalization: 'paper' })), [LN2, reg / (2 / 9), LN2 + (10 * reg) / (2 / 9)]);
    expectClose(parts(rpnLoss(objectness, deltas, labels, targets, { normalization: 'paper', nCls: 256, nReg: 2400, lambda: 1 })), [(2 * LN2) / 256, reg / 2400, (2 * LN2) / 256 + reg / 2400]);
    expectClose(parts(rpnLoss(objectness, deltas, labels, targets, { normalization: 'paper', nReg: 'positives' })), [LN2, reg, LN2 + 10 * reg]);
  });

  it("'keras-frcnn': (eps + flag) summed over anchors, and over 4 coordinates for the regression", () => {
    const eps = 1e-4;
    const cls = (2 * LN2) / (2 + 2 * eps);
    const reg = (0.5 * 0.25) / (4 * 1 + 4 * 2 * eps);
    expectClose(parts(rpnLoss(objectness, deltas, labels, targets, { normalization: 'keras-frcnn' })), [cls, reg, cls + reg]);
  });

  it('2-way softmax objectness: the same log loss as one sigmoid logit of the difference', () => {
    const two = rpnLoss([[[0, 1.5], [0.2, -0.7]]], deltas, labels, targets);
    const one = rpnLoss([[1.5, -0.9]], deltas, labels, targets);
    expectClose(parts(two), parts(one));
  });

  it("nothing sampled gives 0, not NaN; 'sum' and 'none'", () => {
    for (const normalization of ['torchvision', 'paper', 'keras-frcnn'] as const) {
      expect(parts(rpnLoss(objectness, deltas, [[-1, -1]], targets, { normalization }))).toEqual([0, 0, 0]);
    }
    const sum = parts(rpnLoss(objectness, deltas, labels, targets, { reduction: 'sum' }));
    expectClose(sum, [2 * LN2, 4 / 9, 2 * LN2 + 4 / 9]);
    const none = rpnLoss(objectness, deltas, [[1, -1]], targets, { reduction: 'none' });
    expect(none.classification.shape).toEqual([1, 2]);
    expectClose(none.classification, [[LN2, 0]]);
    expectClose(none.regression, [[4 / 9, 0]]);
  });

  it("the walk-through's shapes: [1, 22500, 2] objectness and [1, 22500, 4] deltas; 128 RoIs, [128, 21] and [128, 84]", () => {
    tf.tidy(() => {
      const anchorLabels = tf.randomUniform([1, 22500], -1, 2, 'int32', 1); // -1, 0 or 1
      const rpn = rpnLoss(tf.randomNormal([1, 22500, 2], 0, 1, 'float32', 3), tf.randomNormal([1, 22500, 4], 0, 1, 'float32', 4), anchorLabels, tf.zeros([1, 22500, 4]), { normalization: 'paper', nReg: 'positives', reduction: 'none' });
      expect(rpn.classification.shape).toEqual([1, 22500]);
      expect(rpn.regression.shape).toEqual([1, 22500]);
      const roiLabels = tf.concat([tf.randomUniform([32], 1, 21, 'int32', 5), tf.zeros([96], 'int32')]);
      const roi = fastRcnnLoss(tf.randomNormal([128, 21], 0, 1, 'float32', 6), tf.randomNormal([128, 84], 0, 1, 'float32', 7), roiLabels, tf.zeros([128, 4]), { normalization: 'walk-through' });
      expect(roi.total.shape).toEqual([]);
      expect(Number.isFinite(roi.total.dataSync()[0])).toBe(true);
      const perRoi = fastRcnnLoss(tf.randomNormal([128, 21], 0, 1, 'float32', 6), tf.randomNormal([128, 84], 0, 1, 'float32', 7), roiLabels, tf.zeros([128, 4]), { reduction: 'none' });
      expect(perRoi.classification.shape).toEqual([128]);
    });
  });

  it('fastRcnnLoss: only the true class deltas of positive RoIs; no positives or all ignored give finite values', () => {
    // RoI 0 is class 2 of 3: its deltas are columns 8..11; RoI 1 is background (no regression).
    const regression = [[9, 9, 9, 9, 9, 9, 9, 9, 1, 0, 0, 0], [5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5]];
    const loss = fastRcnnLoss([[0, 0, 0], [0, 0, 0]], regression, [2, 0], [[0, 0, 0, 0], [0, 0, 0, 0]], { reduction: 'sum', beta: 1 });
    expectClose(parts(loss), [2 * Math.log(3), 0.5, 2 * Math.log(3) + 0.5]);
    expect(parts(fastRcnnLoss([[0, 1]], [[0, 0, 0, 0, 0, 0, 0, 0]], [-1], [[0, 0, 0, 0]]))).toEqual([0, 0, 0]);
    expectClose(parts(fastRcnnLoss([[0, 0]], [[0, 0, 0, 0, 0, 0, 0, 0]], [0], [[1, 1, 1, 1]], { normalization: 'walk-through' })), [LN2, 0, LN2]);
  });
});
