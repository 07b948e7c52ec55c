// One training step of the trainer's SSD or Faster R-CNN on webgpu (Dawn in Node): step time and the CPU
// round trips in it (synchronous GPU-to-CPU reads, by call site: count, KB, wall time inside the read,
// which includes waiting for the GPU work queued before it). NO_WGSL=1 unregisters detkit's WGSL kernels
// (the fused kernels then run over a download), for the before / after in packages/backends/README.md.
//
//   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json XDG_RUNTIME_DIR=/tmp node webgpu-steps.mjs ssd|frcnn
import { useBackend, ADDED_WEBGPU_KERNELS } from '@detkit/backends';
import { tf } from '@detkit/core';
import { createSsd, createFasterRcnn, trainableVariables } from '@detkit/models';
const which = process.argv[2] ?? 'ssd';
await useBackend('webgpu');
if (process.env.NO_WGSL) for (const k of ADDED_WEBGPU_KERNELS) tf.unregisterKernel(k, 'webgpu');
const be = tf.backend();
const orig = be.readSync;
const sites = new Map();
let on = false;
be.readSync = (id) => {
  const had = be.tensorMap.get(id).values != null;
  const t0 = performance.now();
  const v = orig(id);
  if (on && !had) {
    const frames = new Error().stack.split('\n').slice(2).map((l) => l.trim());
    const site = frames.find((l) => /packages\/(boxes|matchers|samplers|heads|losses|anchors|models)\/(dist|src)/.test(l) && !/runTypedArrayKernel|peekValues/.test(l)) ?? frames.slice(0, 3).join(' < ');
    const name = site.replace(/\(file:.*packages\//, '(').replace(/dist\/index\.js:\d+:\d+\)/, ')');
    const s = sites.get(name) ?? { n: 0, ms: 0, kb: 0 };
    s.n++; s.ms += performance.now() - t0; s.kb += (v.length * 4) / 1024;
    sites.set(name, s);
  }
  return v;
};
const size = 32;
const det = which === 'ssd' ? createSsd({ numClasses: 3, imageSize: size, seed: 0 }) : createFasterRcnn({ numClasses: 3, imageSize: size, seed: 0 });
const vars = trainableVariables(det);
const images = tf.randomUniform([1, size, size, 3], 0, 1, 'float32', 1);
const targets = [{ boxes: new Float32Array([2, 3, 15, 20, 10, 10, 30, 25]), labels: new Int32Array([0, 2]) }];
const opt = tf.train.momentum(0.01, 0.9);
let r = 0; const rng = () => { r = (r * 1103515245 + 12345) % 2147483648; return r / 2147483648; };
const step = async () => { const c = opt.minimize(() => det.loss(images, targets, { rng }).total, true, vars); await c.data(); c.dispose(); };
await step();
on = true;
const t0 = performance.now();
await step(); await step();
const total = (performance.now() - t0) / 2;
on = false;
let sum = 0;
const rows = [...sites.entries()].map(([k, s]) => { sum += s.ms; return `${(s.n / 2).toFixed(1)} reads/step ${(s.ms / 2).toFixed(0)} ms ${(s.kb / 2).toFixed(1)} KB  ${k}`; });
console.log(`${which} NO_WGSL=${process.env.NO_WGSL ?? ''}: step ${total.toFixed(0)} ms, sync reads ${(sum / 2).toFixed(0)} ms/step (${((100 * sum) / 2 / total).toFixed(1)}%), load ${(await import('node:os')).loadavg()[0].toFixed(1)}`);
console.log(rows.join('\n'));
