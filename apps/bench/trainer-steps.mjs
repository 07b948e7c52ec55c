// W8 (BENCHMARKS.md): one training step of the reference trainer's default detectors at their default size
// and batch, and steps per second, on the wasm and cpu backends. Also one inference batch.
// Run after a build: `node apps/bench/trainer-steps.mjs [steps] [backends...]`, e.g. `node apps/bench/trainer-steps.mjs 20 wasm cpu`.
// Prints a Markdown table; the step is timed as the trainer runs it (optimizer.minimize + reading the loss),
// on a fixed batch of the synthetic set, after 3 warm-up steps (1 on cpu). Data loading is not included.
import { loadavg } from 'node:os';
import { useBackend } from '@detkit/backends';
import { createFasterRcnn, createSsd, trainableVariables } from '@detkit/models';
import { firstSyntheticBatch, trainerStep, TRAINER_IMAGE_SIZE } from './trainer-batch.mjs';

const steps = Number(process.argv[2] ?? 20);
const backends = process.argv.length > 3 ? process.argv.slice(3) : ['wasm', 'cpu'];
const MODELS = [
  { name: 'ssd', batch: 16, make: () => createSsd({ numClasses: 4, imageSize: TRAINER_IMAGE_SIZE, seed: 0 }) },
  { name: 'faster-rcnn', batch: 8, make: () => createFasterRcnn({ numClasses: 4, imageSize: TRAINER_IMAGE_SIZE, seed: 0 }) },
];

const rows = [];
for (const backend of backends) {
  await useBackend(backend);
  for (const m of MODELS) {
    const detector = m.make();
    const batch = await firstSyntheticBatch(m.batch);
    const step = trainerStep(detector, trainableVariables(detector), batch);
    // tfjs-backend-cpu's Conv2DBackpropFilter takes seconds per layer: fewer steps there.
    const n = backend === 'cpu' ? Math.max(2, Math.round(steps / 10)) : steps;
    for (let i = 0; i < (backend === 'cpu' ? 1 : 3); i++) step();
    const times = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      step();
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const t0 = performance.now();
    detector.detect(batch.images);
    const inference = performance.now() - t0;
    const median = times[Math.floor(times.length / 2)];
    rows.push(`| ${m.name} | ${backend} | ${m.batch} x ${TRAINER_IMAGE_SIZE} x ${TRAINER_IMAGE_SIZE} | ${median.toFixed(0)} | ${(1000 / median).toFixed(2)} | ${((1000 / median) * m.batch).toFixed(1)} | ${inference.toFixed(0)} | ${n} | ${loadavg()[0].toFixed(1)} |`);
    console.error(rows[rows.length - 1]);
    step.dispose();
    batch.dispose();
    detector.dispose();
  }
}
console.log('| model | backend | batch | train step ms (median) | steps/s | images/s | inference ms (batch) | steps timed | load |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
