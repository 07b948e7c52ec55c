// Times this package's workloads (bench/workloads.mjs) on the wasm and cpu backends and against
// torchvision (bench/reference.py) on the same inputs, the way tooling/bench does, without tinybench:
// median of at least 30 calls and 1 s after a warm-up. `node bench/run.mjs [W2 W4 W6m]` after a build.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setupBackend, tf } from '@detkit/core';
import * as samplers from '@detkit/samplers';
import { mulberry32, writeInputs } from '../../../tooling/bench/inputs.mjs';
import { WORKLOADS } from './workloads.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const selected = only.length ? WORKLOADS.filter((w) => only.includes(w.id)) : WORKLOADS;
const hostInputs = Object.fromEntries(selected.map((w) => [w.id, w.inputs(mulberry32(w.seed))]));

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

const results = {};
for (const backend of ['wasm', 'cpu']) {
  await setupBackend(backend);
  for (const w of selected) {
    const tensors = {};
    for (const [name, { data, shape }] of Object.entries(hostInputs[w.id])) tensors[name] = tf.tensor(data, shape, data instanceof Int32Array ? 'int32' : 'float32');
    const before = tf.memory().numTensors;
    const call = w.setup(samplers, tensors);
    const out = call();
    const check = await w.check(out);
    tf.dispose(out);
    for (let i = 0, t0 = performance.now(); i < 3 || performance.now() - t0 < 200; i++) tf.dispose(call());
    const samples = [];
    for (let t0 = performance.now(); samples.length < 30 || performance.now() - t0 < 1000; ) {
      const t = performance.now();
      tf.dispose(call());
      samples.push(performance.now() - t);
    }
    const leaked = tf.memory().numTensors - before;
    tf.dispose(Object.values(tensors));
    (results[w.id] ??= {})[backend] = { ms: median(samples), check, leaked };
  }
}

const inputsDir = writeInputs(hostInputs);
const proc = spawnSync('/usr/bin/python3', [join(HERE, 'reference.py')], {
  input: JSON.stringify({ inputs_dir: inputsDir, workloads: selected.map((w) => w.id), time_ms: 1000, min_runs: 10, warmup_runs: 2 }),
  stdio: ['pipe', 'pipe', 'inherit'],
  env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
});
const reference = proc.status === 0 ? JSON.parse(proc.stdout.toString()).results : {};
if (proc.status !== 0) console.log(`reference.py failed (status ${proc.status}); ratios n/a`);

console.log('workload  wasm ms   cpu ms   torchvision ms  wasm/tv  cpu/tv  target  checks (wasm | cpu | tv)');
for (const w of selected) {
  const r = results[w.id];
  const tv = reference[w.id];
  const ratio = (x) => (tv?.median_ms ? (x / tv.median_ms).toFixed(3) : 'n/a');
  console.log(
    `${w.id.padEnd(8)}  ${r.wasm.ms.toFixed(3).padStart(7)}  ${r.cpu.ms.toFixed(3).padStart(7)}  ${(tv?.median_ms?.toFixed(3) ?? 'n/a').padStart(14)}  ${ratio(r.wasm.ms).padStart(7)}  ${ratio(r.cpu.ms).padStart(6)}  <= ${w.target}  ${JSON.stringify(r.wasm.check)} | ${JSON.stringify(r.cpu.check)} | ${JSON.stringify(tv?.check ?? tv?.error)}${tv?.note ? `  note: ${tv.note}` : ''}${r.wasm.leaked || r.cpu.leaked ? '  LEAK' : ''}`,
  );
}
