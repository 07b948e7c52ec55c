// The samplers and target builders are not differentiated: their inputs are taken as constants of the
// gradient tape, so a loss or proposals computed from trainable variables may go in, and tf.variableGrads
// never reaches their kernels (which register no gradient).
import { tf } from '@detkit/core';
import { describeEachBackend, expectNoLeaks } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import { buildRoiTargets, buildRpnTargets, buildSsdTargets, mineHardNegatives, sampleBalanced, sampleOhem } from './index';

/** A float mask [n] with ones at `indices` (a gather whose gradient needs no UnsortedSegmentSum, which wasm lacks). */
function maskOf(indices: tf.Tensor, n: number): tf.Tensor {
  return tf.sum(tf.oneHot(tf.cast(indices, 'int32') as tf.Tensor1D, n), 0);
}

/** d/dw of f(w) as a plain array, for a fresh variable w holding `init`. */
function gradOf(init: tf.Tensor, f: (w: tf.Variable) => tf.Scalar): number[] {
  const w = tf.variable(init, true);
  try {
    const { value, grads } = tf.variableGrads(() => f(w), [w]);
    const g = Array.from(grads[w.name]!.dataSync());
    tf.dispose([value, ...Object.values(grads)]);
    return g;
  } finally {
    w.dispose();
  }
}

describeEachBackend('samplers inside tf.variableGrads', () => {
  it('sampleOhem and mineHardNegatives take a loss on the tape; the gradient flows through what the caller gathers', async () => {
    await expectNoLeaks(() => {
      const losses = tf.tensor1d([0.5, 2, 0.1, 3, 1, 0.2]);
      const labels = tf.tensor1d([1, 0, 1, 0, 0, -1], 'int32');
      // OHEM: the hardest positive (0.5) and the two hardest negatives (3, 2).
      const ohem = gradOf(losses, (w) => {
        const loss = tf.mul(w, 1);
        const { indices } = sampleOhem(loss, labels, { batchSize: 3, positiveFraction: 1 / 3 });
        return tf.sum(tf.mul(loss, maskOf(indices, 6))) as tf.Scalar;
      });
      expect(ohem).toEqual([1, 1, 0, 1, 0, 0]);
      // Hard negatives at 1:1 per positive: the two positives and the two hardest negatives (3, 2).
      const mined = gradOf(losses, (w) => {
        const loss = tf.mul(w, 1);
        const kept = tf.cast(tf.greaterEqual(mineHardNegatives(loss, labels, { negPosRatio: 1 }), 0), 'float32');
        return tf.sum(tf.mul(loss, kept)) as tf.Scalar;
      });
      expect(mined).toEqual([1, 1, 1, 1, 0, 0]);
      // Labels computed on the tape are fine too.
      const balanced = gradOf(losses, (w) => {
        const picked = sampleBalanced(tf.cast(tf.greater(w, 1), 'int32'), { batchSize: 2, positiveFraction: 0.5, seed: 1 }).indices;
        return tf.sum(tf.mul(w, maskOf(picked, 6))) as tf.Scalar;
      });
      expect(balanced.filter((v) => v === 1)).toHaveLength(2);
      tf.dispose([losses, labels]);
    });
  });

  it('the target builders take boxes on the tape; their outputs are constants', async () => {
    await expectNoLeaks(() => {
      const gt = tf.tensor2d([[10, 10, 30, 30]]);
      const classes = tf.tensor1d([2], 'int32');
      const boxes = tf.tensor2d([[10, 10, 30, 30], [12, 10, 32, 30], [50, 50, 70, 70]]);
      // The gradient of sum(w) + sum(targets(w)) is sum's alone: ones.
      const builders: Array<(w: tf.Tensor) => tf.Tensor[]> = [
        (w) => {
          const t = buildRoiTargets(w, gt, classes, { seed: 3 });
          return [t.proposals, t.regressionTargets, t.matchedGtBoxes];
        },
        (w) => {
          const t = buildRpnTargets(w, gt, { seed: 3 });
          return [t.regressionTargets, t.matchedGtBoxes];
        },
        (w) => {
          const t = buildSsdTargets(w, gt, classes);
          return [t.regressionTargets, t.matchedGtBoxes];
        },
      ];
      for (const build of builders) {
        const g = gradOf(boxes, (w) => {
          const b = tf.mul(w, 1);
          return tf.addN([tf.sum(b), ...build(b).map((t) => tf.sum(t))]) as tf.Scalar;
        });
        expect(g).toEqual(new Array(12).fill(1));
      }
      tf.dispose([gt, classes, boxes]);
    });
  });

  it('through the targets alone there is no gradient at all (as torch.autograd.grad on detached inputs)', () => {
    // (Outside a leak check: tfjs leaves the tape's tensors behind when tf.grad throws.)
    const boxes = tf.tensor2d([[10, 10, 30, 30], [50, 50, 70, 70]]);
    expect(() => tf.grad((w: tf.Tensor) => tf.sum(buildRoiTargets(w, [[10, 10, 30, 30]], [1], { seed: 3 }).proposals))(boxes)).toThrow(/Cannot compute gradient/);
    boxes.dispose();
  });
});
