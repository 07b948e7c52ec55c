#!/usr/bin/env node
// Soak test of the reference trainer (nightly-style, not in CI): N training steps (default 10,000) of the
// default SSD on the built-in synthetic set, through the real `runTraining` (evaluation, drawings, plots and
// a checkpoint after every epoch of 125 steps), sampling tf.memory().numTensors, tf.memory().numBytes, the
// wasm heap and the process RSS every 100 steps. Writes soak.csv and soak-verdict.json to --out and prints
// the verdict:
//   tensors flat: the tensor count at every sample equals the first sample's;
//   RSS flat:     over the samples after the warm-up (the first 20% of the steps, and at least the first two
//                 epochs, 250 steps: the allocator, the wasm heap and the evaluation's buffers grow to their
//                 working size), the least-squares slope of RSS, times the steps of that window, is below
//                 max(16 MB, 3% of the window's first RSS). With fewer than 3 samples after the warm-up the
//                 run is too short to judge RSS (the verdict says so; exit status 0 only if tensors are flat).
// The trainer's own output (checkpoints, metrics.jsonl) goes to <out>/run.
//
//   node apps/trainer/bench/soak.mjs [--steps 10000] [--every 100] [--backend wasm] [--out runs/soak]
//
// It bundles src/run-training.ts with esbuild (as the fault suite does) so it runs the source as it is.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { bundleForNode } from '@detkit/test-utils/bundle';

const here = path.dirname(fileURLToPath(import.meta.url));
const app = path.join(here, '..');
const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '10000' },
    every: { type: 'string', default: '100' },
    backend: { type: 'string', default: 'wasm' },
    out: { type: 'string', default: path.join('runs', `soak-${new Date().toISOString().slice(0, 10)}`) },
  },
});
const steps = Number(values.steps);
const every = Number(values.every);
if (!Number.isInteger(steps) || steps < 1 || !Number.isInteger(every) || every < 1) {
  console.error('soak: --steps and --every must be positive integers');
  process.exit(2);
}
const out = path.resolve(process.env.INIT_CWD ?? process.cwd(), values.out);

const bundleDir = path.join(app, 'node_modules', '.cache', 'detkit-soak');
await bundleForNode([path.join(app, 'src', 'run-training.ts'), path.join(app, 'src', 'config.ts')], bundleDir);
const { runTraining } = await import(pathToFileURL(path.join(bundleDir, 'run-training.js')).href);
const { defaultConfig } = await import(pathToFileURL(path.join(bundleDir, 'config.js')).href);
const { tf } = await import('@detkit/core');

await mkdir(out, { recursive: true });
await rm(path.join(out, 'run'), { recursive: true, force: true });
const base = defaultConfig('ssd');
// The default SSD run (128 px, batch 16, 125 steps per epoch), as many epochs as the steps need.
const config = { ...base, backend: values.backend, epochs: Math.ceil(steps / 125), maxSteps: steps, progress: false, out: path.join(out, 'run') };

function wasmHeapBytes() {
  try {
    const heap = tf.backend()?.wasm?.HEAPU8;
    return heap ? heap.byteLength : NaN;
  } catch {
    return NaN;
  }
}

const mb = (bytes) => bytes / 2 ** 20;
const samples = [];
const started = performance.now();
const sample = (step, loss) => {
  const memory = tf.memory();
  const s = {
    step,
    seconds: (performance.now() - started) / 1000,
    numTensors: memory.numTensors,
    tensorMb: mb(memory.numBytes),
    wasmHeapMb: mb(wasmHeapBytes()),
    rssMb: mb(process.memoryUsage().rss),
    heapUsedMb: mb(process.memoryUsage().heapUsed),
    loss,
  };
  samples.push(s);
  console.log(`soak: step ${step}: ${s.numTensors} tensors (${s.tensorMb.toFixed(1)} MB), wasm heap ${s.wasmHeapMb.toFixed(0)} MB, RSS ${s.rssMb.toFixed(0)} MB, JS heap ${s.heapUsedMb.toFixed(0)} MB, loss ${loss.toFixed(3)}`);
};

const summary = await runTraining(config, {
  log: (line) => {
    if (line.startsWith('epoch ') || line.startsWith('detkit-train') || line.startsWith('done')) console.log(line);
  },
  onStep: (r) => {
    if (r.step % every === 0) sample(r.step, r.loss);
  },
});
summary.detector.dispose();

const columns = ['step', 'seconds', 'numTensors', 'tensorMb', 'wasmHeapMb', 'rssMb', 'heapUsedMb', 'loss'];
const csv = [columns.join(','), ...samples.map((s) => columns.map((c) => (Number.isInteger(s[c]) ? s[c] : Number(s[c]).toFixed(3))).join(','))].join('\n');
await writeFile(path.join(out, 'soak.csv'), `${csv}\n`);

/** Least-squares slope of y over x. */
function slope(points) {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  const sxy = points.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0);
  const sxx = points.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

const tensorCounts = samples.map((s) => s.numTensors);
const tensorsFlat = tensorCounts.every((n) => n === tensorCounts[0]);
const warmup = Math.max(0.2 * steps, 250);
const window = samples.filter((s) => s.step > warmup);
const span = window.length > 1 ? window[window.length - 1].step - window[0].step : 0;
const rssGrowthMb = slope(window.map((s) => [s.step, s.rssMb])) * span;
const rssLimitMb = Math.max(16, 0.03 * (window[0]?.rssMb ?? 0));
// null: too few samples after the warm-up to judge.
const rssFlat = window.length < 3 ? null : rssGrowthMb < rssLimitMb;
const verdict = {
  date: new Date().toISOString(),
  steps: samples.at(-1)?.step ?? 0,
  every,
  backend: values.backend,
  node: process.version,
  seconds: (performance.now() - started) / 1000,
  tensors: { flat: tensorsFlat, first: tensorCounts[0], min: Math.min(...tensorCounts), max: Math.max(...tensorCounts), last: tensorCounts.at(-1) },
  rss: {
    flat: rssFlat,
    firstMb: samples[0]?.rssMb,
    lastMb: samples.at(-1)?.rssMb,
    maxMb: Math.max(...samples.map((s) => s.rssMb)),
    windowFromStep: window[0]?.step,
    fittedGrowthMb: rssGrowthMb,
    limitMb: rssLimitMb,
  },
  wasmHeapMb: { first: samples[0]?.wasmHeapMb, last: samples.at(-1)?.wasmHeapMb },
  finalMap: summary.finalMap,
  flat: tensorsFlat && rssFlat !== false,
};
await writeFile(path.join(out, 'soak-verdict.json'), `${JSON.stringify(verdict, null, 2)}\n`);
console.log(
  `soak: ${verdict.steps} steps in ${verdict.seconds.toFixed(0)} s: tensors ${tensorsFlat ? 'flat' : 'NOT flat'} (${verdict.tensors.min}..${verdict.tensors.max}), ` +
    `RSS ${rssFlat === null ? `not judged (fewer than 3 samples after the ${warmup}-step warm-up)` : `${rssFlat ? 'flat' : 'NOT flat'} (fitted growth ${rssGrowthMb.toFixed(1)} MB after step ${verdict.rss.windowFromStep}, limit ${rssLimitMb.toFixed(0)} MB)`}, ` +
    `${verdict.rss.firstMb.toFixed(0)} -> ${verdict.rss.lastMb.toFixed(0)} MB: ${verdict.flat ? (rssFlat === null ? 'tensors FLAT, RSS not judged' : 'FLAT') : 'NOT FLAT'}; ${path.join(out, 'soak.csv')}`,
);
process.exitCode = verdict.flat ? 0 : 1;
