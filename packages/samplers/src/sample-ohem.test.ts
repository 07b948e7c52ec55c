import { InvalidArgumentError, ShapeError, tf } from '@detkit/core';
import { describeEachBackend, expectNoLeaks } from '@detkit/test-utils';
import { describe, expect, it } from 'vitest';
import { sampleOhem } from './index';

function run(loss: number[], labels: number[], options: Parameters<typeof sampleOhem>[2]) {
  const out = sampleOhem(loss, labels, options);
  const r = { labels: Array.from(out.labels.dataSync()), indices: Array.from(out.indices.dataSync()) };
  tf.dispose([out.labels, out.indices]);
  return r;
}

describeEachBackend('sampleOhem', () => {
  it('takes the hardest positives up to the budget, then the hardest negatives to fill it', () => {
    // Budget 4 at 0.5: 2 positives of the three (losses 0.2, 0.9, 0.5 -> indices 1 and 4), then
    // 4 - 2 = 2 negatives (losses 0.3, 0.8, 0.1, 0.7 -> indices 3 and 6). Index 7 is ignored.
    const loss = [0.2, 0.9, 0.3, 0.8, 0.5, 0.1, 0.7, 9];
    const labels = [3, 1, 0, 0, 2, 0, 0, -1];
    expect(run(loss, labels, { batchSize: 4, positiveFraction: 0.5 })).toEqual({ labels: [-1, 1, -1, 0, 2, -1, 0, -1], indices: [1, 3, 4, 6] });
  });

  it('keeps all positives when they are fewer than the budget, and more negatives to fill it', () => {
    // 1 positive, budget 4 at 0.5: 1 positive + 3 negatives (losses 0.3, 0.1, 0.8, 0.7 -> indices 1, 3, 4).
    expect(run([0.5, 0.3, 0.1, 0.8, 0.7], [1, 0, 0, 0, 0], { batchSize: 4, positiveFraction: 0.5 }).labels).toEqual([1, 0, -1, 0, 0]);
  });

  it('takes equal losses in index order, in each pool', () => {
    // Positives at 0, 2, 5 all 0.4, budget 4 at 0.5: 2 positives, the first two (0 and 2); negatives at
    // 1, 3, 4, 6 with 0.6, 0.2, 0.6, 0.6: 4 - 2 = 2, the hardest (0.6) in index order (1 and 4, not 6).
    const loss = [0.4, 0.6, 0.4, 0.2, 0.6, 0.4, 0.6];
    const labels = [1, 0, 2, 0, 0, 3, 0];
    expect(run(loss, labels, { batchSize: 4, positiveFraction: 0.5 })).toEqual({ labels: [1, 0, 2, -1, 0, -1, -1], indices: [0, 1, 2, 4] });
  });

  it('negPosUpperBound caps negatives per positive (at least one positive counted)', () => {
    const loss = [0.5, 0.3, 0.1, 0.8, 0.7];
    // 1 positive, bound 1: at most floor(1 * 1) = 1 negative, the hardest (0.8).
    expect(run(loss, [1, 0, 0, 0, 0], { batchSize: 4, positiveFraction: 0.5, negPosUpperBound: 1 }).labels).toEqual([1, -1, -1, 0, -1]);
    // No positive: bound 2 * max(1, 0) = 2 negatives.
    expect(run(loss, [0, 0, 0, 0, 0], { batchSize: 4, positiveFraction: 0.5, negPosUpperBound: 2 }).labels).toEqual([-1, -1, -1, 0, 0]);
  });

  it('empty input is defined; leaks no tensors', async () => {
    expect(run([], [], { batchSize: 4, positiveFraction: 0.5 })).toEqual({ labels: [], indices: [] });
    await expectNoLeaks(() => sampleOhem([0.1, 0.2], [1, 0], { batchSize: 2, positiveFraction: 0.5 }));
  });
});

describe('sampleOhem input checks', () => {
  it('rejects mismatched shapes and bad options', () => {
    expect(() => sampleOhem([0.1], [1, 0], { batchSize: 2, positiveFraction: 0.5 })).toThrow(ShapeError);
    expect(() => sampleOhem([0.1], [1], { batchSize: 2, positiveFraction: 2 })).toThrow(InvalidArgumentError);
    expect(() => sampleOhem([0.1], [1], { batchSize: 2, positiveFraction: 0.5, negPosUpperBound: -2 })).toThrow(/negPosUpperBound/);
  });
});
