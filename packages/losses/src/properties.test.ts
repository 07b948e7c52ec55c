// Invariants on random inputs (fast-check): they hold for any valid input, not just the fixtures.
import type { tf } from '@detkit/core';
import { describeEachBackend } from '@detkit/test-utils';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { binaryCrossEntropyWithLogits, ciouLoss, crossEntropyLoss, diouLoss, giouLoss, sigmoidFocalLoss, smoothL1Loss } from './index';

const finite = (min: number, max: number) => fc.float({ min: Math.fround(min), max: Math.fround(max), noNaN: true });
const vector = (n: number, min = -20, max = 20) => fc.array(finite(min, max), { minLength: n, maxLength: n });

/** An xyxy box with sides >= 1 inside [0, 500]^2. */
const box = fc
  .tuple(finite(0, 400), finite(0, 400), finite(1, 100), finite(1, 100))
  .map(([x, y, w, h]) => [x, y, Math.fround(x + w), Math.fround(y + h)]);
const boxPairs = fc.integer({ min: 1, max: 8 }).chain((n) => fc.tuple(fc.array(box, { minLength: n, maxLength: n }), fc.array(box, { minLength: n, maxLength: n })));

const values = (t: tf.Tensor) => {
  const v = Array.from(t.dataSync());
  t.dispose();
  return v;
};

describeEachBackend('properties', () => {
  it('smooth L1 is >= 0, symmetric in pred and target, 0 only where they are equal', () => {
    fc.assert(
      fc.property(vector(6), vector(6), fc.constantFrom(1, 1 / 9, 0, 0.5), (p, t, beta) => {
        const a = values(smoothL1Loss(p, t, { beta, reduction: 'none' }));
        const b = values(smoothL1Loss(t, p, { beta, reduction: 'none' }));
        a.forEach((v, i) => {
          expect(v).toBeGreaterThanOrEqual(0);
          expect(v).toBe(b[i]);
          if (p[i] === t[i]) expect(v).toBe(0);
        });
      }),
      { numRuns: 50 },
    );
  });

  it('cross-entropy is >= 0 and exp(-loss) over every label of a row sums to 1 (a softmax)', () => {
    fc.assert(
      fc.property(vector(5, -30, 30), (row) => {
        const losses = values(crossEntropyLoss([row, row, row, row, row], [0, 1, 2, 3, 4], { reduction: 'none' }));
        losses.forEach((v) => expect(v).toBeGreaterThanOrEqual(0));
        expect(losses.reduce((s, v) => s + Math.exp(-v), 0)).toBeCloseTo(1, 5);
      }),
      { numRuns: 50 },
    );
  });

  it('BCE with logits: BCE(x, t) = BCE(-x, 1 - t); focal <= max(alpha, 1 - alpha) BCE', () => {
    fc.assert(
      fc.property(vector(6, -40, 40), fc.array(fc.constantFrom(0, 1), { minLength: 6, maxLength: 6 }), finite(0, 1), (x, t, alpha) => {
        const a = values(binaryCrossEntropyWithLogits(x, t, { reduction: 'none' }));
        const b = values(binaryCrossEntropyWithLogits(x.map((v) => -v), t.map((v) => 1 - v), { reduction: 'none' }));
        a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThanOrEqual(1e-5 + 1e-5 * v));
        const focal = values(sigmoidFocalLoss(x, t, { alpha }));
        focal.forEach((v, i) => expect(v).toBeLessThanOrEqual(Math.max(alpha, 1 - alpha) * a[i]! * (1 + 1e-5) + 1e-6));
      }),
      { numRuns: 50 },
    );
  });

  it('box IoU losses: symmetric; GIoU and DIoU loss in [0, 2]; CIoU >= DIoU; about 0 for identical boxes', () => {
    fc.assert(
      fc.property(boxPairs, ([a, b]) => {
        const giou = values(giouLoss(a, b));
        const diou = values(diouLoss(a, b));
        const ciou = values(ciouLoss(a, b));
        const sym = [values(giouLoss(b, a)), values(diouLoss(b, a)), values(ciouLoss(b, a))];
        [giou, diou, ciou].forEach((l, k) => l.forEach((v, i) => expect(Math.abs(v - sym[k]![i]!)).toBeLessThanOrEqual(1e-5)));
        giou.forEach((v, i) => {
          expect(v).toBeGreaterThanOrEqual(-1e-6);
          expect(v).toBeLessThanOrEqual(2 + 1e-6);
          expect(diou[i]).toBeGreaterThanOrEqual(-1e-6);
          expect(diou[i]).toBeLessThanOrEqual(2 + 1e-6);
          expect(ciou[i]).toBeGreaterThanOrEqual(diou[i]! - 1e-6);
        });
        for (const l of [giouLoss, diouLoss, ciouLoss]) values(l(a, a)).forEach((v) => expect(Math.abs(v)).toBeLessThanOrEqual(1e-5));
      }),
      { numRuns: 40 },
    );
  });
});
