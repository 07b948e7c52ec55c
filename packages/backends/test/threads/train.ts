// Child process of threads.test.ts (bundled by esbuild, run by plain Node): starts wasm with the thread
// count given as argv[2], takes a few training steps of a small conv net that goes through every wasm
// kernel detkit registers or relies on (XNNPACK conv and matrix products, detkit's conv, depthwise, max-pool
// and matMul kernels, a @detkit/boxes kernel in tfjs's heap, @detkit/heads' RoIAlign on the kernel threads),
// and prints the weights as JSON on stdout.
import { ADAM_KERNEL, BATCH_NORM_TRAIN_KERNELS, InvalidArgumentError, MOVING_AVERAGE_KERNEL, RELU_GRAD_KERNEL, setWasmSplitRunner, tf } from '@detkit/core';
import { boxIou } from '@detkit/boxes';
import { roiAlign } from '@detkit/heads';
import { pendingJobs, runDeferred, RUN_AHEAD_FLAG } from '../../src/deferred';
import { kernelThreads, splitOnKernelThreads } from '../../src/wasm-backend';
import { backendInfo, useBackend } from '../../src/index';

const threads = Number(process.argv[2]);
await useBackend('wasm', { threads });

// 48 x 48: conv2 (3x3 stride 1, 32 channels to 32: Winograd's F(2x2, 3x3), 288 tiles) and its gradients are
// large enough to be split over threads; conv1 (stride 2) runs the direct kernels.
const x = tf.randomUniform([2, 48, 48, 3], 0, 1, 'float32', 1);
const params = {
  conv1: tf.variable(tf.randomNormal([3, 3, 3, 32], 0, 0.2, 'float32', 2)),
  conv2: tf.variable(tf.randomNormal([3, 3, 32, 32], 0, 0.1, 'float32', 3)),
  depthwise: tf.variable(tf.randomNormal([3, 3, 32, 1], 0, 0.2, 'float32', 4)),
  dense: tf.variable(tf.randomNormal([32 * 12 * 12, 10], 0, 0.05, 'float32', 5)),
};
const optimizer = tf.train.momentum(0.05, 0.9);
const losses: number[] = [];
const STEPS = 3;
for (let step = 0; step < STEPS; step++) {
  // The helpers start at the first large call; give them time to be ready before the later steps.
  if (step === 1) await new Promise((resolve) => setTimeout(resolve, 500));
  const cost = optimizer.minimize(() => {
    const h1 = tf.relu(tf.conv2d(x as tf.Tensor4D, params.conv1 as tf.Variable<tf.Rank.R4>, 2, 'same'));
    const h2 = tf.relu(tf.conv2d(h1, params.conv2 as tf.Variable<tf.Rank.R4>, 1, 'same'));
    const h3 = tf.depthwiseConv2d(h2, params.depthwise as tf.Variable<tf.Rank.R4>, 1, 'same');
    const pooled = tf.maxPool(h3, 2, 2, 'same');
    const logits = tf.matMul(tf.reshape(pooled, [2, -1]), params.dense as tf.Variable<tf.Rank.R2>);
    return tf.mean(tf.square(tf.sub(logits, 0.5)));
  }, true)!;
  losses.push(cost.dataSync()[0]!);
  cost.dispose();
}

const boxes1 = tf.tensor2d([0, 0, 10, 10, 5, 5, 15, 20, 2, 3, 8, 9], [3, 4]);
const boxes2 = tf.tensor2d([1, 1, 9, 12, 0, 4, 16, 16], [2, 4]);
const iou = Array.from(boxIou(boxes1, boxes2).dataSync());

// detkit's fused batch norm, forward and gradient, on 1 Mi elements: split over the helper on 2 threads.
// Reported as its per-channel results and an FNV-1a hash of the bits of out and dx.
const bnShape: [number, number, number, number] = [4, 128, 128, 16];
const bn = tf.tidy(() => {
  const bnX = tf.randomNormal(bnShape, 2, 3, 'float32', 6);
  const bnDy = tf.randomNormal(bnShape, 0, 1, 'float32', 7);
  const gamma = tf.randomUniform([16], 0.5, 1.5, 'float32', 8);
  const beta = tf.randomNormal([16], 0, 1, 'float32', 9);
  const { forward, gradient } = BATCH_NORM_TRAIN_KERNELS;
  const [out, mean, variance] = tf.engine().runKernel(forward, { x: bnX, gamma, beta }, { epsilon: 1e-5 }) as tf.Tensor[];
  const [dx, dgamma, dbeta] = tf.engine().runKernel(gradient, { dy: bnDy, x: bnX, mean: mean!, variance: variance!, gamma }, { epsilon: 1e-5 }) as tf.Tensor[];
  const hash = (t: tf.Tensor) => new Uint32Array((t.dataSync() as Float32Array).slice().buffer).reduce((h, w) => Math.imul(h ^ w, 16777619) >>> 0, 2166136261);
  const values = (t: tf.Tensor) => Array.from(t.dataSync());
  return { out: hash(out!), dx: hash(dx!), mean: values(mean!), variance: values(variance!), dgamma: values(dgamma!), dbeta: values(dbeta!) };
});

// detkit's transpose on 210 Ki elements (split over the helper on 2 threads): elements out of place, counted
// against the transpose written out in JS.
const transposeMisplaced = tf.tidy(() => {
  const [rows, cols] = [300, 701];
  const m = tf.randomNormal([rows, cols], 0, 1, 'float32', 10);
  const input = m.dataSync();
  const output = tf.transpose(m).dataSync();
  let misplaced = 0;
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) if (output[j * rows + i] !== input[i * cols + j]) misplaced++;
  return misplaced;
});

// Weight gradients behind the step (src/deferred.ts): a filter gradient queued for the helper, its inputs
// disposed at once and their memory handed to new tensors, which are written over before dW is read; and one
// disposed unread. Reported as an FNV-1a hash of dW's bits (the 1-thread child computes it in place), the jobs
// queued right after the call (0 on 1 thread), and the tensors left over.
const hashBits = (values: Float32Array) => new Uint32Array(values.slice().buffer).reduce((h, w) => Math.imul(h ^ w, 16777619) >>> 0, 2166136261);
const deferred = (() => {
  const before = tf.memory().numTensors;
  const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 64, 64] };
  const shapes = { x: [8, 48, 48, 64], dy: [8, 48, 48, 64] };
  const gradient = () => {
    const x = tf.randomNormal(shapes.x, 0, 1, 'float32', 11);
    const dy = tf.randomNormal(shapes.dy, 0, 1, 'float32', 12);
    const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs) as tf.Tensor;
    const queued = pendingJobs(tf.backend() as never);
    tf.dispose([x, dy]);
    // New tensors of the same sizes, likely in the memory just freed, written over while the job may run.
    const overwrite = [tf.fill(shapes.x, 7), tf.fill(shapes.dy, -3)];
    return { dw, queued, overwrite };
  };
  const read = gradient();
  const dwHash = hashBits(read.dw.dataSync() as Float32Array);
  const unread = gradient();
  unread.dw.dispose();
  tf.dispose([read.dw, ...read.overwrite, ...unread.overwrite]);
  // A queued kernel that traps (every address past the heap's end): on 2 threads reading its output throws
  // DetkitError; on 1 thread the call itself throws. Then the queue still works: the same dW again.
  const out = tf.zeros([1 << 18]);
  let failure: string | null = null;
  try {
    const bad = 0x7fff0000;
    const phase = { kernel: 'adamUpdate' as const, args: [bad, bad, bad, bad, bad, bad, bad, bad], total: 1 << 18, align: 4, work: 1 << 18 };
    runDeferred(tf.backend() as never, [phase], { outputs: [out], reads: [], scratch: [] });
    out.dataSync();
  } catch (error) {
    failure = `${(error as Error).name}: ${(error as Error).message}`;
  }
  out.dispose();
  const again = gradient();
  const againHash = hashBits(again.dw.dataSync() as Float32Array);
  tf.dispose([again.dw, ...again.overwrite]);
  return { dwHash, againHash, failure, queued: read.queued, leftOver: tf.memory().numTensors - before };
})();

// Another package's wasm kernels on the kernel threads (@detkit/core's WasmSplitRunner): @detkit/heads'
// RoIAlign, split by box, and its gradient, split by image, on 10 channels (not whole blocks of 4), fixed and
// adaptive sampling. Reported as FNV-1a hashes of the bits, and the calls the kernel threads took (through a
// counting wrapper of the runner useBackend registered; 0 on 1 thread).
let splitCalls = 0;
setWasmSplitRunner((...call) => {
  const taken = splitOnKernelThreads(...call);
  if (taken) splitCalls++;
  return taken;
});
const roi = [2, -1].map((samplingRatio) =>
  tf.tidy(() => {
    const features = tf.randomNormal([3, 12, 14, 10], 0, 1, 'float32', 13);
    const corners = tf.randomUniform([60, 2], 0, 80, 'float32', 14);
    const boxes = tf.concat([corners, tf.add(corners, tf.randomUniform([60, 2], 4, 40, 'float32', 15))], 1);
    const images = tf.tensor1d(Array.from({ length: 60 }, (_, i) => (i * 7) % 3), 'int32');
    const dy = tf.randomNormal([60, 7, 7, 10], 0, 1, 'float32', 16);
    const pooled = (f: tf.Tensor) => roiAlign(f, boxes, images, { outputSize: 7, spatialScale: 1 / 8, samplingRatio, aligned: samplingRatio < 0 });
    const out = pooled(features);
    const dx = tf.grad((f: tf.Tensor) => tf.sum(tf.mul(pooled(f), dy)))(features);
    return { out: hashBits(out.dataSync() as Float32Array), dx: hashBits(dx.dataSync() as Float32Array), nonzero: (dx.dataSync() as Float32Array).filter((v) => v !== 0).length };
  }),
);
const roiAlignReport = { roi, splitCalls };

// A training step that runs ahead (src/deferred.ts' RUN_AHEAD_FLAG): the forward's convolutions, fused batch
// norm and moving statistics, the backward's input and weight gradients, bias sums and the gradients' Add, and
// the fused Adam update queue their calls, which wait only for the calls writing what they read. The same
// steps with the flag off (every call run in place) must give the same bits; on 2 threads the loss is read
// with jobs still queued (counted), none is left after, and no tensor leaks.
const runAhead = (() => {
  const { forward, gradient } = BATCH_NORM_TRAIN_KERNELS;
  const train = (ahead: boolean) => {
    tf.env().set(RUN_AHEAD_FLAG, ahead);
    const before = tf.memory().numTensors;
    const input = tf.randomUniform([4, 32, 32, 8], 0, 1, 'float32', 20);
    // Made in a tidy, which frees the initial values (the variables hold their data).
    const v: Record<'stem' | 'gamma' | 'beta' | 'left' | 'right' | 'bias' | 'fc' | 'fcBias', tf.Variable> = tf.tidy(() => ({
      stem: tf.variable(tf.randomNormal([3, 3, 8, 32], 0, 0.2, 'float32', 21)),
      gamma: tf.variable(tf.randomUniform([32], 0.5, 1.5, 'float32', 22)),
      beta: tf.variable(tf.randomNormal([32], 0, 0.1, 'float32', 23)),
      left: tf.variable(tf.randomNormal([3, 3, 32, 32], 0, 0.1, 'float32', 24)),
      right: tf.variable(tf.randomNormal([3, 3, 32, 32], 0, 0.1, 'float32', 25)),
      bias: tf.variable(tf.zeros([32])),
      fc: tf.variable(tf.randomNormal([16 * 16 * 32, 64], 0, 0.005, 'float32', 26)),
      fcBias: tf.variable(tf.randomNormal([64], 0, 0.1, 'float32', 27)),
    }));
    const moving = tf.tidy(() => tf.variable(tf.zeros([32]), false));
    const state: Record<string, { m: tf.Tensor; s: tf.Tensor }> = Object.fromEntries(Object.entries(v).map(([k, t]) => [k, { m: tf.zerosLike(t), s: tf.zerosLike(t) }]));
    const norm = tf.customGrad((x, g, b, save) => {
      const [out, mean] = tf.engine().runKernel(forward, { x: x as tf.Tensor, gamma: g as tf.Tensor, beta: b as tf.Tensor }, { epsilon: 1e-5, relu: true }) as tf.Tensor[];
      const [, m, variance] = tf.engine().runKernel(forward, { x: x as tf.Tensor, gamma: g as tf.Tensor, beta: b as tf.Tensor }, { epsilon: 1e-5 }) as tf.Tensor[];
      tf.dispose(m);
      const next = tf.engine().runKernel(MOVING_AVERAGE_KERNEL, { moving, batch: mean! }, { decay: 0.9, factor: 0.1 }) as tf.Tensor;
      moving.assign(next as tf.Tensor1D);
      (save as tf.GradSaveFunc)([x as tf.Tensor, mean!, variance!, g as tf.Tensor, out!]);
      return {
        value: out!,
        gradFunc: (dy: tf.Tensor, [sx, sm, sv, sg, sy]: tf.Tensor[]) => tf.engine().runKernel(gradient, { dy, x: sx!, mean: sm!, variance: sv!, gamma: sg!, y: sy! }, { epsilon: 1e-5 }) as tf.Tensor[],
      };
    });
    // A dense layer + bias + ReLU as one fused product (@detkit/heads' dense), its gradient through the
    // ReLU-gradient kernel: both queued when running ahead. (Its 8,192 inputs take a small learning rate.)
    const dense = tf.customGrad((x, w, b, save) => {
      const [x3, w3] = [tf.expandDims(x as tf.Tensor2D, 0), tf.expandDims(w as tf.Tensor2D, 0)];
      const product = tf.engine().runKernel('_FusedMatMul', { a: x3, b: w3, bias: b as tf.Tensor }, { transposeA: false, transposeB: false, activation: 'relu' } as never) as tf.Tensor;
      const out = tf.squeeze(product, [0]);
      tf.dispose([x3, w3, product]);
      (save as tf.GradSaveFunc)([x as tf.Tensor, w as tf.Tensor, out]);
      return {
        value: out,
        gradFunc: (dy: tf.Tensor, [sx, sw, sy]: tf.Tensor[]) => {
          const g = tf.engine().runKernel(RELU_GRAD_KERNEL, { dy, y: sy! }, {}) as tf.Tensor2D;
          return [tf.matMul(g, sw as tf.Tensor2D, false, true), tf.matMul(sx as tf.Tensor2D, g, true, false), tf.sum(g, 0)];
        },
      };
    });
    const losses: number[] = [];
    let queuedAtRead = 0;
    for (let step = 1; step <= 3; step++) {
      const { value, grads } = tf.variableGrads(() => {
        const conv = (x: tf.Tensor4D, w: tf.Variable, stride: number) => tf.conv2d(x, w as tf.Tensor4D, stride, 'same');
        const h = norm(conv(input as tf.Tensor4D, v.stem, 2), v.gamma, v.beta) as tf.Tensor4D;
        // Two branches of one map (Winograd's stride-1 3x3), added: the gradient of h is an Add of two.
        const y = tf.add(tf.add(conv(h, v.left, 1), conv(h, v.right, 1)), v.bias);
        const z = dense(tf.reshape(y, [4, 16 * 16 * 32]), v.fc, v.fcBias);
        return tf.add(tf.mean(tf.square(tf.sub(y, 0.25))), tf.mul(tf.mean(tf.square(tf.sub(z, 0.25))), 0.1));
      });
      for (const [name, variable] of Object.entries(v)) {
        const g = grads[variable.name]!;
        const { m, s } = state[name]!;
        const attrs = { beta1: 0.9, beta2: 0.999, oneMinusBeta1: 0.1, oneMinusBeta2: 1 - 0.999, oneMinusAccBeta1: Math.fround(1 - 0.9 ** step), oneMinusAccBeta2: Math.fround(1 - 0.999 ** step), epsilon: 1e-7, negLearningRate: name.startsWith('fc') ? -1e-5 : -0.01 };
        const [nv, nm, ns] = tf.engine().runKernel(ADAM_KERNEL, { value: variable, m, v: s, gradient: g }, attrs as never) as tf.Tensor[];
        variable.assign(nv!);
        tf.dispose([m, s, nv, g]);
        state[name] = { m: nm!, s: ns! };
      }
      queuedAtRead = Math.max(queuedAtRead, pendingJobs(tf.backend() as never));
      losses.push(value.dataSync()[0]!);
      value.dispose();
    }
    const bits = Object.fromEntries([...Object.entries(v), ['moving', moving] as const].map(([k, t]) => [k, hashBits(t.dataSync() as Float32Array)]));
    tf.dispose([input, moving, ...Object.values(v), ...Object.values(state).flatMap(({ m, s }) => [m, s])]);
    return { losses, bits, queuedAtRead, leftJobs: pendingJobs(tf.backend() as never), leftOver: tf.memory().numTensors - before };
  };
  const inPlace = train(false);
  const ahead = train(true);
  // A chain of 1,200 queued calls (each Add reads the one before), more than the queue's 512 places: the
  // queue wraps around, or runs calls in place when full; either way the bits of every call in place.
  const chain = (on: boolean) => {
    tf.env().set(RUN_AHEAD_FLAG, on);
    const out = tf.tidy(() => {
      let y = tf.randomNormal([1 << 16], 0, 1, 'float32', 30);
      const step = tf.randomNormal([1 << 16], 0, 1e-3, 'float32', 31);
      for (let i = 0; i < 1200; i++) y = tf.add(y, step);
      return hashBits(y.dataSync() as Float32Array);
    });
    return out;
  };
  const long = { inPlace: chain(false), ahead: chain(true) };
  // Reading a result completes only the calls it needs: of 30 independent Adds queued first and one Add
  // queued after them, reading the last runs chunks of that one only on the calling thread (at most its 8);
  // taking the queue oldest first, it ran chunks of the others too, those the helper had not taken (on 2
  // threads; nothing queues on 1). How many the helper finished meanwhile depends on the machine's load.
  const unneeded = (() => {
    tf.env().set(RUN_AHEAD_FLAG, true);
    // 2 MiB each: the 30 keep the helper busy for several milliseconds, so that oldest-first completion
    // would find some of them still untaken at the read.
    const inputs = Array.from({ length: 31 }, (_, i) => tf.randomNormal([1 << 19], 0, 1, 'float32', 40 + i));
    const sums = inputs.slice(1).map((t, i) => tf.add(t, inputs[i]!));
    const last = tf.add(inputs[0]!, inputs[30]!);
    const threadsOf = kernelThreads(tf.backend() as never);
    const chunksBefore = threadsOf?.callerChunks ?? 0;
    const lastData = last.dataSync() as Float32Array;
    const callerChunks = (threadsOf?.callerChunks ?? 0) - chunksBefore;
    const pendingAfterRead = pendingJobs(tf.backend() as never);
    const lastBits = hashBits(lastData);
    const bits = [lastBits, ...sums.map((t) => hashBits(t.dataSync() as Float32Array))];
    tf.env().set(RUN_AHEAD_FLAG, false);
    const inPlace = tf.tidy(() => [tf.add(inputs[0]!, inputs[30]!), ...inputs.slice(1).map((t, i) => tf.add(t, inputs[i]!))].map((t) => hashBits(t.dataSync() as Float32Array)));
    tf.env().set(RUN_AHEAD_FLAG, true);
    tf.dispose([...inputs, ...sums, last]);
    return { callerChunks, pendingAfterRead, same: bits.every((b, i) => b === inPlace[i]) };
  })();
  return { inPlace, ahead, long, unneeded };
})();

let changeError: string | null = null;
try {
  await useBackend('wasm', { threads: threads === 1 ? 2 : 1 });
} catch (error) {
  changeError = error instanceof InvalidArgumentError ? `${error.argument}: ${error.message}` : `unexpected: ${String(error)}`;
}

const weights = Object.fromEntries(Object.entries(params).map(([name, v]) => [name, Array.from(v.dataSync())]));
process.stdout.write(JSON.stringify({ info: backendInfo(), losses, weights, iou, batchNorm: bn, transposeMisplaced, deferred, roiAlign: roiAlignReport, runAhead, changeError }));
// No process.exit: the test checks that tfjs's worker threads let Node exit on its own.
