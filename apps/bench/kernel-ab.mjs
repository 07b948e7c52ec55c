// Whole training steps with some of @detkit/backends' wasm kernels on and off in turns, in one process: a kernel
// detkit adds is unregistered (for the fused batch norm, @detkit/models' batchNormTrain then runs tfjs's op
// chain), one it replaces gives way to tfjs-backend-wasm's own (kept on the config under
// Symbol.for('detkit.backends.replaced')); an argument `flag:NAME` turns a boolean tfjs flag off and on instead
// (`flag:DETKIT_WINOGRAD`: the direct convolutions against Winograd's). 8 rounds of 2 steps each, medians in
// ms; W8's step (test-utils rpn-net) too. Run after a build:
//
//   node apps/bench/kernel-ab.mjs [threads] [kernel | flag:NAME ...]     # default: 2, the fused batch norm's two kernels
import { useBackend } from '@detkit/backends';
import { BATCH_NORM_TRAIN_KERNELS, tf } from '@detkit/core';
import { createFasterRcnn, createSsd, trainableVariables } from '@detkit/models';
import { createRpnNet, rpnTargets, trainStep as rpnTrainStep } from '@detkit/test-utils/rpn-net';
import { firstSyntheticBatch, trainerStep, TRAINER_IMAGE_SIZE } from './trainer-batch.mjs';

await useBackend('wasm', { threads: Number(process.argv[2] ?? 2) });
const args = process.argv.length > 3 ? process.argv.slice(3) : Object.values(BATCH_NORM_TRAIN_KERNELS);
const flags = args.filter((a) => a.startsWith('flag:')).map((a) => a.slice(5));
const names = args.filter((a) => !a.startsWith('flag:'));
const REPLACED = Symbol.for('detkit.backends.replaced');
const ours = names.map((name) => {
  const kernel = tf.getKernel(name, 'wasm');
  if (kernel === undefined) throw new Error(`no wasm kernel named ${name}`);
  return kernel;
});
const useOurs = (on) => {
  for (const flag of flags) tf.env().set(flag, on);
  for (const kernel of ours) {
    if (tf.getKernel(kernel.kernelName, 'wasm') !== undefined) tf.unregisterKernel(kernel.kernelName, 'wasm');
    if (on) tf.registerKernel(kernel);
    else if (kernel[REPLACED] !== undefined) tf.registerKernel(kernel[REPLACED]);
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
  { name: 'W8 (rpn-net, 2 x 320 x 320, SGD momentum)', w8: true },
];

/** W8's step as a `trainerStep`-like function (call it; `.dispose()`). */
function w8Step() {
  const net = createRpnNet(tf);
  const images = tf.randomUniform([2, 320, 320, 3], 0, 1, 'float32', 3);
  const targets = rpnTargets(tf, [2, 20, 20]);
  const optimizer = tf.train.momentum(0.01, 0.9);
  const step = () => rpnTrainStep(tf, net, optimizer, images, targets);
  step.dispose = () => {
    optimizer.dispose();
    optimizer.c?.dispose();
    tf.dispose([...net.params, images, targets.labels, targets.targets]);
  };
  return step;
}

console.log(`${args.join(', ')}: tfjs's (or its op chain) -> detkit's, ${process.argv[2] ?? 2} thread(s)`);
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
for (const model of MODELS) {
  const detector = model.w8 ? undefined : model.make();
  const batch = model.w8 ? undefined : await firstSyntheticBatch(model.batch);
  const step = model.w8 ? w8Step() : trainerStep(detector, trainableVariables(detector), batch);
  const times = { ours: [], theirs: [] };
  for (let round = 0; round < 8; round++) {
    for (const mode of ['ours', 'theirs']) {
      useOurs(mode === 'ours');
      step();
      const start = performance.now();
      step();
      step();
      times[mode].push((performance.now() - start) / 2);
    }
  }
  const [theirs, withOurs] = [median(times.theirs), median(times.ours)];
  console.log(`${model.name}: ${theirs.toFixed(1)} -> ${withOurs.toFixed(1)} ms, ${(theirs / withOurs).toFixed(2)}x`);
  useOurs(true);
  step.dispose();
  batch?.dispose();
  detector?.dispose();
}
