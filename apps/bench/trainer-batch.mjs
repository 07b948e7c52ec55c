// The fixed inputs of a trainer step, shared by workloads/training.mjs (W8-trainer), replica-trainer.mjs
// (its data-parallel replicas), trainer-steps.mjs and kernel-ab.mjs: the first batch of the synthetic set
// as the trainer's loader makes it, the seeded generator the detector's loss samples anchors with, and the step.
import { createRandom } from '@detkit/core';
import { adam } from '@detkit/models';

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

/**
 * One training step as the trainer takes it, as a function: Adam (@detkit/models' `adam`, the trainer's) at `lr` over the detector's trainable
 * `variables`, on `batch`, sampling with {@link samplingRng}(1); reads the loss, so the step has finished.
 * `step.dispose()` frees the optimizer's state.
 */
export function trainerStep(detector, variables, batch, lr = 1e-3) {
  const optimizer = adam(lr);
  const rng = samplingRng(1);
  const step = () => {
    const cost = optimizer.minimize(() => detector.loss(batch.images, batch.targets, { rng }).total, true, variables);
    cost.dataSync();
    cost.dispose();
  };
  return Object.assign(step, { dispose: () => optimizer.dispose() });
}
