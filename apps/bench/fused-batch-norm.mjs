// The fused batch norm's effect on whole training steps: @detkit/backends' batch-norm kernels registered and
// unregistered in turns in one process (@detkit/models' batchNormTrain then runs tfjs's op chain), 8 rounds of
// 2 steps each, medians in ms. Run after a build: `node apps/bench/fused-batch-norm.mjs [threads]` (default 2).
import { useBackend } from '@detkit/backends';
import { BATCH_NORM_TRAIN_KERNELS, tf } from '@detkit/core';
import { createFasterRcnn, createSsd, trainableVariables } from '@detkit/models';
import { firstSyntheticBatch, trainerStep, TRAINER_IMAGE_SIZE } from './trainer-batch.mjs';

await useBackend('wasm', { threads: Number(process.argv[2] ?? 2) });
const fused = Object.values(BATCH_NORM_TRAIN_KERNELS).map((name) => tf.getKernel(name, 'wasm'));
const useFused = (on) => {
  for (const kernel of fused) {
    if (tf.getKernel(kernel.kernelName, 'wasm') !== undefined) tf.unregisterKernel(kernel.kernelName, 'wasm');
    if (on) tf.registerKernel(kernel);
  }
};

const size = TRAINER_IMAGE_SIZE;
const MODELS = [
  { name: "the trainer's default SSD (16 images, strides 8-32)", batch: 16, make: () => createSsd({ numClasses: 4, imageSize: size, seed: 0 }) },
  {
    name: 'the SSD --data picks for small objects (8 images, strides 4-16)',
    batch: 8,
    make: () =>
      createSsd({ numClasses: 4, imageSize: size, seed: 0, backbone: { channels: [16, 32, 64, 96], convsPerStage: [1, 2, 2, 2], outputStrides: [4, 8, 16] }, defaultBoxes: { steps: [4, 8, 16] } }),
  },
  { name: 'Faster R-CNN (8 images)', batch: 8, make: () => createFasterRcnn({ numClasses: 4, imageSize: size, seed: 0 }) },
];

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
for (const model of MODELS) {
  const detector = model.make();
  const batch = await firstSyntheticBatch(model.batch);
  const step = trainerStep(detector, trainableVariables(detector), batch);
  const times = { fused: [], chain: [] };
  for (let round = 0; round < 8; round++) {
    for (const mode of ['fused', 'chain']) {
      useFused(mode === 'fused');
      step();
      const start = performance.now();
      step();
      step();
      times[mode].push((performance.now() - start) / 2);
    }
  }
  const [chain, withFused] = [median(times.chain), median(times.fused)];
  console.log(`${model.name}: op chain ${chain.toFixed(1)} ms, fused ${withFused.toFixed(1)} ms, ${(chain / withFused).toFixed(2)}x`);
  useFused(true);
  step.dispose();
  batch.dispose();
  detector.dispose();
}
