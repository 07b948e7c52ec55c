// The standard workloads of /work/shared/BENCHMARKS.md, detkit side. reference.py holds the torchvision
// side under the same ids. To add one, append an entry here and a function there (see README.md).
import { randomBoxes, randomClasses, randomScores, rpnAnchors } from './inputs.mjs';

/**
 * @typedef {{ data: Float32Array | Int32Array, shape: number[] }} HostArray
 * @typedef {object} Workload
 * @property {string} id - BENCHMARKS.md id; reference.py's WORKLOADS uses the same key.
 * @property {string} title
 * @property {string} package - The detkit package whose op is timed; the workload is skipped when it
 *   cannot be imported (not yet written, or not built).
 * @property {number} [target] - The issue's target for median(detkit wasm) / median(torchvision).
 * @property {number} seed - Seed of the inputs' PRNG.
 * @property {(rand: () => number) => Record<string, HostArray>} inputs - Inputs, made once, shared with
 *   reference.py. Each becomes a tensor of its dtype on the backend before timing.
 * @property {(pkg: any, t: Record<string, import('@detkit/core').tf.Tensor>) => () => unknown} setup -
 *   Returns the timed call: tensors in, output tensor(s) out (the harness disposes them).
 * @property {(out: any) => Promise<number[]>} check - A few numbers summing the output, compared
 *   against reference.py's `check` for the same workload (integers exactly, floats to 1e-4).
 */

const iouCheck = async (iou) => {
  const v = await iou.data();
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i];
  return [sum];
};

/** Kept count and the sum of kept indices: cheap, order-free and sensitive to which boxes survive. */
const keepCheck = async (keep) => {
  const v = await keep.data();
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i];
  return [v.length, sum];
};

/** @type {Workload[]} */
export const WORKLOADS = [
  {
    id: 'W1a',
    title: 'pairwise IoU, 22,500 RPN anchors x 2 GT',
    package: '@detkit/boxes',
    target: 1.0,
    seed: 11,
    inputs: (rand) => ({ anchors: rpnAnchors(), gt: randomBoxes(rand, 2, { minSide: 40, maxSide: 400 }) }),
    setup: ({ boxIou }, t) => () => boxIou(t.anchors, t.gt),
    check: iouCheck,
  },
  {
    id: 'W1b',
    title: 'pairwise IoU, 200,000 random boxes x 50 GT',
    package: '@detkit/boxes',
    target: 0.1,
    seed: 12,
    inputs: (rand) => ({ boxes: randomBoxes(rand, 200_000), gt: randomBoxes(rand, 50, { minSide: 40, maxSide: 400 }) }),
    setup: ({ boxIou }, t) => () => boxIou(t.boxes, t.gt),
    check: iouCheck,
  },
  {
    id: 'W7a',
    title: 'NMS, 12,000 random boxes, IoU 0.7, keep all',
    package: '@detkit/boxes',
    target: 0.1,
    seed: 71,
    inputs: (rand) => ({ boxes: randomBoxes(rand, 12_000), scores: randomScores(rand, 12_000) }),
    setup: ({ nms }, t) => () => nms(t.boxes, t.scores, { iouThreshold: 0.7 }),
    check: keepCheck,
  },
  {
    id: 'W7b',
    title: 'class-aware NMS, 5,000 boxes, 80 classes, IoU 0.5',
    package: '@detkit/boxes',
    target: 1.0,
    seed: 72,
    inputs: (rand) => ({
      boxes: randomBoxes(rand, 5_000),
      scores: randomScores(rand, 5_000),
      classIds: randomClasses(rand, 5_000, 80),
    }),
    setup: ({ batchedNms }, t) => () => batchedNms(t.boxes, t.scores, t.classIds, { iouThreshold: 0.5 }),
    check: keepCheck,
  },
];
