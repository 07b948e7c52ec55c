// @detkit/boxes' standard workloads: pairwise IoU (W1a, W1b) and NMS (W7a, W7b).
import { randomBoxes, randomClasses, randomScores, rpnAnchors } from '../inputs.mjs';
import { iouCheck, keepCheck } from './summaries.mjs';

/** @type {import('../workloads.mjs').Workload[]} */
export const BOXES_WORKLOADS = [
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
