// Runs this package's workloads (workloads.mjs) on the wasm and cpu backends against torchvision
// (reference.py, one thread) on the same inputs, and prints the ratios. A stand-in until tooling/bench
// (`pnpm bench`) includes them; it uses the same workload and reference formats.
//
//   npx -y pnpm@10 exec turbo run build --filter=@detkit/heads...   # detkit side runs over dist/
//   node bench/run.mjs [W3 W5a ...] [--runs 15]
//
// DETKIT_BENCH_PYTHON overrides the reference interpreter (default /usr/bin/python3). Without Python or
// torchvision the detkit timings are still printed, and the reference column says why it is missing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setupBackend, tf } from '@detkit/core';
import { WORKLOADS } from './workloads.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const PYTHON = process.env.DETKIT_BENCH_PYTHON ?? '/usr/bin/python3';
const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const RUNS = runsAt >= 0 ? Number(args[runsAt + 1]) : 15;
const ids = args.filter((a, i) => !a.startsWith('--') && (runsAt < 0 || i !== runsAt + 1));
const workloads = ids.length ? WORKLOADS.filter((w) => ids.includes(w.id)) : WORKLOADS;

/** mulberry32, as tooling/bench/inputs.mjs. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
};

const hostInputs = Object.fromEntries(workloads.map((w) => [w.id, w.inputs(mulberry32(w.seed))]));
const pkg = await import('@detkit/heads');

const detkit = {};
for (const backend of ['wasm', 'cpu']) {
  await setupBackend(backend);
  for (const w of workloads) {
    const t = {};
    for (const [name, { data, shape }] of Object.entries(hostInputs[w.id])) t[name] = tf.tensor(data, shape, data instanceof Int32Array ? 'int32' : 'float32');
    const before = tf.memory().numTensors;
    const call = w.setup(pkg, t);
    const first = call();
    const check = await w.check(first);
    tf.dispose(first);
    for (let i = 0; i < 2; i++) tf.dispose(call());
    const samples = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      // From input tensors to disposed outputs, as tooling/bench times it (cpu and wasm compute
      // synchronously; reading the outputs back would add a copy torchvision does not make).
      tf.dispose(call());
      samples.push(performance.now() - t0);
    }
    const leaked = tf.memory().numTensors - before;
    tf.dispose(Object.values(t));
    detkit[`${w.id} ${backend}`] = { median_ms: median(samples), check, leaked };
    process.stderr.write(`  detkit ${backend} ${w.id}: ${median(samples).toFixed(2)} ms (${RUNS} runs)${leaked ? `, ${leaked} tensors leaked` : ''}\n`);
  }
}

let reference = { results: {} };
const dir = mkdtempSync(join(os.tmpdir(), 'detkit-heads-bench-'));
try {
  const manifest = {};
  for (const [id, arrays] of Object.entries(hostInputs)) {
    manifest[id] = {};
    for (const [name, { data, shape }] of Object.entries(arrays)) {
      const file = `${id}.${name}.bin`;
      writeFileSync(join(dir, file), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      manifest[id][name] = { file, dtype: data instanceof Int32Array ? 'int32' : 'float32', shape };
    }
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  const spec = join(dir, 'spec.json');
  writeFileSync(spec, JSON.stringify({ inputs_dir: dir, workloads: workloads.map((w) => w.id), time_ms: 2000, min_runs: 5, warmup_runs: 1 }));
  const py = spawnSync(PYTHON, [join(HERE, 'reference.py'), spec], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  if (py.status === 0) reference = JSON.parse(py.stdout);
  else reference.error = py.error ? String(py.error) : `reference.py exited with ${py.status}`;
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const fmt = (x) => (x === undefined ? '-' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
console.log(`\n${reference.torchvision ? `torchvision ${reference.torchvision}, ${reference.threads} thread` : `no reference: ${reference.error}`}; ${os.cpus()[0]?.model ?? ''}`);
console.log('| id | workload | detkit wasm ms | detkit cpu ms | torchvision ms | wasm / tv | cpu / tv | target | check (wasm / tv) |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const w of workloads) {
  const ref = reference.results?.[w.id];
  const wasm = detkit[`${w.id} wasm`];
  const cpu = detkit[`${w.id} cpu`];
  const tv = ref?.median_ms;
  const agree = ref?.check ? ref.check.every((v, i) => Math.abs(v - wasm.check[i]) <= 1e-4 * Math.max(1, Math.abs(v))) : undefined;
  console.log(
    `| ${w.id} | ${w.title} | ${fmt(wasm.median_ms)} | ${fmt(cpu.median_ms)} | ${fmt(tv)} | ${tv ? (wasm.median_ms / tv).toFixed(3) : '-'} | ${tv ? (cpu.median_ms / tv).toFixed(3) : '-'} | ${w.target ?? '-'} | ${agree === undefined ? ref?.error ?? '-' : agree ? 'agree' : `differ: ${wasm.check} vs ${ref.check}`}${ref?.note ? ` (${ref.note})` : ''} |`,
  );
}
