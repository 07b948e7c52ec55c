import { useBackend } from '@detkit/backends';
import { createFasterRcnn, createSsd, trainableVariables } from '@detkit/models';
import { firstSyntheticBatch, trainerStep, TRAINER_IMAGE_SIZE } from './trainer-batch.mjs';
import { readdirSync, readFileSync } from 'node:fs';
const [threads, model] = [Number(process.argv[2]), process.argv[3]];
await useBackend('wasm', { threads });
const detector = model === 'ssd' ? createSsd({ numClasses: 4, imageSize: TRAINER_IMAGE_SIZE, seed: 0 }) : createFasterRcnn({ numClasses: 4, imageSize: TRAINER_IMAGE_SIZE, seed: 0 });
const batch = await firstSyntheticBatch(model === 'ssd' ? 16 : 8);
const step = trainerStep(detector, trainableVariables(detector), batch);
const cpu = () => new Map(readdirSync('/proc/self/task').map((t) => [Number(t), Number(readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').split(' ')[0]) / 1e6]));
const out = [];
for (let block = 0; block < 10; block++) {
  const c0 = cpu(); const ts = [];
  for (let i = 0; i < 10; i++) { const a = performance.now(); step(); ts.push(performance.now() - a); }
  const c1 = cpu(); let main = 0, rest = 0; const others = [];
  for (const [tid, v] of c1) { const d = v - (c0.get(tid) ?? 0); if (tid === process.pid) main = d; else others.push(d); }
  others.sort((a, b) => b - a);
  const v8 = (threads > 1 ? others.slice(1) : others).reduce((a, b) => a + b, 0) / 10;
  ts.sort((a, b) => a - b);
  out.push(`steps ${block * 10}-${block * 10 + 9}: median ${ts[5].toFixed(1)} ms, V8/libuv ${v8.toFixed(1)} ms CPU a step`);
}
console.log(`${model} ${threads}t\n` + out.join('\n'));
process.exit(0);
