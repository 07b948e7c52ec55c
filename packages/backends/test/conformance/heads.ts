// Conformance cases for @detkit/heads' roiAlign, forward and gradient (a fused kernel pair: in place on
// cpu and wasm, WGSL on webgpu, over a download elsewhere).
import { roiAlign } from '@detkit/heads';
import type { ConformanceCase } from '../../src/conformance';
import { boxes, uniform, values } from './inputs';

/** Two images of 9 x 11 cells, 3 channels (stride 8: boxes over a 72 x 88 image). */
const FEATURES = uniform([2, 9, 11, 3], 401);
const ROIS = boxes(6, 402, 70, 6, 40);
const IMAGE_OF = values([0, 1, 1, 0, 1, 0], [6], 'int32');
/** Boxes that reach past the map, a 1-pixel box and one of zero size. */
const EDGE = values([60, 50, 100, 90, -10, -10, 8, 8, 33, 21, 34, 22, 40, 40, 40, 40], [4, 4]);
const EDGE_OF = values([0, 1, 1, 0], [4], 'int32');

export const HEADS_CASES: ConformanceCase[] = [
  {
    name: 'heads/roiAlign 7x7 sampling 2 (Faster R-CNN box head)',
    inputs: [FEATURES, ROIS, IMAGE_OF],
    run: (f, b, i) => roiAlign(f, b, i, { outputSize: 7, spatialScale: 1 / 8, samplingRatio: 2 }),
    grad: [0],
  },
  {
    name: 'heads/roiAlign 3x2 adaptive sampling, aligned',
    inputs: [FEATURES, ROIS, IMAGE_OF],
    run: (f, b, i) => roiAlign(f, b, i, { outputSize: [3, 2], spatialScale: 1 / 8, samplingRatio: 0, aligned: true }),
    grad: [0],
  },
  {
    name: 'heads/roiAlign boxes past the map, tiny and empty',
    inputs: [FEATURES, EDGE, EDGE_OF],
    run: (f, b, i) => roiAlign(f, b, i, { outputSize: 2, spatialScale: 1 / 8, samplingRatio: 2 }),
    grad: [0],
  },
  {
    name: 'heads/roiAlign no boxes',
    inputs: [FEATURES, values([], [0, 4]), values([], [0], 'int32')],
    run: (f, b, i) => roiAlign(f, b, i, { outputSize: 7, spatialScale: 1 / 8, samplingRatio: 2 }),
  },
];
