// The SSD MultiBox loss beyond the torchvision fixtures: zero positives, the hard-negative selection
// (ratio, ties, the cap at the available negatives, minNegatives, ignored priors), reductions, batching.
// Expected values are derived here from the per-prior cross-entropy (itself checked against torch).
import { tf } from '@detkit/core';
import { mineHardNegatives } from '@detkit/samplers';
import { describeEachBackend, expectClose } from '@detkit/test-utils';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { crossEntropyLoss, multiboxLoss } from './index';

/** Seeded logits in [-2, 2). */
function logitsOf(seed: number, b: number, p: number, c: number): tf.Tensor3D {
  let a = seed;
  const v = new Float32Array(b * p * c).map(() => {
    a = (a * 1103515245 + 12345) % 2147483648;
    return (a / 2147483648) * 4 - 2;
  });
  return tf.tensor3d(v, [b, p, c]);
}

const value = (t: tf.Tensor) => t.dataSync()[0] as number;
/** Indices where the 'none' classification is non-zero (the selected priors) of image 0. */
const selected = (t: tf.Tensor) => Array.from(t.dataSync()).flatMap((v, i) => (v !== 0 ? [i] : []));

describeEachBackend('multiboxLoss semantics', () => {
  it('zero positives: 0 for every part, and zero (finite) gradients', () => {
    const logits = logitsOf(1, 2, 50, 4);
    const deltas = tf.randomNormal([2, 50, 4], 0, 1, 'float32', 7);
    const labels = tf.zeros([2, 50], 'int32');
    const targets = tf.randomNormal([2, 50, 4], 0, 1, 'float32', 8);
    const loss = multiboxLoss(logits, deltas, labels, targets);
    expect([value(loss.total), value(loss.classification), value(loss.regression)]).toEqual([0, 0, 0]);
    const [gl, gd] = tf.grads((l: tf.Tensor, d: tf.Tensor) => multiboxLoss(l, d, labels, targets).total)([logits, deltas]);
    for (const g of [gl!, gd!]) expect(Array.from(g.dataSync()).every((x) => x === 0)).toBe(true);
    tf.dispose([logits, deltas, labels, targets, gl!, gd!, loss.total, loss.classification, loss.regression]);
  });

  it('three negatives per positive, the highest-loss ones; equal losses lower index first', () => {
    // Image 0: positive at 0; priors 1..9 share one logit row (equal background losses) except 5 and 8,
    // which are harder (background logit lower). Selected: 5, 8 (harder), then 1 (lowest index of the ties).
    const rows = Array.from({ length: 10 }, (_, p) => (p === 5 || p === 8 ? [-1, 1, 0] : p === 0 ? [0, 2, 0] : [1, 0, 0]));
    const logits = tf.tensor3d([rows]);
    const labels = tf.tensor2d([[1, 0, 0, 0, 0, 0, 0, 0, 0, 0]], undefined, 'int32');
    const none = multiboxLoss(logits, tf.zeros([1, 10, 4]), labels, tf.zeros([1, 10, 4]), { reduction: 'none' });
    expect(selected(none.classification)).toEqual([0, 1, 5, 8]);
    tf.dispose([logits, labels, none.total, none.classification, none.regression]);
  });

  it('all negatives when the ratio asks for more; no positive counted twice (torchvision would rank positives in)', () => {
    const logits = logitsOf(2, 1, 7, 3);
    const labels = tf.tensor2d([[1, 2, 0, 1, 0, 0, 0]], undefined, 'int32');
    const loss = multiboxLoss(logits, tf.zeros([1, 7, 4]), labels, tf.zeros([1, 7, 4]), { reduction: 'sum' });
    // 3 positives want 9 negatives; there are 4: every prior is counted once.
    const all = crossEntropyLoss(logits, labels, { reduction: 'sum' });
    expectClose(loss.classification.dataSync(), [value(all)], { what: 'every prior once' });
    tf.dispose([logits, labels, all, loss.total, loss.classification, loss.regression]);
  });

  it('ignored priors (label -1) count in neither term', () => {
    const logits = logitsOf(3, 1, 6, 3);
    const targets = tf.fill([1, 6, 4], 5);
    const withIgnored = multiboxLoss(logits, tf.zeros([1, 6, 4]), [[1, -1, 0, -1, 0, 0]], targets, { reduction: 'none' });
    const cls = Array.from(withIgnored.classification.dataSync());
    const reg = Array.from(withIgnored.regression.dataSync());
    expect([cls[1], cls[3], reg[1], reg[3]]).toEqual([0, 0, 0, 0]);
    // The positive's regression: 4 coordinates of smooth L1 (beta 1) at |d| = 5: 4 (5 - 0.5) = 18.
    expect(reg[0]).toBeCloseTo(18, 5);
    expect(selected(withIgnored.classification)).toEqual([0, 2, 4, 5]);
    tf.dispose([logits, targets, withIgnored.total, withIgnored.classification, withIgnored.regression]);
  });

  it('minNegatives mines background even without positives; a fractional ratio rounds up', () => {
    const logits = logitsOf(4, 1, 12, 3);
    const labels = tf.zeros([1, 12], 'int32');
    const ce = Array.from(crossEntropyLoss(logits, labels, { reduction: 'none' }).dataSync());
    const top = [...ce].sort((x, y) => y - x).slice(0, 5).reduce((s, x) => s + x, 0);
    const loss = multiboxLoss(logits, tf.zeros([1, 12, 4]), labels, tf.zeros([1, 12, 4]), { minNegatives: 5 });
    expectClose(loss.classification.dataSync(), [top], { what: 'top-5 background losses / max(1, 0)' });
    const one = tf.tensor2d([[2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]], undefined, 'int32');
    const ratio = multiboxLoss(logits, tf.zeros([1, 12, 4]), one, tf.zeros([1, 12, 4]), { negPosRatio: 2.5, reduction: 'none' });
    expect(selected(ratio.classification)).toHaveLength(1 + 3); // ceil(2.5 x 1) = 3 negatives
    tf.dispose([logits, labels, one, loss.total, loss.classification, loss.regression, ratio.total, ratio.classification, ratio.regression]);
  });

  it("'mean' is 'sum' / positives in the batch; total = classification + alpha regression; images are mined separately", () => {
    const logits = logitsOf(5, 2, 30, 5);
    const deltas = tf.randomNormal([2, 30, 4], 0, 1, 'float32', 3);
    const targets = tf.randomNormal([2, 30, 4], 0, 1, 'float32', 4);
    const labelRows = [Array.from({ length: 30 }, (_, p) => (p % 7 === 0 ? 1 + (p % 4) : 0)), Array.from({ length: 30 }, (_, p) => (p === 3 ? 2 : 0))];
    const labels = tf.tensor2d(labelRows, undefined, 'int32');
    const positives = labelRows.flat().filter((l) => l > 0).length;
    const sum = multiboxLoss(logits, deltas, labels, targets, { reduction: 'sum', alpha: 2 });
    const mean = multiboxLoss(logits, deltas, labels, targets, { alpha: 2 });
    expectClose(mean.classification.dataSync(), [value(sum.classification) / positives]);
    expectClose(mean.regression.dataSync(), [value(sum.regression) / positives]);
    expectClose(mean.total.dataSync(), [value(mean.classification) + 2 * value(mean.regression)]);
    // Per image: the batch's sums are the images' sums.
    const perImage = [0, 1].map((b) => {
      const one = multiboxLoss(tf.slice(logits, [b, 0, 0], [1, -1, -1]), tf.slice(deltas, [b, 0, 0], [1, -1, -1]), tf.slice(labels, [b, 0], [1, -1]), tf.slice(targets, [b, 0, 0], [1, -1, -1]), { reduction: 'sum' });
      return value(one.classification) + value(one.regression);
    });
    expectClose([value(sum.classification) + value(sum.regression)], [perImage[0]! + perImage[1]!]);
    tf.dispose([logits, deltas, targets, labels, sum.total, sum.classification, sum.regression, mean.total, mean.classification, mean.regression]);
  });

  it('selects the positives and exactly the negatives @detkit/samplers mines (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: -1, max: 2 }), fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 40 }),
        fc.constantFrom(1, 2.5, 3),
        fc.integer({ min: 0, max: 4 }),
        (priors, negPosRatio, minNegatives) => {
          // Logit rows from a small set, so equal losses (ties) happen.
          const labels = priors.map(([l]) => l);
          const rows = priors.map(([, v]) => [v / 2, 0, 1 - v / 2]);
          const [chosen, mined] = tf.tidy(() => {
            const logits = tf.tensor3d([rows]);
            const y = tf.tensor2d([labels], undefined, 'int32');
            const none = multiboxLoss(logits, tf.zeros([1, rows.length, 4]), y, tf.zeros([1, rows.length, 4]), { reduction: 'none', negPosRatio, minNegatives });
            const ce = crossEntropyLoss(logits, y, { reduction: 'none' });
            return [tf.notEqual(none.classification, 0), mineHardNegatives(ce, y, { negPosRatio, minNegatives })];
          });
          const m = Array.from(mined.dataSync());
          const c = Array.from(chosen.dataSync());
          tf.dispose([chosen, mined]);
          // Every loss here is > 0 (no row's softmax puts probability 1 on a class), so non-zero = selected.
          expect(c).toEqual(m.map((v) => (v >= 0 ? 1 : 0)));
        },
      ),
      { numRuns: 150 },
    );
  });
});
