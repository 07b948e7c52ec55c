import { useBackend } from '@detkit/backends';
import { createFasterRcnn, createSsd, trainableVariables } from '@detkit/models';
import { firstSyntheticBatch, trainerStep, TRAINER_IMAGE_SIZE } from './trainer-batch.mjs';
import { Session } from 'node:inspector/promises';
const [threads, model] = [Number(process.argv[2]), process.argv[3]];
const names = process.argv.slice(4);
await useBackend('wasm', { threads });
const detector = model === 'ssd' ? createSsd({ numClasses: 4, imageSize: TRAINER_IMAGE_SIZE, seed: 0 }) : createFasterRcnn({ numClasses: 4, imageSize: TRAINER_IMAGE_SIZE, seed: 0 });
const batch = await firstSyntheticBatch(model === 'ssd' ? 16 : 8);
const step = trainerStep(detector, trainableVariables(detector), batch);
for (let i = 0; i < 8; i++) step();
const s = new Session(); s.connect();
await s.post('Profiler.enable'); await s.post('Profiler.setSamplingInterval', { interval: 50 }); await s.post('Profiler.start');
const N = 30; const t0 = performance.now();
for (let i = 0; i < N; i++) step();
const wall = (performance.now() - t0) / N;
const { profile } = await s.post('Profiler.stop');
const byId = new Map(profile.nodes.map(n => [n.id, n]));
const parent = new Map(); for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const dt = new Map(); for (let i = 0; i < profile.samples.length; i++) dt.set(profile.samples[i], (dt.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
const incl = new Map(names.map(n => [n, 0]));
let total = 0;
for (const [id, t] of dt) {
  total += t;
  const seen = new Set();
  for (let p = id; p !== undefined; p = parent.get(p)) { const fn = byId.get(p).callFrame.functionName; if (incl.has(fn) && !seen.has(fn)) { seen.add(fn); incl.set(fn, incl.get(fn) + t); } }
}
console.log(`threads ${threads} ${model}: step ${wall.toFixed(1)} ms; profiled ${(total/1000/N).toFixed(1)}`);
for (const [k, t] of incl) console.log((t / 1000 / N).toFixed(2).padStart(7), k);
process.exit(0);
