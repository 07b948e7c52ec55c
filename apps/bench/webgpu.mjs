// The standard workloads W1-W7 on webgpu (Dawn in Node) next to wasm, on the same inputs: median of a few
// calls each, each call timed until its outputs are read back (GPU work is asynchronous), after one
// warm-up call (shader compilation). Here Dawn runs on SwiftShader, a CPU emulation of a GPU, so the webgpu
// column is software emulation, not GPU speed.
//
//   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json XDG_RUNTIME_DIR=/tmp node webgpu.mjs [ids...]
import os from 'node:os';
import { backendInfo, useBackend } from '@detkit/backends';
import { createRandom, tf } from '@detkit/core';
import { WORKLOADS } from './workloads.mjs';

const RUNS = Number(process.env.DETKIT_BENCH_RUNS ?? 5);
const ids = process.argv.slice(2);
const selected = WORKLOADS.filter((w) => w.detkit !== false && !w.id.startsWith('W8') && (ids.length === 0 || ids.some((id) => w.id === id || w.group === id)));

async function readAll(out) {
  const list = Array.isArray(out) ? out : out instanceof tf.Tensor ? [out] : Object.values(out ?? {}).filter((t) => t instanceof tf.Tensor);
  await Promise.all(list.map((t) => t.data()));
  tf.dispose(out);
}

async function time(backend, w, host, modules) {
  await useBackend(backend);
  const tensors = {};
  for (const [name, { data, shape }] of Object.entries(host)) tensors[name] = tf.tensor(data, shape, data instanceof Int32Array ? 'int32' : 'float32');
  let prepared;
  try {
    if (!modules.has(w.package)) modules.set(w.package, w.package === null ? {} : await import(w.package));
    prepared = await w.setup(modules.get(w.package), tensors);
    if (typeof prepared === 'function') prepared = { call: prepared };
    await readAll(prepared.call());
    const ms = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      await readAll(prepared.call());
      ms.push(performance.now() - t0);
    }
    ms.sort((a, b) => a - b);
    return ms[Math.floor(ms.length / 2)];
  } catch (error) {
    return `failed: ${String(error?.message ?? error).split('\n')[0]}`;
  } finally {
    prepared?.dispose?.();
    tf.dispose(Object.values(tensors));
  }
}

const modules = new Map();
await useBackend('webgpu');
console.log(`webgpu adapter: ${JSON.stringify(backendInfo().adapter)}; load average ${os.loadavg().map((v) => v.toFixed(1)).join(' ')}`);
console.log('| workload | wasm (ms) | webgpu, SwiftShader (ms) |\n|---|---|---|');
for (const w of selected) {
  const host = w.inputs(createRandom(w.seed));
  const wasm = await time('wasm', w, host, modules);
  const gpu = await time('webgpu', w, host, modules);
  const f = (v) => (typeof v === 'number' ? v.toFixed(1) : v);
  console.log(`| ${w.id} ${w.title} | ${f(wasm)} | ${f(gpu)} |`);
}
console.log(`load average at the end ${os.loadavg().map((v) => v.toFixed(1)).join(' ')}`);
