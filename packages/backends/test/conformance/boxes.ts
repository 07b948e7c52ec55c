// Conformance cases for every @detkit/boxes op: fused kernels (in place on cpu and wasm, over a download
// on GPU backends), the op-composition path GPU backends use for the pairwise IoU family, and gradients
// of the differentiable forms.
import * as boxes from '@detkit/boxes';
import { createRandom, type tf } from '@detkit/core';
import type { ConformanceCase } from '../../src/conformance';
import { boxes as randomBoxes, uniform, values } from './inputs';

const A = randomBoxes(12, 101);
const B = randomBoxes(7, 102);
const B12 = randomBoxes(12, 103);
const KINDS: boxes.IouKind[] = ['iou', 'giou', 'diou', 'ciou'];

/** 60 boxes in clusters (so NMS suppresses), with distinct scores and 4 classes. */
function clustered(seed: number) {
  const rand = createRandom(seed);
  const b = new Float32Array(60 * 4);
  const s = new Float32Array(60);
  const c = new Int32Array(60);
  for (let i = 0; i < 60; i++) {
    const cx = 20 + 30 * (i % 4) + 4 * rand(), cy = 20 + 30 * ((i >> 2) % 3) + 4 * rand();
    const w = 10 + 10 * rand(), h = 10 + 10 * rand();
    b.set([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 4 * i);
    s[i] = (i * 7919) % 60 / 60 + 0.001;
    c[i] = (i * 13) % 4;
  }
  return { b: { values: b, shape: [60, 4] }, s: { values: s, shape: [60] }, c: { values: c, shape: [60], dtype: 'int32' as const } };
}
const C = clustered(104);

export const BOXES_CASES: ConformanceCase[] = [
  { name: 'boxes/boxIou (fused kernel)', inputs: [A, B], run: (a, b) => boxes.boxIou(a, b) },
  { name: 'boxes/generalizedBoxIou', inputs: [A, B], run: (a, b) => boxes.generalizedBoxIou(a, b) },
  { name: 'boxes/distanceBoxIou', inputs: [A, B], run: (a, b) => boxes.distanceBoxIou(a, b) },
  { name: 'boxes/completeBoxIou', inputs: [A, B], run: (a, b) => boxes.completeBoxIou(a, b) },
  { name: 'boxes/boxIou empty', inputs: [values([], [0, 4]), B], run: (a, b) => boxes.boxIou(a, b) },
  ...KINDS.map(
    (kind): ConformanceCase => ({
      name: `boxes/pairwiseIouOps ${kind} (GPU op-composition path)`,
      inputs: [A, B],
      run: (a, b) => boxes.pairwiseIouOps(kind, a as tf.Tensor2D, b as tf.Tensor2D),
      grad: [0, 1],
      smooth: false,
    }),
  ),
  { name: 'boxes/alignedBoxIou', inputs: [A, B12], run: (a, b) => boxes.alignedBoxIou(a, b), grad: [0, 1], smooth: false },
  { name: 'boxes/alignedGeneralizedBoxIou', inputs: [A, B12], run: (a, b) => boxes.alignedGeneralizedBoxIou(a, b), grad: [0, 1], smooth: false },
  { name: 'boxes/alignedDistanceBoxIou', inputs: [A, B12], run: (a, b) => boxes.alignedDistanceBoxIou(a, b), grad: [0, 1], smooth: false },
  { name: 'boxes/alignedCompleteBoxIou', inputs: [A, B12], run: (a, b) => boxes.alignedCompleteBoxIou(a, b), grad: [0, 1], smooth: false },
  ...boxes.BOX_FORMATS.map(
    (to): ConformanceCase => ({ name: `boxes/convertBoxes xyxy to ${to}`, inputs: [A], run: (a) => boxes.convertBoxes(a, 'xyxy', to), grad: [0] }),
  ),
  { name: 'boxes/convertBoxes cxcywh to xywh', inputs: [uniform([5, 4], 105, 1, 9)], run: (a) => boxes.convertBoxes(a, 'cxcywh', 'xywh'), grad: [0] },
  { name: 'boxes/boxArea', inputs: [A], run: (a) => boxes.boxArea(a), grad: [0] },
  { name: 'boxes/clipBoxes', inputs: [A], run: (a) => boxes.clipBoxes(a, [60, 80]), grad: [0], smooth: false },
  { name: 'boxes/removeSmallBoxes', inputs: [A], run: (a) => boxes.removeSmallBoxes(a, 20) },
  { name: 'boxes/encodeBoxes rpn weights', inputs: [B12, A], run: (t, a) => boxes.encodeBoxes(t, a), grad: [0] },
  { name: 'boxes/encodeBoxes roi weights', inputs: [B12, A], run: (t, a) => boxes.encodeBoxes(t, a, { weights: boxes.ROI_BOX_CODER_WEIGHTS }), grad: [0] },
  { name: 'boxes/decodeBoxes', inputs: [uniform([12, 8], 106, -0.5, 0.5), A], run: (d, a) => boxes.decodeBoxes(d, a), grad: [0] },
  { name: 'boxes/decodeBoxes clamped', inputs: [uniform([12, 4], 107, -6, 6), A], run: (d, a) => boxes.decodeBoxes(d, a, { weights: boxes.ROI_BOX_CODER_WEIGHTS }), grad: [0], smooth: false },
  { name: 'boxes/nms (fused kernel, download path on GPU)', inputs: [C.b, C.s], run: (b, s) => boxes.nms(b, s, { iouThreshold: 0.5 }) },
  { name: 'boxes/nms maxOutputSize scoreThreshold', inputs: [C.b, C.s], run: (b, s) => boxes.nms(b, s, { iouThreshold: 0.3, maxOutputSize: 5, scoreThreshold: 0.2 }) },
  { name: 'boxes/batchedNms', inputs: [C.b, C.s, C.c], run: (b, s, c) => boxes.batchedNms(b, s, c, { iouThreshold: 0.5 }) },
  {
    name: 'boxes/softNms gaussian',
    inputs: [C.b, C.s],
    run: (b, s) => {
      const r = boxes.softNms(b, s, { method: 'gaussian', sigma: 0.5 });
      return [r.indices, r.scores];
    },
  },
  {
    name: 'boxes/softNms linear',
    inputs: [C.b, C.s],
    run: (b, s) => {
      const r = boxes.softNms(b, s, { method: 'linear', iouThreshold: 0.3 });
      return [r.indices, r.scores];
    },
  },
];
