// W8 (BENCHMARKS.md): one training step of the reference trainer's default detectors at their default size
// and batch, and steps per second, on the wasm and cpu backends. Also one inference batch.
// Run after a build: `node apps/bench/trainer-steps.mjs [steps] [backends...]`, e.g. `node apps/bench/trainer-steps.mjs 20 wasm cpu`.
// Prints a Markdown table; the step is timed as the trainer runs it (optimizer.minimize + reading the loss),
// on a fixed batch of the synthetic set, after 3 warm-up steps (1 on cpu). Data loading is not included.
import { loadavg } from 'node:os';
import { useBackend } from '@detkit/backends';
import { tf } from '@detkit/core';
import { createLoader, syntheticSource } from '@detkit/data';
import { createFasterRcnn, createSsd, trainableVariables } from '@detkit/models';

const steps = Number(process.argv[2] ?? 20);
const backends = process.argv.length > 3 ? process.argv.slice(3) : ['wasm', 'cpu'];
const MODELS = [
  { name: 'ssd', batch: 16, make: () => createSsd({ numClasses: 4, imageSize: 128, seed: 0 }) },
  { name: 'faster-rcnn', batch: 8, make: () => createFasterRcnn({ numClasses: 4, imageSize: 128, seed: 0 }) },
];

async function firstBatch(batchSize) {
  const loader = createLoader({ source: syntheticSource({ split: 'train' }), imageSize: 128, batchSize, seed: 0 });
  for await (const batch of loader.epoch(0)) return batch;
  throw new Error('no batch');
}

const rows = [];
for (const backend of backends) {
  await useBackend(backend);
  for (const m of MODELS) {
    const detector = m.make();
    const batch = await firstBatch(m.batch);
    const optimizer = tf.train.adam(1e-3);
    const vars = trainableVariables(detector);
    let s = 1;
    const rng = () => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
    const step = () => {
      const cost = optimizer.minimize(() => detector.loss(batch.images, batch.targets, { rng }).total, true, vars);
      cost.dataSync();
      cost.dispose();
    };
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
    rows.push(`| ${m.name} | ${backend} | ${m.batch} x 128 x 128 | ${median.toFixed(0)} | ${(1000 / median).toFixed(2)} | ${((1000 / median) * m.batch).toFixed(1)} | ${inference.toFixed(0)} | ${n} | ${loadavg()[0].toFixed(1)} |`);
    console.error(rows[rows.length - 1]);
    optimizer.dispose();
    batch.dispose();
    detector.dispose();
  }
}
console.log('| model | backend | batch | train step ms (median) | steps/s | images/s | inference ms (batch) | steps timed | load |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
