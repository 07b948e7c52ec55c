// The fixed inputs of a trainer step, shared by workloads/training.mjs (W8-trainer), replica-trainer.mjs
// (its data-parallel replicas) and trainer-steps.mjs: the first batch of the synthetic set as the trainer's
// loader makes it, and the seeded generator the detector's loss samples anchors with.
import { createRandom } from '@detkit/core';

/** The trainer's default input side for SSD and Faster R-CNN on the synthetic set (apps/trainer's defaultConfig). */
export const TRAINER_IMAGE_SIZE = 128;

/**
 * The first `batchSize` images of the synthetic set's training split at {@link TRAINER_IMAGE_SIZE}, loader
 * seed 0: `{ images, targets, dispose }` of @detkit/data. @detkit/data loads here, not at import, so a
 * workload file imports while that package is unbuilt (the harness then skips the workload).
 */
export async function firstSyntheticBatch(batchSize) {
  const { createLoader, syntheticSource } = await import('@detkit/data');
  const loader = createLoader({ source: syntheticSource({ split: 'train' }), imageSize: TRAINER_IMAGE_SIZE, batchSize, seed: 0 });
  for await (const batch of loader.epoch(0)) return batch;
  throw new Error('the synthetic set gave no batch');
}

/** The generator a step's loss samples with (`detector.loss(..., { rng })`): @detkit/core's createRandom. */
export const samplingRng = (seed) => createRandom(seed);
