// Replica module of the data-parallel trainer steps (run.mjs's threads comparison): the trainer's default
// detector, Adam, and this replica's contiguous shard of the first batch of the synthetic set (the same
// batch W8-trainer times in one process). Started by @detkit/backends' startDataParallel.
import { runReplica } from '@detkit/backends';
import { tf } from '@detkit/core';
import { firstSyntheticBatch, samplingRng, TRAINER_IMAGE_SIZE } from './trainer-batch.mjs';

runReplica(async ({ rank, replicas, options }) => {
  const models = await import('@detkit/models');
  const { factory, batch, lr } = options;
  const detector = models[factory]({ numClasses: 4, imageSize: TRAINER_IMAGE_SIZE, seed: 0 });
  const data = await firstSyntheticBatch(batch);
  const per = batch / replicas;
  const images = tf.slice(data.images, [rank * per, 0, 0, 0], [per, -1, -1, -1]);
  const targets = data.targets.slice(rank * per, (rank + 1) * per);
  data.dispose();
  const rng = samplingRng(1 + rank);
  return {
    variables: models.trainableVariables(detector),
    optimizer: models.adam(lr), // the trainer's Adam
    loss: () => detector.loss(images, targets, { rng }).total,
    dispose: () => {
      images.dispose();
      detector.dispose();
    },
  };
});
