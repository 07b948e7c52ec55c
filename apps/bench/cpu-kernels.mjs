// Convolution kernel speeds on tfjs-backend-cpu, tfjs 4.22's own kernels vs @detkit/core's replacements
// (registerCpuKernelFixes), in one run, on W8's layers at batch 2.
//   node apps/bench/cpu-kernels.mjs     # detkit's kernels, and tfjs's except its slowest filter gradients
//   node apps/bench/cpu-kernels.mjs --all # tfjs's filter gradient on every layer too (minutes)
import { setupBackend, stockCpuKernel, tf } from '@detkit/core';

const all = process.argv.includes('--all');
const time = (f) => {
  const s = performance.now();
  tf.dispose(f());
  return performance.now() - s;
};
/** tfjs-backend-cpu's own kernel on the same inputs (its output freed at once). */
const stock = (name, inputs, attrs) => () => {
  const backend = tf.backend();
  const out = stockCpuKernel(name)({ inputs, attrs, backend });
  backend.disposeData(out.dataId);
};
const fmt = (ms) => (Number.isNaN(ms) ? 'skipped' : `${ms.toFixed(0)} ms`);
const LAYERS = [[2, 320, 320, 3, 32, 2], [2, 160, 160, 32, 64, 2], [2, 40, 40, 128, 256, 2], [2, 20, 20, 256, 512, 1]];

await setupBackend('cpu');
for (const [n, h, w, ci, co, s] of LAYERS) {
  const x = tf.randomNormal([n, h, w, ci]);
  const f = tf.randomNormal([3, 3, ci, co]);
  const dy = tf.randomNormal(tf.conv2d(x, f, s, 'same').shape);
  const attrs = { strides: s, pad: 'same', dataFormat: 'NHWC', dilations: 1 };
  const run = (name, inputs, extra) => [
    time(stock(name, inputs, { ...attrs, ...extra })),
    time(() => tf.engine().runKernel(name, inputs, { ...attrs, ...extra })),
  ];
  const fwd = run('Conv2D', { x, filter: f }, {});
  const input = run('Conv2DBackpropInput', { dy, filter: f }, { inputShape: x.shape });
  const filter = all || ci * co <= 32 * 64
    ? run('Conv2DBackpropFilter', { x, dy }, { filterShape: f.shape })
    : [NaN, time(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: f.shape }))];
  console.log(`conv3x3 ${[n, h, w, ci, co].join('x')} s${s}: forward ${fmt(fwd[0])} -> ${fmt(fwd[1])}, input grad ${fmt(input[0])} -> ${fmt(input[1])}, filter grad ${fmt(filter[0])} -> ${fmt(filter[1])}`);
  tf.dispose([x, f, dy]);
}
{
  const x = tf.randomNormal([2, 80, 80, 64]);
  const f = tf.randomNormal([3, 3, 64, 1]);
  const dy = tf.randomNormal([2, 40, 40, 64]);
  const attrs = { strides: 2, pad: 'same', dilations: 1 };
  const filter = [stock, null].map((which) => time(which ? which('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, filterShape: f.shape }) : () => tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, filterShape: f.shape })));
  const input = [stock, null].map((which) => time(which ? which('DepthwiseConv2dNativeBackpropInput', { dy, filter: f }, { ...attrs, inputShape: x.shape }) : () => tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: f }, { ...attrs, inputShape: x.shape })));
  console.log(`depthwise3x3 2x80x80x64 s2: input grad ${fmt(input[0])} -> ${fmt(input[1])}, filter grad ${fmt(filter[0])} -> ${fmt(filter[1])}`);
  tf.dispose([x, f, dy]);
}
