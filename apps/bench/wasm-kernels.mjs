// Kernel speeds on wasm, tfjs-backend-wasm 4.22's own kernels vs detkit's, in one run: W8's conv layers
// (input and filter gradients), a dense layer's transposed products, depthwise and gather gradients.
//   node apps/bench/wasm-kernels.mjs
import { setupBackend, tf } from '@detkit/core';
import { registerWasmTrainingKernels, useBackend } from '@detkit/backends';

const time = (f, n = 3) => {
  tf.dispose(f());
  const t = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    tf.dispose(f());
    t.push(performance.now() - s);
  }
  return t.sort((a, b) => a - b)[Math.floor(n / 2)];
};
const LAYERS = [[2, 320, 320, 3, 32, 2], [2, 160, 160, 32, 64, 2], [2, 40, 40, 128, 256, 2], [2, 20, 20, 256, 512, 1]];

async function measure(label) {
  const rows = [];
  for (const [n, h, w, ci, co, s] of LAYERS) {
    const x = tf.randomNormal([n, h, w, ci]);
    const f = tf.randomNormal([3, 3, ci, co]);
    const dy = tf.randomNormal(tf.conv2d(x, f, s, 'same').shape);
    const fwd = time(() => tf.conv2d(x, f, s, 'same'));
    const input = time(() => tf.conv2dTranspose(dy, f, x.shape, s, 'same'));
    let filter = NaN;
    try {
      filter = time(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: s, pad: 'same', dataFormat: 'NHWC', filterShape: f.shape }));
    } catch {
      // stock tfjs-backend-wasm has no Conv2DBackpropFilter
    }
    rows.push(`${label} conv3x3 ${[n, h, w, ci, co].join('x')} s${s}: forward ${fwd.toFixed(1)} ms, input grad ${input.toFixed(1)} ms, filter grad ${Number.isNaN(filter) ? 'missing' : `${filter.toFixed(1)} ms`}`);
    tf.dispose([x, f, dy]);
  }
  const a = tf.randomNormal([800, 2304]);
  const b = tf.randomNormal([800, 512]);
  const c = tf.randomNormal([2304, 512]);
  rows.push(`${label} matMul 2304x800x512 A^T B: ${time(() => tf.matMul(a, b, true, false)).toFixed(1)} ms, A B^T (800x512x2304): ${time(() => tf.matMul(b, c, false, true)).toFixed(1)} ms`);
  const bt = tf.randomNormal([8, 256, 128]);
  const bb = tf.randomNormal([8, 128, 256]);
  rows.push(`${label} batched matMul 8x256x128x256: ${time(() => tf.matMul(bt, bb)).toFixed(1)} ms`);
  tf.dispose([a, b, c, bt, bb]);
  return rows;
}

await setupBackend('wasm');
const stock = await measure('stock ');
registerWasmTrainingKernels();
await useBackend('wasm');
const detkit = await measure('detkit');
for (let i = 0; i < stock.length; i++) console.log(`${stock[i]}\n${detkit[i]}`);
