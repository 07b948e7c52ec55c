// The walk-through's shapes (Faster R-CNN from scratch, VGG16 at stride 16 on an 800x800 image), in
// detkit's NHWC layout. Its NCHW shapes map as [N, C, H, W] -> [N, H, W, C]:
//   feature map [1, 512, 50, 50]          -> [1, 50, 50, 512]
//   RPN deltas [1, 22500, 4], scores [1, 22500, 2] (the same: these are not feature maps)
//   128 RoIs pooled [128, 512, 7, 7]       -> [128, 7, 7, 512]
//   box head [128, 84] and [128, 21]      (the same)
// It runs at full size (a 3x3 conv of 512 -> 512 channels on 50x50, fc6 of 25,088 inputs), on wasm only:
// tfjs-backend-cpu's conv and matMul take ~80 s for it, and the shapes do not depend on the backend
// (every op here is also checked on cpu, on small instances, by the parity and gradient tests).
// fc6/fc7 are 256 wide rather than the walk-through's 4096 (or torchvision's 1024), to keep the test light:
// no output shape depends on it.
import { tf } from '@detkit/core';
import { describeEachBackend } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import { PROPOSAL_PRESETS, createBoxHead, createRpnHead, proposalLayer, roiAlign, roiPool } from './index';
import { gridAnchors } from './test-helpers';

describeEachBackend(
  "the walk-through's shapes",
  () => {
    it('RPN on [1, 50, 50, 512] gives [1, 22500, 4] and [1, 22500, 2]; 128 RoIs give [128, 7, 7, 512], then [128, 84] and [128, 21]', () => {
      const rpn = createRpnHead({ inChannels: 512, midChannels: 512, numAnchors: 9, objectnessLogits: 2, seed: 1 });
      const boxHead = createBoxHead({ inChannels: 512, numClasses: 21, representationSize: 256, seed: 2 });
      try {
        tf.tidy(() => {
          const features = tf.randomNormal([1, 50, 50, 512], 0, 1, 'float32', 3);
          const { objectness, deltas, anchorsPerLevel } = rpn.apply(features);
          expect(deltas.shape).toEqual([1, 22500, 4]);
          expect(objectness.shape).toEqual([1, 22500, 2]);
          expect(anchorsPerLevel).toEqual([22500]);

          // Anchors: scales 8, 16, 32 on stride 16 (sizes 128, 256, 512), ratios 0.5, 1, 2.
          const anchors = tf.tensor2d(gridAnchors(50, 50, 16, [128, 256, 512], [0.5, 1, 2]), [22500, 4]);
          const { boxes, scores } = proposalLayer({ objectness, deltas, anchors, imageSizes: [800, 800] }, PROPOSAL_PRESETS.train);
          const proposals = boxes[0]!;
          expect(proposals.shape[0]).toBeGreaterThan(128);
          expect(proposals.shape[0]).toBeLessThanOrEqual(2000);
          expect(scores[0]!.shape).toEqual([proposals.shape[0]]);

          const rois = tf.slice(proposals, [0, 0], [128, 4]);
          const index = tf.zeros([128], 'int32');
          const pooled = roiAlign(features, rois, index, { outputSize: 7, spatialScale: 1 / 16, samplingRatio: 2, aligned: true });
          expect(pooled.shape).toEqual([128, 7, 7, 512]);
          expect(roiPool(features, rois, index, { outputSize: 7, spatialScale: 1 / 16 }).shape).toEqual([128, 7, 7, 512]);
          // The walk-through flattens to [128, 25088] before fc6.
          expect(tf.reshape(pooled, [128, -1]).shape).toEqual([128, 25088]);

          const { classLogits, boxDeltas } = boxHead.apply(pooled);
          expect(boxDeltas.shape).toEqual([128, 84]);
          expect(classLogits.shape).toEqual([128, 21]);
        });
      } finally {
        rpn.dispose();
        boxHead.dispose();
      }
    }, 240_000); // ~3 s on a quiet machine; the full test run shares 2 cores with every other package's.
  },
  ['wasm'],
);
