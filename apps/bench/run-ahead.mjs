// The trainer's step with @detkit/backends' run-ahead off and on (`DETKIT_RUN_AHEAD`), on 2 threads: the
// same model trained for `steps` steps each way from the same seed on the synthetic set's first batch, every
// variable compared bit for bit, and the mean step time of each run (warm-up included: a check of the bits,
// not a benchmark; `pnpm bench --threads 1,2` times the steps).
//   node apps/bench/run-ahead.mjs [ssd|frcnn] [steps]
import { useBackend } from '@detkit/backends';
import { tf } from '@detkit/core';
import { createFasterRcnn, createSsd, trainableVariables } from '@detkit/models';
import { firstSyntheticBatch, trainerStep, TRAINER_IMAGE_SIZE } from './trainer-batch.mjs';

const model = process.argv[2] ?? 'ssd';
const steps = Number(process.argv[3] ?? 60);
await useBackend('wasm', { threads: 2 });
const make = () => (model === 'ssd' ? createSsd({ numClasses: 4, imageSize: TRAINER_IMAGE_SIZE, seed: 0 }) : createFasterRcnn({ numClasses: 4, imageSize: TRAINER_IMAGE_SIZE, seed: 0 }));
const batch = await firstSyntheticBatch(model === 'ssd' ? 16 : 8);

/** Trains a fresh model for `steps` steps; its variables' values and the mean step time. */
function run(ahead) {
  tf.env().set('DETKIT_RUN_AHEAD', ahead);
  const detector = make();
  const step = trainerStep(detector, trainableVariables(detector), batch);
  const start = performance.now();
  for (let i = 0; i < steps; i++) step();
  const ms = (performance.now() - start) / steps;
  const values = Object.entries(detector.variables).map(([name, v]) => [name, v.dataSync().slice()]);
  step.dispose();
  detector.dispose();
  return { values, ms };
}

const inPlace = run(false);
const ahead = run(true);
const differing = inPlace.values.filter(([, a], i) => a.some((x, j) => !Object.is(x, ahead.values[i][1][j]))).map(([name]) => name);
console.log(`${model}, ${steps} steps on 2 threads: ${differing.length} of ${inPlace.values.length} variables differ${differing.length > 0 ? ` (${differing.slice(0, 5).join(', ')})` : ''}; ms/step in place ${inPlace.ms.toFixed(1)}, run ahead ${ahead.ms.toFixed(1)}`);
process.exit(differing.length === 0 ? 0 : 1);
