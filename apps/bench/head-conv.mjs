// The heads' 3x3 'same' conv + bias (SSD and RPN heads) trained on wasm, three ways, forward + backward:
//   custom   @detkit/heads' conv2dSame as of 2026-12-03 (src/layers.ts): its own kernel gradient, written
//            before @detkit/backends had Conv2DBackpropFilter: pad, transpose to channels first, then per
//            tap one slice and one matMul, then a stack
//   plain    tf.conv2d + tf.add(bias), tfjs's gradients (on wasm: @detkit/backends' kernels)
//   fused    tf.fused.conv2d({ bias }), tfjs's fused gradient (FusedConv2D forward: XNNPACK with the bias)
// on the SSD head's shapes at the trainer's defaults (batch 16, 128 x 128: maps 16², 8², 4²), and checks
// that the three agree.
//
//   node head-conv.mjs [threads]
import os from 'node:os';
import { backendInfo, useBackend } from '@detkit/backends';
import { tf } from '@detkit/core';

await useBackend('wasm', { threads: Number(process.argv[2] ?? 1) });

function kernelGradient(x, dy, k) {
  return tf.tidy(() => {
    const [n, h, w, cin] = x.shape;
    const cout = dy.shape[3];
    const p = (k - 1) / 2;
    const channelsFirst = tf.transpose(tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]), [3, 0, 1, 2]);
    const dy2 = tf.reshape(dy, [n * h * w, cout]);
    const taps = [];
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) taps.push(tf.tidy(() => tf.matMul(tf.reshape(tf.slice(channelsFirst, [0, 0, i, j], [cin, n, h, w]), [cin, n * h * w]), dy2)));
    return tf.reshape(tf.stack(taps), [k, k, cin, cout]);
  });
}

function custom(x, kernel, bias) {
  const conv = tf.customGrad((xi, wi, save) => {
    save([xi, wi]);
    return {
      value: tf.conv2d(xi, wi, 1, 'same'),
      gradFunc: (dy, [xs, ws]) => {
        const flipped = tf.tidy(() => tf.transpose(tf.reverse(ws, [0, 1]), [0, 1, 3, 2]));
        return [tf.conv2d(dy, flipped, 1, 'same'), kernelGradient(xs, dy, 3)];
      },
    };
  });
  return tf.add(conv(x, kernel), bias);
}
const plain = (x, kernel, bias) => tf.add(tf.conv2d(x, kernel, 1, 'same'), bias);
const fused = (x, kernel, bias) => tf.fused.conv2d({ x, filter: kernel, strides: 1, pad: 'same', bias });

const LEVELS = [
  [16, 16, 16, 64],
  [16, 8, 8, 96],
  [16, 4, 4, 128],
];
const COUT = [30, 24]; // classification (6 anchors x 5 classes) and regression (6 x 4)
const cases = LEVELS.flatMap((shape, l) => COUT.map((cout, c) => ({ shape, cout, seed: 10 * l + c })));
const inputs = cases.map(({ shape, cout, seed }) => ({
  x: tf.randomNormal(shape, 0, 1, 'float32', seed),
  kernel: tf.randomNormal([3, 3, shape[3], cout], 0, 0.05, 'float32', seed + 1),
  bias: tf.randomNormal([cout], 0, 0.1, 'float32', seed + 2),
  weights: tf.randomNormal([shape[0], shape[1], shape[2], cout], 0, 1, 'float32', seed + 3),
}));
const grads = (f) => tf.grads((x, kernel, bias, weights) => tf.sum(tf.mul(f(x, kernel, bias), weights)));
const variants = { custom: grads(custom), plain: grads(plain), fused: grads(fused) };

function stepAll(name) {
  return inputs.map((t) => variants[name]([t.x, t.kernel, t.bias, t.weights]));
}

const results = {};
/** CPU time of this process (one thread on 1-thread wasm): less sensitive to a busy machine than wall time. */
const cpuResults = {};
for (const name of Object.keys(variants)) {
  for (let i = 0; i < 2; i++) tf.dispose(stepAll(name));
  const times = [];
  const cpu = [];
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    const u = process.cpuUsage();
    const out = stepAll(name);
    for (const g of out) for (const t of g) t.dataSync();
    const d = process.cpuUsage(u);
    times.push(performance.now() - t0);
    cpu.push((d.user + d.system) / 1000);
    tf.dispose(out);
  }
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  results[name] = times[3];
  cpuResults[name] = cpu[3];
}
const ref = stepAll('plain');
let maxDiff = 0;
for (const name of ['custom', 'fused']) {
  const out = stepAll(name);
  out.forEach((g, i) => g.forEach((t, j) => (maxDiff = Math.max(maxDiff, tf.max(tf.abs(tf.sub(t, ref[i][j]))).dataSync()[0] / Math.max(1, tf.max(tf.abs(ref[i][j])).dataSync()[0])))));
  tf.dispose(out);
}
tf.dispose(ref);
console.log(`wasm ${backendInfo().threads} thread(s); load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
console.log(`6 head convs (SSD head, trainer defaults), forward + input, kernel and bias gradients, medians of 7:`);
for (const [name, ms] of Object.entries(results)) console.log(`  ${name.padEnd(6)} ${ms.toFixed(1)} ms wall, ${cpuResults[name].toFixed(1)} ms CPU (${(cpuResults.custom / cpuResults[name]).toFixed(2)}x custom by CPU time)`);
console.log(`  largest difference from plain, relative to max(1, |value|): ${maxDiff.toExponential(2)}`);
