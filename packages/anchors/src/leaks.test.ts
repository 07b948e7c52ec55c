// No tensor leaks: every public function leaves tf.memory().numTensors as it found it (outputs disposed).
import { tf } from '@detkit/core';
import { describeEachBackend, expectNoLeaks } from '@detkit/test-utils';
import { it } from 'vitest';
import * as anchors from './index';

describeEachBackend('no tensor leaks', () => {
  const cases: Record<string, () => unknown> = {
    generateAnchors: () => anchors.generateAnchors({ ...anchors.FASTER_RCNN_VGG16_ANCHORS, featureSize: [5, 4] }),
    cellAnchors: () => anchors.cellAnchors({ sizes: [32, 64] }),
    generateMultiLevelAnchors: () => anchors.generateMultiLevelAnchors({ imageSize: [64, 64], levels: [{ featureSize: [8, 8], sizes: [16] }, { featureSize: [4, 4], sizes: [32] }] }),
    anchorsInsideImage: () => anchors.anchorsInsideImage([[0, 0, 10, 10], [-5, 0, 3, 3]], [8, 8]),
    'anchorsInsideImage (tensor input)': () => tf.tidy(() => anchors.anchorsInsideImage(tf.tensor2d([[0, 0, 10, 10]]), [20, 20])),
    'anchorsInsideImage (int32 input)': () => tf.tidy(() => anchors.anchorsInsideImage(tf.tensor2d([[0, 0, 10, 10]], undefined, 'int32'), [20, 20])),
    ssdDefaultBoxes: () => anchors.ssdDefaultBoxes(anchors.SSD300),
  };
  for (const [name, fn] of Object.entries(cases)) {
    it(name, () => expectNoLeaks(fn));
  }
});
