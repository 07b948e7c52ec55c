// W8, one training step, in the two forms the project uses:
//
// - W8 (issue 5's, @detkit/backends): a small conv backbone + Faster R-CNN RPN head
//   (@detkit/test-utils/rpn-net, which @detkit/backends' tests also train) at 320x320, batch 2, SGD momentum,
//   against the same network in torch (rpn-net.py's RpnNet and loss_fn, called from reference.py here).
// - W8-trainer (BENCHMARKS.md's): one step of the reference trainer's default detectors, SSD (batch 16)
//   and Faster R-CNN (batch 8) of @detkit/models at 128x128 on the synthetic set, Adam, as
//   trainer-steps.mjs times it. detkit only: torchvision has no such model. BENCHMARKS.md's
//   torchvision figure for W8 is a different network, fasterrcnn_mobilenet_v3_large_320_fpn (random
//   weights) at batch 2 x 320x320: W8-tv times it for scale, with no ratio.
//
// On tfjs-backend-cpu the conv gradients are plain-JS loops: a training step takes seconds (6 to 10 s with
// @detkit/core's cpu conv kernels, 2026-11-22) to minutes (stock tfjs), 13 to 28 times the wasm step, so the
// cpu side of these runs only with `--cpu-w8`.
import { createRandom, tf } from '@detkit/core';
import { createRpnNet, trainStep } from '@detkit/test-utils/rpn-net';
import { randomBoxes, randomClasses, uniform } from '../inputs.mjs';
import { firstSyntheticBatch, samplingRng, TRAINER_IMAGE_SIZE } from '../trainer-batch.mjs';

const CPU_TRAINING = {
  skip: 'a training step on tfjs-backend-cpu takes seconds to minutes (conv gradients in plain JS)',
  flag: '--cpu-w8',
};
/**
 * Few, long calls. wasm: 3 warm-up steps and at least 1 s of them (XNNPACK operators, optimizer slots; V8
 * compiles a wasm function with its baseline compiler first and its optimising one once it is hot,
 * separately in each thread that runs it; the kernel threads'
 * helpers start at the first large call; after one warm-up step a 2-thread SSD median read 145 ms against
 * 78 ms in a longer run), then 10. For the torchvision models of W8-tv (seconds a step).
 */
const TRAINING_TIMING = { wasm: { iterations: 10, time: 0, warmupIterations: 3, warmupTime: 1000 }, cpu: { iterations: 1, time: 0, warmup: false } };

/**
 * {@link TRAINING_TIMING} with 30 warm-up steps, for the steps timed on 1 and 2 threads (W8 and the trainer's):
 * a training run is hundreds of steps, and V8 goes on compiling JavaScript for tens of them, on its own
 * threads. On 1 thread those run on the idle core; on 2 they take it from the step. Measured 2026-12-06 in
 * blocks of 10 steps (median ms; V8's threads' CPU a step): SSD on 2 threads 59.2 (9.0) at steps 10-19, 60.0
 * (10.6) at 20-29, 53.8-57.5 (3.5-9.4) from 30 to 99; on 1 thread 91.1 at steps 10-19 and 89.3-90.7 after;
 * Faster R-CNN on 2 threads 82.4, 73.7, then 68.1-71.4; on 1 thread 113.3, then 109.7-112.9.
 */
const STEADY_TRAINING_TIMING = { ...TRAINING_TIMING, wasm: { ...TRAINING_TIMING.wasm, warmupIterations: 30 } };

const W8_BATCH = 2;
const W8_SIZE = 320;
const W8_ANCHORS = 9;
const W8_CELLS = W8_SIZE / 16;

/** The torchvision W8 rows' inputs: 2 images 3 x 320 x 320 (NCHW, as reference.py takes them), 5 boxes and COCO labels 1..90 each. */
function tvInputs(rand) {
  const boxes = randomBoxes(rand, 2 * 5, { size: 320, minSide: 32, maxSide: 200 });
  const labels = randomClasses(rand, 2 * 5, 90);
  for (let i = 0; i < labels.data.length; i++) labels.data[i] += 1;
  return {
    images: { data: uniform(rand, 2 * 3 * 320 * 320, 0, 1), shape: [2, 3, 320, 320] },
    boxes: { data: boxes.data, shape: [2, 5, 4] },
    labels: { data: labels.data, shape: [2, 5] },
  };
}

/**
 * One SGD-momentum training step of a torchvision detector from @detkit/torchvision against torchvision's own
 * (reference.py's torchvision_train_step) on tvInputs, with the eval inference of the batch as an extra. The
 * same module on both sides (@detkit/torchvision's parity tests: train-mode batch norm, torchvision's matchers,
 * samplers and losses); different random weights, so the losses differ; the parameter counts must agree.
 */
function torchvisionWorkload({ id, title, seed, build, samples = false }) {
  return {
    id,
    group: 'W8-trainer',
    title,
    package: '@detkit/torchvision',
    target: 1.5,
    seed,
    threads: {},
    cpu: CPU_TRAINING,
    timing: TRAINING_TIMING,
    reference: { min_runs: 3, warmup_runs: 1 },
    inputs: tvInputs,
    setup: (tv, t) => {
      const model = build(tv);
      const optimizer = tf.train.momentum(0.01, 0.9);
      const images = tf.tidy(() => tf.unstack(tf.transpose(t.images, [0, 2, 3, 1])));
      const boxes = tf.unstack(t.boxes);
      const labels = tf.unstack(t.labels);
      const targets = boxes.map((b, i) => ({ boxes: b, labels: labels[i] }));
      const vars = model.parameters.trainableVariables();
      const summary = [model.parameters.specs().filter((s) => s.kind === 'parameter').reduce((n, s) => n + s.torchShape.reduce((a, b) => a * b, 1), 0)];
      // Faster R-CNN's samplers draw at each step: from a seeded generator, as the trainer's.
      const lossOptions = samples ? { rng: createRandom(seed) } : undefined;
      return {
        call: () => {
          const cost = optimizer.minimize(() => model.loss(images, targets, lossOptions).total, true, vars);
          const loss = cost.dataSync()[0];
          cost.dispose();
          return { loss, summary };
        },
        extras: (median) => ({
          'steps/s': 1000 / median,
          'inference ms (eval, batch 2)': medianOf3(() => tf.dispose(model.detect(images).flatMap((d) => [d.boxes, d.scores, d.labels]))),
        }),
        dispose: () => {
          optimizer.dispose();
          optimizer.c?.dispose();
          tf.dispose([...images, ...boxes, ...labels]);
          model.dispose();
        },
      };
    },
    check: async (out) => out.summary,
  };
}

/** The median of three timed calls of `f`, in ms (an inference beside a training step's timing). */
function medianOf3(f) {
  const times = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    f();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[1];
}

/** Σ over the network's parameters of their sizes. */
const parameterCount = (vars) => vars.reduce((n, v) => n + v.size, 0);

/** One trainer-default detector (apps/trainer/src/config.ts's defaultConfig) as a W8-trainer workload. */
function trainerWorkload({ id, model, batch, lr, factory }) {
  return {
    id,
    group: 'W8-trainer',
    title: `one training step, ${model} (trainer defaults: ${batch} x ${TRAINER_IMAGE_SIZE} x ${TRAINER_IMAGE_SIZE}, Adam), synthetic set`,
    package: '@detkit/models',
    seed: 0,
    reference: false,
    cpu: CPU_TRAINING,
    timing: STEADY_TRAINING_TIMING,
    threads: { speedup: 1.7, dataParallel: { module: new URL('../replica-trainer.mjs', import.meta.url), options: { factory, batch, lr } } },
    inputs: () => ({}),
    setup: async (models) => {
      const detector = models[factory]({ numClasses: 4, imageSize: TRAINER_IMAGE_SIZE, seed: 0 });
      const data = await firstSyntheticBatch(batch);
      // The trainer's Adam (@detkit/models' `adam`: detkit's fused update kernel where registered), as
      // trainer-batch.mjs and the data-parallel replicas use; tfjs's `tf.train.adam` is a chain of about
      // fourteen one-thread kernels per variable.
      const optimizer = models.adam(lr);
      const vars = models.trainableVariables(detector);
      const summary = [parameterCount(vars)];
      const rng = samplingRng(1);
      return {
        call: () => {
          const cost = optimizer.minimize(() => detector.loss(data.images, data.targets, { rng }).total, true, vars);
          const loss = cost.dataSync()[0];
          cost.dispose();
          return { loss, summary };
        },
        extras: (median) => ({ 'steps/s': 1000 / median, 'images/s': (1000 * batch) / median, 'inference ms (batch)': medianOf3(() => tf.dispose(detector.detect(data.images))) }),
        dispose: () => {
          optimizer.dispose();
          data.dispose();
          detector.dispose();
        },
      };
    },
    // Trainable parameters: the same model on every backend.
    check: async (out) => out.summary,
  };
}

/** @type {import('../workloads.mjs').Workload[]} */
export const TRAINING_WORKLOADS = [
  {
    id: 'W8',
    title: `one training step, conv backbone + RPN head (test-utils rpn-net), ${W8_BATCH} x ${W8_SIZE} x ${W8_SIZE}, SGD momentum`,
    package: '@detkit/backends',
    target: 1.5,
    seed: 8,
    threads: {},
    cpu: CPU_TRAINING,
    timing: STEADY_TRAINING_TIMING,
    reference: { min_runs: 5, warmup_runs: 1 },
    // NHWC images in [0, 1), 10% positive anchors, deltas in [-0.5, 0.5): reference.py transposes to NCHW.
    inputs: (rand) => {
      const labels = new Float32Array(W8_BATCH * W8_CELLS * W8_CELLS * W8_ANCHORS);
      for (let i = 0; i < labels.length; i++) labels[i] = rand() < 0.1 ? 1 : 0;
      return {
        images: { data: uniform(rand, W8_BATCH * W8_SIZE * W8_SIZE * 3, 0, 1), shape: [W8_BATCH, W8_SIZE, W8_SIZE, 3] },
        labels: { data: labels, shape: [W8_BATCH, W8_CELLS, W8_CELLS, W8_ANCHORS] },
        targets: { data: uniform(rand, labels.length * 4, -0.5, 0.5), shape: [W8_BATCH, W8_CELLS, W8_CELLS, 4 * W8_ANCHORS] },
      };
    },
    setup: (_backends, t) => {
      const net = createRpnNet(tf);
      const optimizer = tf.train.momentum(0.01, 0.9);
      const targets = { labels: t.labels, targets: t.targets };
      const labels = t.labels.dataSync();
      const summary = [parameterCount(net.params), labels.length, labels.reduce((a, b) => a + b, 0)];
      return {
        call: () => ({ loss: trainStep(tf, net, optimizer, t.images, targets), summary }),
        extras: (median) => ({ 'steps/s': 1000 / median }),
        dispose: () => {
          optimizer.dispose();
          // tfjs 4.22's MomentumOptimizer.dispose() leaves its SGD base's -lr scalar (`c`) allocated.
          optimizer.c?.dispose();
          tf.dispose(net.params);
        },
      };
    },
    // The losses cannot agree: the weights start from different random draws (tfjs randomNormal, torch's
    // default init), and tfjs's 'same' padding of a stride-2 conv on an even input pads bottom/right only
    // where torch's padding=1 pads both sides. Compared instead: parameter count (the same architecture),
    // anchors and positive anchors (the same targets).
    check: async (out) => out.summary,
  },
  trainerWorkload({ id: 'W8-trainer-ssd', model: 'SSD', batch: 16, lr: 4e-3, factory: 'createSsd' }),
  trainerWorkload({ id: 'W8-trainer-frcnn', model: 'Faster R-CNN', batch: 8, lr: 2e-3, factory: 'createFasterRcnn' }),
  torchvisionWorkload({
    id: 'W8-tv-ssdlite',
    title: 'torchvision ssdlite320_mobilenet_v3_large (random weights, 91 classes), one training step, 2 x 320 x 320, SGD momentum',
    seed: 82,
    build: (tv) => tv.ssdlite320MobilenetV3Large({ numClasses: 91 }),
  }),
  torchvisionWorkload({
    id: 'W8-tv',
    title: 'torchvision fasterrcnn_mobilenet_v3_large_320_fpn (random weights, 91 classes), one training step, 2 x 320 x 320, SGD momentum',
    seed: 81,
    build: (tv) => tv.fasterrcnnMobilenetV3Large320Fpn({ numClasses: 91 }),
    samples: true,
  }),
];
