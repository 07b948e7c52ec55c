// Writes src/fixtures/legacy-artifacts.json: two tiny detectors saved by @detkit/models before the typed
// recipe (configs with flat fields: anchorSizes, rpnBatchSize, proposals.train/test, negPosRatio, ...),
// their weights, and what they detected on a fixed image on the cpu backend. Generated once, from the
// build of commit 8f79063 (`node scripts/legacy-artifacts.mjs` after `pnpm build`); the test
// `legacy.test.ts` checks that such checkpoints still load and detect the same. Re-running it on a later
// build writes the new configuration format instead, so it is not part of `pnpm fixtures`.
import { writeFile } from 'node:fs/promises';
import { useBackend } from '@detkit/backends';
import { tf } from '@detkit/core';
import { createFasterRcnn, createSsd, saveDetector } from '../dist/index.js';

await useBackend('cpu');
const size = 64;
const pixels = new Float32Array(size * size * 3);
let s = 11;
for (let i = 0; i < pixels.length; i++) pixels[i] = ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296) * 2 - 1;
const images = tf.tensor4d(pixels, [1, size, size, 3]);
const out = { generatedBy: '@detkit/models at commit 8f79063 (scripts/legacy-artifacts.mjs), cpu backend', image: { size, seed: 11 }, detectors: {} };
const detectors = {
  ssd: createSsd({ numClasses: 2, imageSize: size, seed: 3, backbone: { channels: [4, 4, 4, 4, 4] } }),
  'faster-rcnn': createFasterRcnn({ numClasses: 2, imageSize: size, seed: 3, backbone: { channels: [4, 4, 4] }, representationSize: 8 }),
};
for (const [name, det] of Object.entries(detectors)) {
  let artifacts;
  await saveDetector(det, tf.io.withSaveHandler(async (a) => ((artifacts = a), { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) })));
  const [d] = det.detect(images);
  out.detectors[name] = {
    modelTopology: artifacts.modelTopology,
    weightSpecs: artifacts.weightSpecs,
    weightData: Buffer.from(artifacts.weightData).toString('base64'),
    detections: { boxes: Array.from(d.boxes), scores: Array.from(d.scores), labels: Array.from(d.labels) },
  };
  det.dispose();
}
images.dispose();
await writeFile(new URL('../src/fixtures/legacy-artifacts.json', import.meta.url), `${JSON.stringify(out)}\n`);
console.log(Object.fromEntries(Object.entries(out.detectors).map(([k, v]) => [k, { weights: v.weightData.length, detections: v.detections.scores.length }])));
