// No tensor leaks: every public op leaves tf.memory().numTensors as it found it (outputs disposed).
import { tf } from '@detkit/core';
import { describeEachBackend, expectNoLeaks } from '@detkit/test-utils';
import { it } from 'vitest';
import * as boxes from './index';

const a = [[0, 0, 10, 10], [5, 5, 20, 30], [1, 2, 3, 4]];
const b = [[0, 0, 12, 9], [4, 4, 8, 8]];
const scores = [0.9, 0.5, 0.7];

describeEachBackend('no tensor leaks', () => {
  const cases: Record<string, () => unknown> = {
    convertBoxes: () => boxes.convertBoxes(a, 'xyxy', 'cxcywh'),
    boxArea: () => boxes.boxArea(a),
    boxIou: () => boxes.boxIou(a, b),
    generalizedBoxIou: () => boxes.generalizedBoxIou(a, b),
    distanceBoxIou: () => boxes.distanceBoxIou(a, b),
    completeBoxIou: () => boxes.completeBoxIou(a, b),
    alignedBoxIou: () => boxes.alignedBoxIou(a, a),
    alignedGeneralizedBoxIou: () => boxes.alignedGeneralizedBoxIou(a, a),
    alignedDistanceBoxIou: () => boxes.alignedDistanceBoxIou(a, a),
    alignedCompleteBoxIou: () => boxes.alignedCompleteBoxIou(a, a),
    clipBoxes: () => boxes.clipBoxes(a, [8, 8]),
    removeSmallBoxes: () => boxes.removeSmallBoxes(a, 3),
    encodeBoxes: () => boxes.encodeBoxes(a, a),
    decodeBoxes: () => boxes.decodeBoxes([[0, 0, 0, 0, 1, 1, 1, 1]], [[0, 0, 10, 10]]),
    nms: () => boxes.nms(a, scores, { iouThreshold: 0.5 }),
    batchedNms: () => boxes.batchedNms(a, scores, [0, 1, 0], { iouThreshold: 0.5 }),
    softNms: () => boxes.softNms(a, scores),
    pairwiseIouOps: () => tf.tidy(() => boxes.pairwiseIouOps('ciou', tf.tensor2d(a), tf.tensor2d(b))),
    'alignedCompleteBoxIou gradient': () => tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(boxes.alignedCompleteBoxIou(x, b.concat([[2, 2, 9, 9]]))))(tf.tensor2d(a))),
  };
  for (const [name, fn] of Object.entries(cases)) {
    it(name, () => expectNoLeaks(fn));
  }
});
