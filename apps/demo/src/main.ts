// detkit demo: the box operations of @detkit/boxes on the WASM-SIMD backend, with real numbers.
// Run: pnpm demo (from the repository root).
import { batchedNms, boxIou, convertBoxes, decodeBoxes, encodeBoxes, generalizedBoxIou, nms, softNms, ROI_BOX_CODER_WEIGHTS } from '@detkit/boxes';
import { createRandom, setupBackend, tf } from '@detkit/core';

const fmt = (t: tf.Tensor, digits = 3) =>
  (t.arraySync() as number[][]).map((row) => (Array.isArray(row) ? row.map((v) => v.toFixed(digits)).join('  ') : Number(row).toFixed(digits))).join('\n    ');

function randomBoxes(n: number, random: () => number, size: number, minSide: number, maxSide: number): Float32Array {
  const out = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const w = minSide + random() * (maxSide - minSide);
    const h = minSide + random() * (maxSide - minSide);
    const x = random() * (size - w);
    const y = random() * (size - h);
    out.set([x, y, x + w, y + h], 4 * i);
  }
  return out;
}

function time<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const result = fn();
  return [result, performance.now() - t0];
}

async function main(): Promise<void> {
  await setupBackend('wasm');
  console.log(`detkit demo on tfjs ${tf.version_core}, backend '${tf.getBackend()}'\n`);

  // The Faster R-CNN walk-through's ground truth, given there as [y1, x1, y2, x2].
  const gtYxyx = tf.tensor2d([[20, 30, 400, 500], [300, 400, 500, 600]]);
  const gt = convertBoxes(gtYxyx, 'yxyx', 'xyxy');
  console.log(`1. Ground truth, converted from yxyx to xyxy:\n    ${fmt(gt, 0)}`);

  // Three anchors of the walk-through's 800x800 grid: stride 16, centres at (16 j + 8, 16 i + 8), a base
  // size of 16 scaled by 8, 16 or 32, and height / width = ratio.
  const anchor = (cx: number, cy: number, ratio: number, scale: number) => {
    const h = 16 * scale * Math.sqrt(ratio);
    const w = 16 * scale * Math.sqrt(1 / ratio);
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];
  };
  const anchors = tf.tensor2d([anchor(8, 8, 0.5, 8), anchor(248, 216, 1, 16), anchor(504, 392, 0.5, 16)]);
  console.log(`   anchors (xyxy):\n    ${fmt(anchors, 1)}`);
  console.log(`\n2. IoU of 3 anchors (rows) with the 2 boxes:\n    ${fmt(boxIou(anchors, gt))}`);
  console.log(`   Generalized IoU:\n    ${fmt(generalizedBoxIou(anchors, gt))}`);

  // Regression targets for anchor 2 -> box 1 and anchor 3 -> box 2, and back.
  const matched = tf.gather(gt, [0, 1]);
  const pair = tf.gather(anchors, [1, 2]);
  const deltas = encodeBoxes(matched, pair, { weights: ROI_BOX_CODER_WEIGHTS });
  console.log(`\n3. Encoded deltas (dx, dy, dw, dh), weights (10, 10, 5, 5):\n    ${fmt(deltas)}`);
  console.log(`   Decoded back:\n    ${fmt(decodeBoxes(deltas, pair, { weights: ROI_BOX_CODER_WEIGHTS }), 2)}`);

  // NMS on the proposal layer's scale: 12,000 random boxes in 800x800.
  const random = createRandom(7); // seeded, so every run prints the same numbers
  const boxes = tf.tensor2d(randomBoxes(12_000, random, 800, 16, 256), [12_000, 4]);
  const scores = tf.tensor1d(Float32Array.from({ length: 12_000 }, random));
  nms(boxes, scores, { iouThreshold: 0.7 }).dispose(); // warm-up: compiles the wasm kernel
  const [keep, ms] = time(() => nms(boxes, scores, { iouThreshold: 0.7 }));
  console.log(`\n4. NMS of 12,000 boxes at IoU 0.7: kept ${keep.size} in ${ms.toFixed(1)} ms; top 5: ${Array.from(keep.dataSync().slice(0, 5)).join(', ')}`);
  const [top, msTop] = time(() => nms(boxes, scores, { iouThreshold: 0.7, maxOutputSize: 2000 }));
  console.log(`   keeping the best 2,000 (the proposal layer's train setting): ${top.size} in ${msTop.toFixed(1)} ms`);

  const classIds = tf.tensor1d(Int32Array.from({ length: 12_000 }, () => Math.floor(random() * 80)), 'int32');
  const [perClass, msClass] = time(() => batchedNms(boxes, scores, classIds, { iouThreshold: 0.5 }));
  console.log(`   class-aware NMS over 80 classes at 0.5: kept ${perClass.size} in ${msClass.toFixed(1)} ms`);

  const cluster = tf.tensor2d([[10, 10, 110, 110], [15, 12, 112, 118], [200, 200, 260, 270], [12, 8, 108, 105]]);
  const clusterScores = tf.tensor1d([0.95, 0.9, 0.8, 0.6]);
  const soft = softNms(cluster, clusterScores, { method: 'gaussian', sigma: 0.5 });
  console.log(`\n5. Soft-NMS (gaussian, sigma 0.5) of a 3-box cluster and a lone box:`);
  console.log(`   order ${Array.from(soft.indices.dataSync()).join(', ')}; decayed scores ${Array.from(soft.scores.dataSync(), (v) => v.toFixed(3)).join(', ')}`);
  console.log(`   hard NMS at 0.5 keeps ${Array.from(nms(cluster, clusterScores, { iouThreshold: 0.5 }).dataSync()).join(', ')}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
