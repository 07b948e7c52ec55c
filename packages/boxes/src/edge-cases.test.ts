// Cases worked by hand: empty inputs, degenerate boxes, ties, the > vs >= threshold rule, Soft-NMS.
import { tf } from '@detkit/core';
import { describeEachBackend, expectClose } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import {
  batchedNms,
  boxArea,
  boxIou,
  clipBoxes,
  completeBoxIou,
  convertBoxes,
  decodeBoxes,
  distanceBoxIou,
  encodeBoxes,
  generalizedBoxIou,
  nms,
  removeSmallBoxes,
  softNms,
} from './index';

const none = () => tf.zeros([0, 4]);

describeEachBackend('edge cases', () => {
  it('empty inputs give correctly shaped empty results', () => {
    const b = tf.tensor2d([[0, 0, 1, 1]]);
    expect(boxIou(none(), b).shape).toEqual([0, 1]);
    expect(boxIou(b, none()).shape).toEqual([1, 0]);
    expect(generalizedBoxIou(none(), none()).shape).toEqual([0, 0]);
    expect(boxArea(none()).shape).toEqual([0]);
    expect(convertBoxes(none(), 'xyxy', 'cxcywh').shape).toEqual([0, 4]);
    expect(clipBoxes(none(), [10, 10]).shape).toEqual([0, 4]);
    expect(encodeBoxes(none(), none()).shape).toEqual([0, 4]);
    expect(decodeBoxes(none(), none()).shape).toEqual([0, 4]);
    for (const keep of [removeSmallBoxes(none(), 1), nms(none(), [], { iouThreshold: 0.5 }), batchedNms(none(), [], tf.zeros([0], 'int32'), { iouThreshold: 0.5 })]) {
      expect(keep.shape).toEqual([0]);
      expect(keep.dtype).toBe('int32');
    }
    const soft = softNms(none(), []);
    expect(soft.indices.shape).toEqual([0]);
    expect(soft.scores.shape).toEqual([0]);
  });

  it('two zero-area boxes have IoU 0 (torchvision: NaN)', () => {
    const p = [[3, 3, 3, 3]];
    expect(boxIou(p, p).dataSync()[0]).toBe(0);
    expect(generalizedBoxIou(p, p).dataSync()[0]).toBe(0);
    // DIoU: iou 0, centres coincide: 0 - 0 / (0 + eps) = 0. CIoU: atan2(0, 0) = 0 on both sides, v = 0.
    expect(distanceBoxIou(p, p).dataSync()[0]).toBe(0);
    expect(completeBoxIou(p, p).dataSync()[0]).toBe(0);
    // A zero-area box against a real one: inter 0, union 100, IoU 0 (no NaN either way).
    expect(boxIou(p, [[0, 0, 10, 10]]).dataSync()[0]).toBe(0);
  });

  it('areas that underflow float32 count as zero in every IoU variant', () => {
    // Found by fast-check: sides of 1.4e-45 (the smallest subnormal) square to 0 in float32, as in torch,
    // but not in float64. IoU, GIoU, DIoU and CIoU must agree that the pair has no area.
    const s = 1.401298464324817e-45;
    const a = [[0, 0, s, s]];
    for (const b of [a, [[0, 0, 0, 0]]]) {
      expect(boxIou(a, b).dataSync()[0]).toBe(0);
      expect(generalizedBoxIou(a, b).dataSync()[0]).toBe(0);
    }
  });

  it('suppresses at IoU > threshold, not >= (tfjs nonMaxSuppression differs)', () => {
    // Box 1 covers exactly half of box 0: IoU = 50 / 100 = 0.5, exact in float32.
    const boxes = [[0, 0, 10, 10], [0, 0, 10, 5]];
    const scores = [0.9, 0.8];
    expect(Array.from(nms(boxes, scores, { iouThreshold: 0.5 }).dataSync())).toEqual([0, 1]);
    expect(Array.from(nms(boxes, scores, { iouThreshold: 0.49 }).dataSync())).toEqual([0]);
    // tf.image.nonMaxSuppression takes yxyx boxes and drops at IoU >= 0.5.
    const yxyx = convertBoxes(boxes, 'xyxy', 'yxyx') as tf.Tensor2D;
    const tfjs = tf.image.nonMaxSuppression(yxyx, tf.tensor1d(scores), 10, 0.5);
    expect(Array.from(tfjs.dataSync())).toEqual([0]);
  });

  it('equal scores keep the lower index first', () => {
    const same = [[0, 0, 10, 10], [0, 0, 10, 10]];
    expect(Array.from(nms(same, [0.5, 0.5], { iouThreshold: 0.5 }).dataSync())).toEqual([0]);
    const apart = [[0, 0, 1, 1], [5, 5, 6, 6], [9, 9, 10, 10], [20, 20, 21, 21]];
    expect(Array.from(nms(apart, [0.3, 0.7, 0.3, 0.7], { iouThreshold: 0.5 }).dataSync())).toEqual([1, 3, 0, 2]);
  });

  it('nms: maxOutputSize and scoreThreshold (strictly greater)', () => {
    const apart = [[0, 0, 1, 1], [5, 5, 6, 6], [9, 9, 10, 10], [20, 20, 21, 21]];
    // scoreThreshold compares in float32 as torch does: 0.2f is not > 0.2.
    const scores = [0.1, 0.4, 0.3, 0.2];
    expect(Array.from(nms(apart, scores, { iouThreshold: 0.5, maxOutputSize: 2 }).dataSync())).toEqual([1, 2]);
    expect(Array.from(nms(apart, scores, { iouThreshold: 0.5, scoreThreshold: 0.2 }).dataSync())).toEqual([1, 2]);
    expect(Array.from(nms(apart, scores, { iouThreshold: 0.5, maxOutputSize: 0 }).dataSync())).toEqual([]);
  });

  it('batchedNms keeps overlapping boxes of different classes', () => {
    const same = [[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]];
    const ids = tf.tensor1d([0, 1, 0], 'int32');
    expect(Array.from(batchedNms(same, [0.9, 0.8, 0.7], ids, { iouThreshold: 0.5 }).dataSync())).toEqual([0, 1]);
  });

  it('softNms, worked by hand (Bodla et al. 2017)', () => {
    // A = [0,0,10,10] (0.9); B = [0,0,10,5] (0.8), IoU(A, B) = 0.5; C = [20,20,30,30] (0.7), apart.
    const boxes = [[0, 0, 10, 10], [0, 0, 10, 5], [20, 20, 30, 30]];
    const scores = [0.9, 0.8, 0.7];
    // Linear, N_t = 0.3: A selected; B decays to 0.8 * (1 - 0.5) = 0.4; C unchanged; then C, then B.
    const linear = softNms(boxes, scores, { method: 'linear', iouThreshold: 0.3 });
    expect(Array.from(linear.indices.dataSync())).toEqual([0, 2, 1]);
    expectClose(linear.scores, [0.9, 0.7, 0.4]);
    // Gaussian, sigma 0.5: B decays to 0.8 * exp(-0.5^2 / 0.5) = 0.8 * exp(-0.5) = 0.48522453.
    const gaussian = softNms(boxes, scores, { method: 'gaussian', sigma: 0.5 });
    expect(Array.from(gaussian.indices.dataSync())).toEqual([0, 2, 1]);
    expectClose(gaussian.scores, [0.9, 0.7, 0.8 * Math.exp(-0.5)]);
    // A decayed score under scoreThreshold drops the box.
    const dropped = softNms(boxes, scores, { method: 'linear', iouThreshold: 0.3, scoreThreshold: 0.45 });
    expect(Array.from(dropped.indices.dataSync())).toEqual([0, 2]);
    // Linear below N_t leaves scores alone: hard NMS order.
    const untouched = softNms(boxes, scores, { method: 'linear', iouThreshold: 0.6 });
    expectClose(untouched.scores, [0.9, 0.8, 0.7]);
  });

  it('int32 boxes are read as their float32 values', () => {
    const a = tf.tensor2d([[0, 0, 10, 10]], [1, 4], 'int32');
    const b = tf.tensor2d([[0, 0, 10, 5]], [1, 4], 'int32');
    // IoU = 50 / 100.
    expect(boxIou(a, b).dataSync()[0]).toBe(0.5);
    tf.dispose([a, b]);
  });

  it('clipBoxes clamps x to [0, width] and y to [0, height]', () => {
    // imageSize is [height, width] = [50, 100].
    expectClose(clipBoxes([[-5, -5, 120, 60]], [50, 100]), [[0, 0, 100, 50]]);
  });

  it('convertBoxes accepts batched [..., 4] boxes', () => {
    const batched = tf.tensor3d([[[0, 0, 4, 2]], [[1, 1, 3, 3]]]);
    expectClose(convertBoxes(batched, 'xyxy', 'cxcywh'), [[[2, 1, 4, 2]], [[2, 2, 2, 2]]]);
  });
});
