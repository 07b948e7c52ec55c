// Invariants of the samplers and the RPN builder on random inputs (fast-check), checked against their
// definitions: budgets, ratios, determinism per seed, hardness of what mining keeps, and the highest-IoU
// rule's guarantee.
import { boxIou } from '@detkit/boxes';
import { tf } from '@detkit/core';
import { describeEachBackend } from '@detkit/test-utils';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { buildRpnTargets, mineHardNegatives, sampleBalanced, sampleOhem } from './index';

const labelArray = fc.array(fc.constantFrom(-1, 0, 0, 0, 1, 1, 2), { maxLength: 400 });
const budget = fc.record({ batchSize: fc.integer({ min: 0, max: 300 }), positiveFraction: fc.double({ min: 0, max: 1, noNaN: true }) });

describeEachBackend('sampler properties', () => {
  it('sampleBalanced never exceeds its budget, keeps its ratio, picks from the right pools, and is deterministic per seed', () => {
    fc.assert(
      fc.property(labelArray, budget, fc.integer(), (labels, { batchSize, positiveFraction }, seed) => {
        const out = sampleBalanced(labels, { batchSize, positiveFraction, seed });
        const got = Array.from(out.labels.dataSync());
        const indices = Array.from(out.indices.dataSync());
        const again = sampleBalanced(labels, { batchSize, positiveFraction, seed });
        expect(Array.from(again.labels.dataSync())).toEqual(got);
        tf.dispose([out.labels, out.indices, again.labels, again.indices]);
        const positives = labels.filter((l) => l > 0).length;
        const negatives = labels.filter((l) => l === 0).length;
        const takenPositive = got.filter((l) => l > 0).length;
        const takenNegative = got.filter((l) => l === 0).length;
        expect(takenPositive).toBe(Math.min(positives, Math.floor(batchSize * positiveFraction)));
        expect(takenNegative).toBe(Math.min(negatives, batchSize - takenPositive));
        expect(takenPositive + takenNegative).toBeLessThanOrEqual(batchSize);
        got.forEach((l, i) => {
          if (l >= 0) expect(l).toBe(labels[i]);
        });
        expect(indices).toEqual(got.flatMap((l, i) => (l >= 0 ? [i] : [])));
      }),
      { numRuns: 120 },
    );
  });

  it('mineHardNegatives keeps min(negatives, max(ceil(ratio x positives), minimum)) negatives, none easier than one it drops', () => {
    fc.assert(
      fc.property(
        labelArray.chain((labels) => fc.tuple(fc.constant(labels), fc.array(fc.constantFrom(0, 0.5, 1, 2.25, 3), { minLength: labels.length, maxLength: labels.length }))),
        fc.constantFrom(1, 2, 3, 2.5),
        fc.integer({ min: 0, max: 10 }),
        ([labels, loss], negPosRatio, minNegatives) => {
          const out = mineHardNegatives(loss, labels, { negPosRatio, minNegatives });
          const got = Array.from(out.dataSync());
          out.dispose();
          const positives = labels.filter((l) => l > 0).length;
          const negatives = labels.flatMap((l, i) => (l === 0 ? [i] : []));
          const kept = negatives.filter((i) => got[i] === 0);
          const dropped = negatives.filter((i) => got[i] === -1);
          expect(kept.length).toBe(Math.min(negatives.length, Math.max(Math.ceil(negPosRatio * positives), minNegatives)));
          if (kept.length && dropped.length) expect(Math.min(...kept.map((i) => loss[i]!))).toBeGreaterThanOrEqual(Math.max(...dropped.map((i) => loss[i]!)));
          labels.forEach((l, i) => {
            if (l !== 0) expect(got[i]).toBe(l > 0 ? l : -1);
          });
        },
      ),
      { numRuns: 120 },
    );
  });

  it('sampleOhem never exceeds its budget and keeps the hardest of each pool', () => {
    fc.assert(
      fc.property(
        labelArray.chain((labels) => fc.tuple(fc.constant(labels), fc.array(fc.double({ min: 0, max: 5, noNaN: true }), { minLength: labels.length, maxLength: labels.length }))),
        budget,
        ([labels, loss], { batchSize, positiveFraction }) => {
          const out = sampleOhem(loss, labels, { batchSize, positiveFraction });
          const got = Array.from(out.labels.dataSync());
          tf.dispose([out.labels, out.indices]);
          const f = Math.fround;
          for (const pool of [(l: number) => l > 0, (l: number) => l === 0]) {
            const members = labels.flatMap((l, i) => (pool(l) ? [i] : []));
            const kept = members.filter((i) => got[i]! >= 0);
            const dropped = members.filter((i) => got[i] === -1);
            if (kept.length && dropped.length) expect(Math.min(...kept.map((i) => f(loss[i]!)))).toBeGreaterThanOrEqual(Math.max(...dropped.map((i) => f(loss[i]!))));
          }
          const takenPositive = got.filter((l) => l > 0).length;
          expect(takenPositive).toBe(Math.min(labels.filter((l) => l > 0).length, Math.floor(batchSize * positiveFraction)));
          expect(got.filter((l) => l >= 0).length).toBeLessThanOrEqual(batchSize);
        },
      ),
      { numRuns: 120 },
    );
  });

  it('buildRpnTargets: every ground-truth box with any overlap gets a positive anchor at its highest IoU', () => {
    // A small grid of anchors (3 sizes at a 16-pixel stride over 128 x 128) and random boxes.
    const cells: number[][] = [];
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) for (const s of [16, 32, 64]) cells.push([16 * x + 8 - s / 2, 16 * y + 8 - s / 2, 16 * x + 8 + s / 2, 16 * y + 8 + s / 2]);
    const anchors = tf.tensor2d(cells);
    const box = fc
      .tuple(fc.integer({ min: -40, max: 160 }), fc.integer({ min: -40, max: 160 }), fc.integer({ min: 1, max: 90 }), fc.integer({ min: 1, max: 90 }))
      .map(([x, y, w, h]) => [x, y, x + w, y + h]);
    fc.assert(
      fc.property(fc.array(box, { maxLength: 6 }), (gt) => {
        const t = buildRpnTargets(anchors, gt, { sampler: false });
        const labels = Array.from(t.labels.dataSync());
        tf.dispose(Object.values(t));
        if (gt.length === 0) return;
        const iou = boxIou(gt, anchors);
        const rows = iou.arraySync();
        iou.dispose();
        rows.forEach((row, i) => {
          const best = Math.max(...row);
          if (best <= 0) return;
          expect(row.some((v, j) => v === best && labels[j] === 1), `box ${i}`).toBe(true);
        });
      }),
      { numRuns: 80 },
    );
    anchors.dispose();
  });
});
