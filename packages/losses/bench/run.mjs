// `pnpm --filter @detkit/losses bench` (after building): W6-loss on its own, detkit on the wasm and cpu
// backends against torchvision 0.14 (bench/reference.py, one thread) on the same inputs, in one run, and
// the ratios. The same timing rules as tooling/bench: warm up >= 2 calls, then >= 10 calls and >= 1 s on
// each side; medians.
//
//   node bench/run.mjs              # one round
//   node bench/run.mjs --rounds 3   # three rounds (wasm, cpu, torchvision each), a ratio per round
//
// DETKIT_BENCH_PYTHON overrides the reference interpreter (default /usr/bin/python3).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setupBackend, tf } from '@detkit/core';
import * as losses from '@detkit/losses';
import { W6_LOSS } from './workload.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const PYTHON = process.env.DETKIT_BENCH_PYTHON ?? '/usr/bin/python3';
const TIME_MS = 1000;
const MIN_RUNS = 10;
const WARMUP = 2;
const CHECK_RTOL = 1e-4;

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

function writeInputs(id, arrays) {
  const dir = mkdtempSync(join(tmpdir(), 'detkit-losses-bench-'));
  const manifest = { [id]: {} };
  for (const [name, { data, shape }] of Object.entries(arrays)) {
    const file = `${id}.${name}.bin`;
    writeFileSync(join(dir, file), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    manifest[id][name] = { file, dtype: data instanceof Int32Array ? 'int32' : 'float32', shape };
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function timeDetkit(backend, host) {
  await setupBackend(backend);
  const before = tf.memory().numTensors;
  const tensors = Object.fromEntries(Object.entries(host).map(([k, { data, shape }]) => [k, tf.tensor(data, shape, data instanceof Int32Array ? 'int32' : 'float32')]));
  const call = W6_LOSS.setup(losses, tensors);
  const out = call();
  const check = await W6_LOSS.check(out);
  tf.dispose(out);
  for (let i = 0; i < WARMUP; i++) tf.dispose(call());
  const samples = [];
  let total = 0;
  while (total < TIME_MS || samples.length < MIN_RUNS) {
    const t0 = performance.now();
    const r = call();
    r[0].dataSync(); // wait for the backend (cpu and wasm are synchronous anyway)
    const dt = performance.now() - t0;
    tf.dispose(r);
    samples.push(dt);
    total += dt;
  }
  tf.dispose(Object.values(tensors));
  return { median_ms: median(samples), runs: samples.length, check, leaked: tf.memory().numTensors - before };
}

function timeReference(inputsDir) {
  if (!existsSync(PYTHON)) return { missing: `${PYTHON} not found` };
  const proc = spawnSync(PYTHON, [join(HERE, 'reference.py')], {
    input: JSON.stringify({ inputs_dir: inputsDir, workloads: [W6_LOSS.id], time_ms: TIME_MS, min_runs: 5, warmup_runs: 1 }),
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
    maxBuffer: 16 * 1024 * 1024,
  });
  if (proc.error || proc.status === 3) return { missing: `torch/torchvision not usable by ${PYTHON}` };
  if (proc.status !== 0) return { missing: `reference.py exited with status ${proc.status}` };
  const out = JSON.parse(proc.stdout.toString());
  return { ...out.results[W6_LOSS.id], versions: `torch ${out.torch}, torchvision ${out.torchvision}, ${out.threads} thread(s)` };
}

const agree = (a, b) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) <= CHECK_RTOL * Math.max(1, Math.abs(b[i])));
const fmt = (v) => (v === undefined ? 'n/a' : v.toFixed(v >= 100 ? 0 : 1));
const ratio = (a, b) => (a === undefined || b === undefined ? 'n/a' : (a / b).toFixed(2));

const roundsArg = process.argv.indexOf('--rounds');
const rounds = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 1;
const host = W6_LOSS.inputs(mulberry32(W6_LOSS.seed));
const dir = writeInputs(W6_LOSS.id, host);
try {
  console.log(`${W6_LOSS.id}: ${W6_LOSS.title}; tfjs ${tf.version_core}, Node ${process.version}`);
  console.log('round  detkit wasm ms  detkit cpu ms  torchvision ms  wasm/tv  cpu/tv');
  for (let r = 1; r <= rounds; r++) {
    const wasm = await timeDetkit('wasm', host);
    const cpu = await timeDetkit('cpu', host);
    const tv = timeReference(dir);
    console.log(
      `${String(r).padEnd(5)}  ${fmt(wasm.median_ms).padStart(14)}  ${fmt(cpu.median_ms).padStart(13)}  ${fmt(tv.median_ms).padStart(14)}  ${ratio(wasm.median_ms, tv.median_ms).padStart(7)}  ${ratio(cpu.median_ms, tv.median_ms).padStart(6)}`,
    );
    if (r === 1) {
      if (tv.missing) console.log(`note: torchvision reference missing (${tv.missing}); ratios are n/a`);
      if (tv.note) console.log(`note: torchvision: ${tv.note}`);
      for (const [name, res] of [['wasm', wasm], ['cpu', cpu]]) {
        if (res.leaked) console.log(`note: ${name} leaked ${res.leaked} tensor(s)`);
        if (tv.check && !agree(res.check, tv.check)) console.log(`note: ${name} output ${JSON.stringify(res.check)} differs from torchvision ${JSON.stringify(tv.check)}`);
      }
      console.log(`check [loss, sum|dLogits|, sum|dDeltas|]: wasm ${JSON.stringify(wasm.check)}, torchvision ${JSON.stringify(tv.check ?? null)}${tv.versions ? ` (${tv.versions})` : ''}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
