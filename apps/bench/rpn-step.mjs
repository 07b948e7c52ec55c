// W8 (BENCHMARKS.md, as issue 5 defines it for @detkit/backends): one training step of a small conv
// backbone with an RPN head (@detkit/test-utils/rpn-net) at 320x320, batch 2, on detkit's wasm backend, on tfjs's cpu
// backend, and the same network in torch (rpn-net.py, one thread); prints the ratios and the largest
// kernels' share of the wasm step (tf.profile). Runs over the built
// @detkit/backends (`pnpm --filter @detkit/bench... build` first). `pnpm bench W8` times the same step in the harness.
//
//   node apps/bench/rpn-step.mjs             # wasm, cpu and torchvision
//   node apps/bench/rpn-step.mjs wasm torch  # a subset (cpu takes minutes: tfjs-backend-cpu's conv filter gradient is a scalar loop)
//
// The harness entry point is `runW8(backends)`; DETKIT_BENCH_PYTHON overrides /usr/bin/python3.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf } from '@detkit/core';
import { backendInfo, useBackend } from '@detkit/backends';
import { createRpnNet, rpnLoss, rpnTargets, trainStep } from '@detkit/test-utils/rpn-net';

const HERE = dirname(fileURLToPath(import.meta.url));
export const W8 = { id: 'W8', batch: 2, size: 320, target: 1.5 };
/** Timed steps per backend, after one warm-up step (wasm: XNNPACK operators, momentum slots). */
const STEPS = { wasm: 5, cpu: 1 };
/** tfjs-backend-cpu's conv filter gradient is a scalar loop: a cpu step takes minutes, so no warm-up there. */
const WARMUP = { wasm: 1, cpu: 0 };

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Times training steps on `backend`; returns { median_ms, runs, loss, kernels? }. */
export async function timeBackend(backend, { steps = STEPS[backend] ?? 3, profile = backend === 'wasm' } = {}) {
  await useBackend(backend);
  const net = createRpnNet(tf);
  const images = tf.randomUniform([W8.batch, W8.size, W8.size, 3], 0, 1, 'float32', 3);
  const targets = rpnTargets(tf, [W8.batch, W8.size / 16, W8.size / 16]);
  const optimizer = tf.train.momentum(0.01, 0.9);
  let loss;
  for (let i = 0; i < (WARMUP[backend] ?? 1); i++) loss = trainStep(tf, net, optimizer, images, targets);
  const times = [];
  for (let i = 0; i < steps; i++) {
    const start = performance.now();
    loss = trainStep(tf, net, optimizer, images, targets);
    times.push(performance.now() - start);
  }
  let kernels;
  if (profile) {
    // One more full training step (forward, loss, backward, update) under tf.profile.
    const p = await tf.profile(() => tf.dispose(optimizer.minimize(() => rpnLoss(tf, net.forward(images), targets), true, net.params)));
    const byName = new Map();
    for (const k of p.kernels) byName.set(k.name, (byName.get(k.name) ?? 0) + k.kernelTimeMs);
    const total = [...byName.values()].reduce((a, b) => a + b, 0);
    kernels = [...byName.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([name, ms]) => ({ name, ms, share: ms / total }));
  }
  optimizer.dispose();
  tf.dispose([...net.params, images, targets.labels, targets.targets]);
  return { median_ms: median(times), runs: times.length, loss, info: backendInfo(), kernels };
}

/** Runs rpn-net.py; returns its JSON, or { missing } when Python or torch is absent. */
export function timeTorch() {
  const python = process.env.DETKIT_BENCH_PYTHON ?? '/usr/bin/python3';
  const r = spawnSync(python, [join(HERE, 'rpn-net.py'), '--batch', String(W8.batch), '--size', String(W8.size)], {
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' },
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.error || r.status !== 0) return { missing: `reference unavailable (${r.error?.message ?? r.stderr.trim().split('\n').pop()}): apt-get install -y python3-torchvision libopenblas0-pthread` };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/** Every requested side of W8, then a printed table. */
export async function runW8(sides = ['wasm', 'cpu', 'torch']) {
  const results = {};
  for (const side of sides) {
    process.stderr.write(`W8 ${side}...\n`);
    results[side] = side === 'torch' ? timeTorch() : await timeBackend(side);
  }
  const tv = results.torch?.median_ms;
  const fmt = (x) => (x === undefined ? 'n/a' : x.toFixed(0));
  const ratio = (x) => (x === undefined || tv === undefined ? 'n/a' : (x / tv).toFixed(2));
  console.log(`W8: one training step, RPN net at ${W8.size}x${W8.size}, batch ${W8.batch} (SGD momentum)`);
  console.log('side         median ms   / torchvision');
  for (const side of ['wasm', 'cpu']) if (results[side]) console.log(`${side.padEnd(12)} ${fmt(results[side].median_ms).padStart(9)}   ${ratio(results[side].median_ms)}${side === 'wasm' ? `  (target <= ${W8.target})` : ''}`);
  if (results.torch) console.log(`torchvision  ${results.torch.missing ? results.torch.missing : fmt(tv).padStart(9)}`);
  if (results.wasm && results.cpu) console.log(`wasm steps/s ${(1000 / results.wasm.median_ms).toFixed(2)} vs cpu ${(1000 / results.cpu.median_ms).toFixed(3)}`);
  if (results.wasm?.kernels) {
    console.log('largest kernels of the wasm step (tf.profile):');
    for (const k of results.wasm.kernels) console.log(`  ${k.name.padEnd(36)} ${k.ms.toFixed(1).padStart(8)} ms  ${(100 * k.share).toFixed(1)}%`);
  }
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sides = process.argv.slice(2);
  await runW8(sides.length ? sides : undefined);
}
