// Replica module of the data-parallel trainer steps (run.mjs's threads comparison): the trainer's default
// detector, Adam, and this replica's contiguous shard of the first batch of the synthetic set (the same
// batch W8-trainer times in one process). Started by @detkit/backends' startDataParallel.
import { runReplica } from '@detkit/backends';
import { tf } from '@detkit/core';

runReplica(async ({ rank, replicas, options }) => {
  const { createLoader, syntheticSource } = await import('@detkit/data');
  const models = await import('@detkit/models');
  const { factory, batch, lr } = options;
  const detector = models[factory]({ numClasses: 4, imageSize: 128, seed: 0 });
  const loader = createLoader({ source: syntheticSource({ split: 'train' }), imageSize: 128, batchSize: batch, seed: 0 });
  let data;
  for await (const b of loader.epoch(0)) {
    data = b;
    break;
  }
  const per = batch / replicas;
  const images = tf.slice(data.images, [rank * per, 0, 0, 0], [per, -1, -1, -1]);
  const targets = data.targets.slice(rank * per, (rank + 1) * per);
  data.dispose();
  let s = 1 + rank;
  const rng = () => (s = (s * 1103515245 + 12345) >>> 0) / 4294967296;
  return {
    variables: models.trainableVariables(detector),
    optimizer: tf.train.adam(lr),
    loss: () => detector.loss(images, targets, { rng }).total,
    dispose: () => {
      images.dispose();
      detector.dispose();
    },
  };
});
