// Invariants of the matchers on random IoU matrices (fast-check), checked against their definitions.
import { tf } from '@detkit/core';
import { describeEachBackend } from '@detkit/test-utils';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { createMaxIouMatcher, createSsdMatcher } from './index';

/** A random [m, n] quality matrix with many zeros and repeated values (ties), as float32. */
const qualityMatrix = fc
  .record({ m: fc.integer({ min: 1, max: 6 }), n: fc.integer({ min: 1, max: 40 }) })
  .chain(({ m, n }) =>
    fc.array(fc.oneof(fc.constant(0), fc.constantFrom(0.25, 0.5, 0.7), fc.float({ min: 0, max: 1, noNaN: true })), {
      minLength: m * n,
      maxLength: m * n,
    }).map((values) => ({ m, n, values: Float32Array.from(values) })),
  );

function run(match: ReturnType<typeof createMaxIouMatcher>, m: number, n: number, values: Float32Array) {
  const iou = tf.tensor2d(values, [m, n]) as tf.Tensor2D;
  const { matches, labels } = match(iou);
  const out = { matches: Array.from(matches.dataSync()), labels: Array.from(labels.dataSync()) };
  tf.dispose([iou, matches, labels]);
  return out;
}

const rowMax = (values: Float32Array, n: number, i: number) => Math.max(...values.subarray(i * n, (i + 1) * n));

/** A batch of 1 to 4 images with 0 to 5 boxes each over the same n anchors. */
const qualityBatch = fc.integer({ min: 1, max: 30 }).chain((n) =>
  fc.array(
    fc.integer({ min: 0, max: 5 }).chain((m) =>
      fc.array(fc.oneof(fc.constant(0), fc.constantFrom(0.3, 0.5, 0.7), fc.float({ min: 0, max: 1, noNaN: true })), { minLength: m * n, maxLength: m * n }).map((v) => ({ m, values: Float32Array.from(v) })),
    ),
    { minLength: 1, maxLength: 4 },
  ).map((images) => ({ n, images })),
);

describeEachBackend('matcher properties', () => {
  it('a batch [B, M, N] padded with zero rows gives each image\'s own result, for both matchers', () => {
    const matchers = [
      createMaxIouMatcher({ highThreshold: 0.7, lowThreshold: 0.3, allowLowQualityMatches: true }),
      createMaxIouMatcher({ highThreshold: 0.5, lowThreshold: 0.4, negativeMinIou: 0.1 }),
      createSsdMatcher({ threshold: 0.5 }),
    ];
    fc.assert(
      fc.property(qualityBatch, ({ n, images }) => {
        const mMax = Math.max(...images.map((im) => im.m));
        const padded = new Float32Array(images.length * mMax * n);
        images.forEach((im, b) => padded.set(im.values, b * mMax * n));
        const batch = tf.tensor3d(padded, [images.length, mMax, n]);
        for (const match of matchers) {
          const { matches, labels } = match(batch);
          expect(matches.shape).toEqual([images.length, n]);
          const got = { matches: matches.arraySync(), labels: labels.arraySync() };
          tf.dispose([matches, labels]);
          images.forEach((im, b) => {
            const one = run(match, im.m, n, im.values);
            expect(got.matches[b], `image ${b}`).toEqual(one.matches);
            expect(got.labels[b], `image ${b}`).toEqual(one.labels);
          });
        }
        batch.dispose();
      }),
      { numRuns: 100 },
    );
  });

  it('max-IoU with the highest-IoU rule: every box with any overlap gets a positive at its highest IoU', () => {
    const match = createMaxIouMatcher({ highThreshold: 0.7, lowThreshold: 0.3, allowLowQualityMatches: true });
    fc.assert(
      fc.property(qualityMatrix, ({ m, n, values }) => {
        const { matches, labels } = run(match, m, n, values);
        for (let i = 0; i < m; i++) {
          const best = rowMax(values, n, i);
          if (best <= 0) continue;
          const positives = [...Array(n).keys()].filter((j) => values[i * n + j] === best && labels[j] === 1);
          expect(positives.length, `box ${i}`).toBeGreaterThan(0);
        }
        // Consistency: positives carry a valid index, everything else -1; the index is the anchor's best box.
        for (let j = 0; j < n; j++) {
          if (labels[j] === 1) {
            const col = [...Array(m).keys()].map((i) => values[i * n + j] as number);
            expect(matches[j]).toBe(col.indexOf(Math.max(...col)));
          } else {
            expect(matches[j]).toBe(-1);
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it('max-IoU labels follow the thresholds exactly when the highest-IoU rule is off', () => {
    fc.assert(
      fc.property(qualityMatrix, fc.float({ min: 0, max: 1, noNaN: true }), fc.float({ min: 0, max: 1, noNaN: true }), ({ m, n, values }, a, b) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        // A positive threshold of 0 is refused (an anchor overlapping nothing would be positive; tested with
        // the option errors): fast-check draws 0 for both now and then.
        fc.pre(high > 0);
        const { labels } = run(createMaxIouMatcher({ highThreshold: high, lowThreshold: low }), m, n, values);
        // Rows of zeros are absent boxes (createMaxIouMatcher's TSDoc): when every row is, the image has no
        // ground truth and every anchor is negative, also with lowThreshold 0 (where IoU 0 would be ignored).
        const noBoxes = values.every((v) => v === 0);
        for (let j = 0; j < n; j++) {
          const best = Math.max(...[...Array(m).keys()].map((i) => values[i * n + j] as number));
          expect(labels[j]).toBe(noBoxes ? 0 : best >= Math.fround(high) ? 1 : best < Math.fround(low) ? 0 : -1);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('SSD: a box with any overlap keeps a prior unless all it overlaps went to others; positives overlap their box', () => {
    const match = createSsdMatcher({ threshold: 0.5 });
    fc.assert(
      fc.property(qualityMatrix, ({ m, n, values }) => {
        const { matches, labels } = run(match, m, n, values);
        const owners = new Set(matches.filter((x) => x >= 0));
        for (let i = 0; i < m; i++) {
          if (rowMax(values, n, i) <= 0 || owners.has(i)) continue;
          // A box is left without a prior only when every prior it overlaps went to another box.
          for (let j = 0; j < n; j++) {
            if ((values[i * n + j] as number) > 0) expect(matches[j], `box ${i}, prior ${j}`).toBeGreaterThanOrEqual(0);
          }
        }
        // With at least as many priors as boxes and every IoU positive, every box is served.
        if (m <= n && values.every((v) => v > 0)) expect(owners.size).toBe(m);
        for (let j = 0; j < n; j++) {
          expect(labels[j]).toBe(matches[j]! >= 0 ? 1 : 0);
          if (matches[j]! >= 0) expect(values[matches[j]! * n + j]).toBeGreaterThan(0);
        }
      }),
      { numRuns: 150 },
    );
  });
});
