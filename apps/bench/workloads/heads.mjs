// @detkit/heads' standard workloads: the proposal layer (W3) and RoIAlign / RoIPool (W5). Feature maps and
// upstream gradients are stored NHWC (detkit's layout); reference.py transposes them to NCHW before timing.
import { tf } from '@detkit/core';
import { normal, randomBoxes, rpnAnchors } from '../inputs.mjs';
import { sumOf } from './summaries.mjs';

/** W5's RoIs and feature map: [1, 50, 50, 512] NHWC (torchvision's [1, 512, 50, 50]), 128 boxes of 32..400 px. */
function roiInputs(rand, { upstream = false } = {}) {
  const inputs = {
    features: { data: normal(rand, 50 * 50 * 512), shape: [1, 50, 50, 512] },
    boxes: randomBoxes(rand, 128, { minSide: 32, maxSide: 400 }),
    boxImageIndex: { data: new Int32Array(128), shape: [128] },
  };
  if (upstream) inputs.upstream = { data: normal(rand, 128 * 7 * 7 * 512), shape: [128, 7, 7, 512] };
  return inputs;
}

const ALIGN = { outputSize: [7, 7], spatialScale: 1 / 16, samplingRatio: 2, aligned: true };

/** @type {import('../workloads.mjs').Workload[]} */
export const HEAD_WORKLOADS = [
  {
    id: 'W3',
    title: 'proposal layer, 22,500 anchors: decode, clip 800x800, drop sides < 16, top 12,000, NMS 0.7, keep 2,000',
    package: '@detkit/heads',
    target: 0.1,
    seed: 31,
    inputs: (rand) => {
      const n = 22500;
      const deltas = normal(rand, 4 * n);
      for (let i = 0; i < n; i++) {
        deltas[4 * i] *= 0.1;
        deltas[4 * i + 1] *= 0.1;
        deltas[4 * i + 2] *= 0.2;
        deltas[4 * i + 3] *= 0.2;
      }
      return {
        anchors: rpnAnchors(),
        deltas: { data: deltas, shape: [1, n, 4] },
        objectness: { data: normal(rand, n), shape: [1, n] },
      };
    },
    setup: ({ proposalLayer, PROPOSAL_PRESETS }, t) => () => {
      const { boxes, scores } = proposalLayer({ objectness: t.objectness, deltas: t.deltas, anchors: t.anchors, imageSizes: [800, 800] }, PROPOSAL_PRESETS.train);
      return [boxes[0], scores[0]];
    },
    // Kept proposals and the sum of their coordinates.
    check: async ([boxes]) => [boxes.shape[0], await sumOf(boxes)],
  },
  {
    id: 'W5a',
    group: 'W5',
    title: 'RoIAlign 7x7 forward, features [1, 512, 50, 50], 128 RoIs, scale 1/16, sampling 2, aligned',
    package: '@detkit/heads',
    seed: 51,
    inputs: (rand) => roiInputs(rand),
    setup: ({ roiAlign }, t) => () => roiAlign(t.features, t.boxes, t.boxImageIndex, ALIGN),
    check: async (out) => [await sumOf(out)],
  },
  {
    id: 'W5b',
    group: 'W5',
    title: 'RoIAlign 7x7 forward + backward (gradient with respect to the features), W5a inputs',
    package: '@detkit/heads',
    target: 1.0,
    seed: 52,
    inputs: (rand) => roiInputs(rand, { upstream: true }),
    // tf.grad(f)(x, dy): dy is the upstream gradient of roiAlign's output, as torch's backward(dy).
    setup: ({ roiAlign }, t) => () => tf.grad((x) => roiAlign(x, t.boxes, t.boxImageIndex, ALIGN))(t.features, t.upstream),
    check: async (grad) => [await sumOf(grad)],
  },
  {
    id: 'W5c',
    group: 'W5',
    title: 'RoIPool 7x7 forward, W5a inputs (scale 1/16)',
    package: '@detkit/heads',
    seed: 53,
    inputs: (rand) => roiInputs(rand),
    setup: ({ roiPool }, t) => () => roiPool(t.features, t.boxes, t.boxImageIndex, { outputSize: [7, 7], spatialScale: 1 / 16 }),
    check: async (out) => [await sumOf(out)],
  },
];
