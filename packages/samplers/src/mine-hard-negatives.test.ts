import { InvalidArgumentError, InvalidValueError, ShapeError, tf } from '@detkit/core';
import { describeEachBackend, expectNoLeaks } from '@detkit/test-utils';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mineHardNegatives, SSD_NEG_POS_RATIO } from './index';
import { mineByRank } from './mine-hard-negatives';

function run(loss: unknown, labels: unknown, options?: Parameters<typeof mineHardNegatives>[2]) {
  const out = mineHardNegatives(loss as number[], labels as number[], options);
  const r = out.arraySync();
  out.dispose();
  return r;
}

describeEachBackend('mineHardNegatives', () => {
  it('keeps the 3 hardest negatives per positive', () => {
    expect(SSD_NEG_POS_RATIO).toBe(3);
    // One positive (index 2, class 7): the three negatives with the highest loss are 0.9, 0.8 and 0.7
    // (indices 4, 0, 6); the ignored element (index 5, loss 5) is never mined.
    const loss = [0.8, 0.1, 3.0, 0.2, 0.9, 5.0, 0.7, 0.3];
    const labels = [0, 0, 7, 0, 0, -1, 0, 0];
    expect(run(loss, labels)).toEqual([0, -1, 7, -1, 0, -1, 0, -1]);
  });

  it('works per row of a batch [B, N]', () => {
    // Row 0: 1 positive -> 3 negatives (0.9, 0.8, 0.6). Row 1: no positive -> none. Row 2: 2 positives
    // -> 6 wanted, only 2 negatives, both kept.
    const loss = [
      [0.9, 0.1, 0.8, 0.6, 0.2, 0.0],
      [0.9, 0.1, 0.8, 0.6, 0.2, 0.0],
      [0.5, 0.4, 0.3, 0.2, 0.1, 0.0],
    ];
    const labels = [
      [0, 0, 0, 0, 0, 1],
      [0, 0, 0, 0, 0, 0],
      [1, 0, 2, -1, 0, -1],
    ];
    expect(run(loss, labels)).toEqual([
      [0, -1, 0, 0, -1, 1],
      [-1, -1, -1, -1, -1, -1],
      [1, 0, 2, -1, 0, -1],
    ]);
  });

  it('minNegatives keeps negatives in images without positives; negPosRatio scales', () => {
    const loss = [0.1, 0.5, 0.3, 0.4];
    expect(run(loss, [0, 0, 0, 0], { minNegatives: 2 })).toEqual([-1, 0, -1, 0]);
    expect(run(loss, [1, 0, 0, 0], { negPosRatio: 1 })).toEqual([1, 0, -1, -1]);
    // ceil(1.5) = 2, as torchvision's `idx_rank < 1.5 * num_foreground` keeps ranks 0 and 1: 0.5 and 0.4.
    expect(run(loss, [1, 0, 0, 0], { negPosRatio: 1.5 })).toEqual([1, 0, -1, 0]);
    // 30 positives at ratio 0.1: 0.1 x 30 in float32 is exactly 3, as in torch (in float64 it is
    // 3.0000000000000004, whose ceil would keep 4). The 3 hardest of 10 negatives (losses 0..9) stay.
    const row = [...Array<number>(30).fill(1), ...Array<number>(10).fill(0)];
    const kept = run([...Array<number>(30).fill(0), ...Array.from({ length: 10 }, (_, i) => i)], row, { negPosRatio: 0.1 }) as number[];
    expect(kept.slice(30)).toEqual([-1, -1, -1, -1, -1, -1, -1, 0, 0, 0]);
    // 3 positives at ratio 0.5: ceil(1.5) = 2.
    expect(run([0, 0, 0, 0.3, 0.2, 0.1], [1, 1, 1, 0, 0, 0], { negPosRatio: 0.5 })).toEqual([1, 1, 1, 0, 0, -1]);
  });

  it('takes equal losses in index order', () => {
    // One positive, three to keep among five negatives of loss 1: the first three.
    expect(run([1, 1, 9, 1, 1, 1], [0, 0, 1, 0, 0, 0])).toEqual([0, 0, 1, 0, -1, -1]);
    // Ties straddling the cut: 2 above (0.9, 0.8), then one of the three 0.5s, the first.
    expect(run([0.5, 0.9, 0.5, 0.8, 0.5, 0], [0, 0, 0, 0, 0, 1])).toEqual([0, 0, -1, 0, -1, 1]);
  });

  it('empty inputs are defined', () => {
    expect(run([], [])).toEqual([]);
    const loss = tf.zeros([2, 0]), labels = tf.zeros([2, 0], 'int32');
    const out = mineHardNegatives(loss, labels);
    expect(out.shape).toEqual([2, 0]);
    tf.dispose([loss, labels, out]);
  });

  it('leaks no tensors', async () => {
    const loss = tf.randomUniform([4, 100], 0, 1, 'float32', 1);
    const labels = tf.cast(tf.greater(tf.randomUniform([4, 100], 0, 1, 'float32', 2), 0.9), 'int32');
    await expectNoLeaks(() => mineHardNegatives(loss, labels));
    tf.dispose([loss, labels]);
  });
});

describe('mineHardNegatives input checks', () => {
  it('rejects mismatched shapes, non-finite losses and bad options', () => {
    expect(() => mineHardNegatives([0.1, 0.2], [0, 0, 1])).toThrow(ShapeError);
    expect(() => mineHardNegatives([[[0.1]]], [[[0]]])).toThrow(ShapeError);
    expect(() => mineHardNegatives([0.1, NaN], [0, 1])).toThrow(InvalidValueError);
    expect(() => mineHardNegatives([0.1], [0], { negPosRatio: -1 })).toThrow(InvalidArgumentError);
    expect(() => mineHardNegatives([0.1], [0], { minNegatives: 0.5 })).toThrow(/minNegatives/);
  });
});

describeEachBackend('mineHardNegatives without its kernel (the rank path webgpu and webgl take)', () => {
  // mineByRank is what mineHardNegatives runs where no fused kernel is registered; here it runs beside the
  // kernel on the same inputs and must give the same selection, ties and edge counts included.
  it('equals the kernel on random rows with ties, ignored elements and every ratio edge', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 40 }),
        fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 160, maxLength: 160 }),
        fc.constantFrom(0, 0.5, 1, 2.7, 3, 100),
        fc.integer({ min: 0, max: 5 }),
        (rows, n, draws, negPosRatio, minNegatives) => {
          // Losses from 4 levels only, so equal losses are common; labels -1 (1 in 8), 0 (5 in 8), 1-2.
          const loss = Array.from({ length: rows * n }, (_, i) => (draws[i % 160]! % 4) / 4);
          const labels = Array.from({ length: rows * n }, (_, i) => [0, 0, 0, 0, 0, -1, 1, 2][(draws[(i * 7 + 3) % 160]! >> 3) % 8]!);
          const expected = tf.tidy(() => mineHardNegatives(tf.tensor2d(loss, [rows, n]), tf.tensor2d(labels, [rows, n], 'int32'), { negPosRatio, minNegatives }).arraySync());
          const ranked = tf.tidy(() => mineByRank(tf.tensor2d(loss, [rows, n]), tf.tensor2d(labels, [rows, n], 'int32'), negPosRatio, minNegatives).arraySync());
          expect(ranked).toEqual(expected);
        },
      ),
      { numRuns: 60, seed: 17 },
    );
  });

  it('keeps rank 1 inputs and empty inputs as the kernel does, and leaks nothing', async () => {
    const loss = [0.8, 0.1, 3.0, 0.2, 0.9, 5.0, 0.7, 0.3];
    const labels = [0, 0, 7, 0, 0, -1, 0, 0];
    expect(tf.tidy(() => mineByRank(tf.tensor1d(loss), tf.tensor1d(labels, 'int32'), 3, 0).arraySync())).toEqual([0, -1, 7, -1, 0, -1, 0, -1]);
    expect(tf.tidy(() => mineByRank(tf.zeros([2, 0]), tf.zeros([2, 0], 'int32'), 3, 0).shape)).toEqual([2, 0]);
    await expectNoLeaks(() => tf.tidy(() => mineByRank(tf.tensor1d(loss), tf.tensor1d(labels, 'int32'), 3, 1)));
  });
});
