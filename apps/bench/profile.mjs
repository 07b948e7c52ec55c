// Per-kernel profile of one training step of the trainer's default detectors on wasm (tf.profile), with
// each heavy kernel's GFLOP/s against the per-core ceiling measured here: the faster of XNNPACK's and
// detkit's direct 1024^3 matrix product, on the same threads, in the same process.
//
//   node profile.mjs [threads] [ssd|ssd-data|frcnn|w8|ssdlite|frcnn-tv ...]     # default: every core; ssd, frcnn, w8
//
// tf.profile times each kernel on wasm by wall clock around its call, so the shares add up to about the
// step. A step normally queues detkit's kernels (DETKIT_RUN_AHEAD, DETKIT_DEFER_WEIGHT_GRADIENTS): a queued
// call returns at once and a later read waits for it, so the profiled steps turn both off and each kernel
// runs, split over the threads, inside its own call (the same kernels, chunks and bits); the unprofiled
// step is timed as the trainer runs it, with both on. FLOPs are counted from the shapes tf.profile reports
// (2 per multiply-add).
import os from 'node:os';
import { backendInfo, useBackend } from '@detkit/backends';
import { tf } from '@detkit/core';
import { createRpnNet, trainStep } from '@detkit/test-utils/rpn-net';

const threads = Number(process.argv[2] ?? Math.min(8, os.availableParallelism()));
const which = process.argv.length > 3 ? process.argv.slice(3) : ['ssd', 'frcnn', 'w8'];
await useBackend('wasm', { threads });
const info = backendInfo();
console.log(`wasm: ${info.threads} thread(s), threaded build: ${info.threaded}, SIMD: ${info.simd}; load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);

const prod = (shape) => shape.reduce((a, b) => a * b, 1);

/** Steps timed unprofiled, and steps profiled, per model: each figure is the median over them. */
const PROFILED_STEPS = 5;

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Multiply-adds x 2 of a kernel, from its input and output shapes; undefined for the light kernels. */
function flops(k) {
  const [a, b] = k.inputShapes;
  const out = k.outputShapes[0];
  switch (k.name) {
    case 'Conv2D':
    case 'FusedConv2D':
      return 2 * prod(out) * b[0] * b[1] * b[2];
    case 'Conv2DBackpropInput': // dy, filter -> dx
      return 2 * prod(a) * b[0] * b[1] * b[2];
    case 'Conv2DBackpropFilter': // x, dy -> filter
      return 2 * prod(b) * out[0] * out[1] * out[2];
    case 'DepthwiseConv2dNative':
    case 'FusedDepthwiseConv2D':
      return 2 * prod(out) * b[0] * b[1];
    case 'BatchMatMul':
    case '_FusedMatMul': {
      const k2 = out.length === a.length ? a[a.length - 1] === out[out.length - 2] && a[a.length - 2] !== out[out.length - 2] ? a[a.length - 2] : a[a.length - 1] : a[a.length - 1];
      return 2 * prod(out) * k2;
    }
    default:
      return undefined;
  }
}

/**
 * GFLOP/s of a matrix product [m, k] x [k, n] by `multiply(a, b)` (the best of 5 after a warm-up). wasm kernels
 * are synchronous: the product is done when the call returns (reading it back would time a 4 MB copy too).
 */
function productRate(m, k, n, multiply) {
  const a = tf.randomNormal([m, k]);
  const b = tf.randomNormal([k, n]);
  let best = Infinity;
  for (let i = 0; i < 6; i++) {
    const t0 = performance.now();
    const c = multiply(a, b);
    const ms = performance.now() - t0;
    if (i > 0) best = Math.min(best, ms);
    tf.dispose(c);
  }
  tf.dispose([a, b]);
  return (2 * m * k * n) / best / 1e6;
}

/** XNNPACK's product: tfjs-backend-wasm's own BatchMatMul, which @detkit/backends keeps on its replacement. */
function xnnpackMatMul(a, b) {
  const kernel = tf.getKernel('BatchMatMul', 'wasm');
  const original = kernel[Symbol.for('detkit.backends.replaced')] ?? kernel;
  const backend = tf.backend();
  const info = original.kernelFunc({ inputs: { a, b }, attrs: { transposeA: false, transposeB: false }, backend });
  return tf.engine().makeTensorFromTensorInfo(info);
}

/** detkit's kernel queue (the trainer's default): a queued call returns before its kernel has run. */
const QUEUE_FLAGS = ['DETKIT_RUN_AHEAD', 'DETKIT_DEFER_WEIGHT_GRADIENTS'];

/** Runs `work` with detkit's kernels in their own calls (the queue off), then restores the flags. */
async function unqueued(work) {
  const saved = QUEUE_FLAGS.map((flag) => [flag, tf.env().getBool(flag)]);
  for (const flag of QUEUE_FLAGS) tf.env().set(flag, false);
  try {
    return await work();
  } finally {
    for (const [flag, value] of saved) tf.env().set(flag, value);
  }
}

/**
 * The per-core ceiling of a well-shaped product with 128-bit wasm SIMD here: the faster of XNNPACK's and
 * detkit's direct kernel (which @detkit/backends runs tf.matMul on) on 1024 x 1024 x 1024.
 */
function ceiling() {
  const xnnpack = productRate(1024, 1024, 1024, xnnpackMatMul);
  const direct = productRate(1024, 1024, 1024, (a, b) => tf.matMul(a, b));
  return { xnnpack, direct, best: Math.max(xnnpack, direct) };
}

async function setupTrainer(kind) {
  const { createLoader, syntheticSource } = await import('@detkit/data');
  const models = await import('@detkit/models');
  const batch = kind === 'ssd' ? 16 : 8;
  // ssd-data: the SSD `--data` picks for small objects (strides 4-16, batch 8), as kernel-ab.mjs's second model.
  const detector =
    kind === 'ssd'
      ? models.createSsd({ numClasses: 4, imageSize: 128, seed: 0 })
      : kind === 'ssd-data'
        ? models.createSsd({ numClasses: 4, imageSize: 128, seed: 0, backbone: { channels: [16, 32, 64, 96], convsPerStage: [1, 2, 2, 2], outputStrides: [4, 8, 16] }, defaultBoxes: { steps: [4, 8, 16] } })
        : models.createFasterRcnn({ numClasses: 4, imageSize: 128, seed: 0 });
  const loader = createLoader({ source: syntheticSource({ split: 'train' }), imageSize: 128, batchSize: batch, seed: 0 });
  let data;
  for await (const b of loader.epoch(0)) {
    data = b;
    break;
  }
  const optimizer = models.adam(1e-3); // the trainer's Adam (fused on wasm)
  const vars = models.trainableVariables(detector);
  let s = 1;
  const rng = () => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
  return {
    title: `${kind === 'ssd' ? 'SSD, trainer defaults' : kind === 'ssd-data' ? 'SSD, as --data picks it for small objects' : 'Faster R-CNN, trainer defaults'} (${batch} x 128 x 128, Adam)`,
    step: () => {
      const cost = optimizer.minimize(() => detector.loss(data.images, data.targets, { rng }).total, true, vars);
      cost.dataSync();
      cost.dispose();
    },
    dispose: () => {
      optimizer.dispose();
      data.dispose();
      detector.dispose();
    },
  };
}

/**
 * W8-tv-ssdlite's and W8-tv's steps: torchvision's SSDlite320 or Faster R-CNN MobileNetV3-Large 320 FPN
 * (@detkit/torchvision, 91 classes), 2 x 320 x 320, SGD momentum.
 */
async function setupTorchvision(which) {
  const tv = await import('@detkit/torchvision');
  const model = which === 'ssdlite' ? tv.ssdlite320MobilenetV3Large({ numClasses: 91 }) : tv.fasterrcnnMobilenetV3Large320Fpn({ numClasses: 91 });
  const lossOptions = which === 'ssdlite' ? undefined : { seed: 81 };
  const optimizer = tf.train.momentum(0.01, 0.9);
  const images = [0, 1].map((i) => tf.randomUniform([320, 320, 3], 0, 1, 'float32', i));
  const targets = [0, 1].map(() => ({ boxes: tf.tensor2d([[20, 30, 140, 200], [150, 40, 300, 300]]), labels: tf.tensor1d([3, 17], 'int32') }));
  const vars = model.parameters.trainableVariables();
  return {
    title: which === 'ssdlite' ? "torchvision's SSDlite320 (91 classes, 2 x 320 x 320, SGD momentum; W8-tv-ssdlite)" : "torchvision's Faster R-CNN MobileNetV3-Large 320 FPN (91 classes, 2 x 320 x 320, SGD momentum; W8-tv)",
    step: () => {
      const cost = optimizer.minimize(() => model.loss(images, targets, lossOptions).total, true, vars);
      cost.dataSync();
      cost.dispose();
    },
    dispose: () => {
      optimizer.dispose();
      optimizer.c?.dispose();
      tf.dispose([...images, ...targets.flatMap((t) => [t.boxes, t.labels])]);
      model.dispose();
    },
  };
}

function setupW8() {
  const net = createRpnNet(tf);
  const optimizer = tf.train.momentum(0.01, 0.9);
  const images = tf.randomUniform([2, 320, 320, 3]);
  const labels = tf.cast(tf.greater(tf.randomUniform([2, 20, 20, 9]), 0.9), 'float32');
  const targets = tf.randomUniform([2, 20, 20, 36], -0.5, 0.5);
  return {
    title: 'W8 (test-utils rpn-net, 2 x 320 x 320, SGD momentum)',
    step: () => trainStep(tf, net, optimizer, images, { labels, targets }),
    dispose: () => {
      optimizer.dispose();
      optimizer.c?.dispose();
      tf.dispose([...net.params, images, labels, targets]);
    },
  };
}

const rates = await unqueued(ceiling); // the direct product would be timed queued otherwise
const peak = rates.best;
console.log(`ceiling on ${info.threads} thread(s), 1024 x 1024 x 1024 matMul: XNNPACK ${rates.xnnpack.toFixed(1)} GFLOP/s, detkit's direct ${rates.direct.toFixed(1)}: ${peak.toFixed(1)} GFLOP/s (${(peak / info.threads).toFixed(1)} per thread)\n`);

for (const kind of which) {
  const job = kind === 'w8' ? setupW8() : kind === 'ssdlite' || kind === 'frcnn-tv' ? await setupTorchvision(kind) : await setupTrainer(kind);
  for (let i = 0; i < 2; i++) job.step(); // warm-up: XNNPACK operators, optimizer slots
  // Unprofiled steps, then profiled ones: medians (a single step on this VM can be 30% off).
  const walls = [];
  for (let i = 0; i < PROFILED_STEPS; i++) {
    const t0 = performance.now();
    job.step();
    walls.push(performance.now() - t0);
  }
  const wall = median(walls);
  const runs = [];
  let profile;
  await unqueued(async () => {
    job.step(); // nothing queued from the unprofiled steps
    for (let i = 0; i < PROFILED_STEPS; i++) {
      profile = await tf.profile(() => job.step());
      const byName = new Map();
      for (const k of profile.kernels) {
        const e = byName.get(k.name) ?? { ms: 0, calls: 0, flops: 0, counted: true };
        e.ms += k.kernelTimeMs;
        e.calls += 1;
        const f = flops(k);
        if (f === undefined) e.counted = false;
        else e.flops += f;
        byName.set(k.name, e);
      }
      runs.push(byName);
    }
  });
  // Each kernel's median time over the profiled steps (calls and FLOPs are the same in every step).
  const byName = new Map([...runs[0]].map(([name, e]) => [name, { ...e, ms: median(runs.map((r) => r.get(name)?.ms ?? 0)) }]));
  // A custom-gradient op (tf.customGrad: @detkit/heads' fused layers) is profiled as its scope, around the
  // kernels it runs, and each of those kernels again by name: scopes stay out of the total and the shares.
  const isScope = (name) => tf.getKernel(name, tf.getBackend()) === undefined;
  const total = [...byName].reduce((a, [name, e]) => (isScope(name) ? a : a + e.ms), 0);
  console.log(`${job.title}: step ${wall.toFixed(0)} ms unprofiled (median of ${PROFILED_STEPS}; kernels queued, as the trainer runs them); kernels ${total.toFixed(0)} ms in ${profile.kernels.length} calls (medians of ${PROFILED_STEPS} profiled steps); load ${os.loadavg()[0].toFixed(2)}`);
  console.log('| kernel | calls | ms | share | GFLOP | GFLOP/s | of ceiling |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [name, e] of [...byName].sort((x, y) => y[1].ms - x[1].ms).slice(0, 14)) {
    const gflop = e.counted ? e.flops / 1e9 : undefined;
    const rate = gflop === undefined ? undefined : gflop / (e.ms / 1000);
    const share = isScope(name) ? '(a scope: its kernels are counted by name)' : `${((100 * e.ms) / total).toFixed(1)}%`;
    console.log(`| ${name} | ${e.calls} | ${e.ms.toFixed(1)} | ${share} | ${gflop?.toFixed(2) ?? ''} | ${rate?.toFixed(1) ?? ''} | ${rate === undefined ? '' : `${((100 * rate) / peak).toFixed(0)}%`} |`);
  }
  if (process.env.DETKIT_PROFILE_CALLS) {
    for (const k of [...profile.kernels].sort((x, y) => y.kernelTimeMs - x.kernelTimeMs).slice(0, Number(process.env.DETKIT_PROFILE_CALLS))) {
      console.log(`  ${k.name} ${k.kernelTimeMs.toFixed(1)} ms in ${JSON.stringify(k.inputShapes)} out ${JSON.stringify(k.outputShapes)}`);
    }
  }
  console.log('');
  job.dispose();
}
