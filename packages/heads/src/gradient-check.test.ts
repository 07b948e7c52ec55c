// Numerical gradient checks: tf.grad through every differentiable op and head agrees with central finite
// differences on a tiny instance (float32, so the tolerances are a few 1e-3), for the input features and
// for every weight of the heads, on every Node backend.
import { tf } from '@detkit/core';
import { describeEachBackend } from '@detkit/test-utils';
import { it } from 'vitest';
import { createBoxHead, createRpnHead, createSsdHead, multiScaleRoiAlign, roiAlign, roiPool, type HeadWeights } from './index';
import { expectGradientsMatchFiniteDifferences, seededValues } from './test-helpers';

const boxes = [[2, 3, 20, 17], [-4, 6, 9, 30], [10.5, 0.25, 31, 12.75], [0, 0, 32, 32]];
const imageIndex = [0, 1, 1, 0];

/** sum(out * fixed weights): a scalar whose gradient reaches every output element with its own weight. */
function weightedSum(out: tf.Tensor, seed: number): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.mul(out, tf.tensor(seededValues(out.size, seed), out.shape))));
}

/** Runs a gradient check over the input variable and the head's variables, then disposes both. */
function checkHead(head: HeadWeights, inputs: tf.Variable[], loss: () => tf.Scalar) {
  try {
    expectGradientsMatchFiniteDifferences(loss, [...inputs, ...Object.values(head.variables)]);
  } finally {
    head.dispose();
    tf.dispose(inputs);
  }
}

/** Weights of order 0.3 instead of the tiny N(0, 0.01) init, so every term of the gradient matters. */
function scaleWeights(head: HeadWeights, seed: number) {
  Object.values(head.variables).forEach((v, i) => tf.tidy(() => v.assign(tf.mul(tf.tensor(seededValues(v.size, seed + i), v.shape), 0.6))));
}

describeEachBackend('numerical gradient checks', () => {
  it('roiAlign (aligned and legacy, fixed and adaptive sampling) with respect to the features', () => {
    const x = tf.variable(tf.tensor(seededValues(2 * 8 * 8 * 3, 1), [2, 8, 8, 3]));
    for (const aligned of [true, false]) {
      for (const samplingRatio of [2, -1]) {
        const opts = { outputSize: [3, 2] as [number, number], spatialScale: 0.25, samplingRatio, aligned };
        expectGradientsMatchFiniteDifferences(() => weightedSum(roiAlign(x, boxes, imageIndex, opts), 2), [x], { perVariable: 64 });
      }
    }
    x.dispose();
  });

  it('multiScaleRoiAlign with respect to every level', () => {
    // Levels of stride 4 and 8 of a 32 px image. With canonicalScale 16 at level 2, a box of side
    // sqrt(area) s goes to level floor(2 + log2(s / 16)) clamped to [2, 3]: the first three boxes
    // (s = 15.9, 17.7, 16.0) to the stride-4 map, [0, 0, 32, 32] (s = 32) to the stride-8 one.
    const fine = tf.variable(tf.tensor(seededValues(2 * 8 * 8 * 3, 8), [2, 8, 8, 3]));
    const coarse = tf.variable(tf.tensor(seededValues(2 * 4 * 4 * 3, 9), [2, 4, 4, 3]));
    const opts = { imageSizes: [32, 32] as const, outputSize: [3, 2] as [number, number], canonicalScale: 16, canonicalLevel: 2 };
    expectGradientsMatchFiniteDifferences(() => weightedSum(multiScaleRoiAlign([fine, coarse], boxes, imageIndex, opts), 10), [fine, coarse], { perVariable: 48 });
    tf.dispose([fine, coarse]);
  });

  it('roiPool with respect to the features', () => {
    // Distinct values at least 1e-2 apart, so a 1e-3 step never changes which cell is a bin's maximum.
    const n = 2 * 8 * 8 * 3;
    const ranks = Array.from(seededValues(n, 3)).map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
    const values = new Float32Array(n);
    ranks.forEach(([, i], r) => (values[i] = r / 50));
    const x = tf.variable(tf.tensor(values, [2, 8, 8, 3]));
    expectGradientsMatchFiniteDifferences(() => weightedSum(roiPool(x, boxes, imageIndex, { outputSize: [3, 2], spatialScale: 0.25 }), 4), [x], { perVariable: 96 });
    x.dispose();
  });

  it('RPN head: features and every weight (one and two objectness logits)', () => {
    for (const objectnessLogits of [1, 2] as const) {
      const head = createRpnHead({ inChannels: 3, midChannels: 4, numAnchors: 2, objectnessLogits, seed: 5 });
      scaleWeights(head, 6);
      const x = tf.variable(tf.tensor(seededValues(2 * 4 * 5 * 3, 7), [2, 4, 5, 3]));
      const x2 = tf.tensor(seededValues(2 * 2 * 3 * 3, 8), [2, 2, 3, 3]);
      checkHead(head, [x], () => {
        const out = head.apply([x, x2]);
        return tf.tidy(() => tf.add(weightedSum(out.objectness, 9), weightedSum(out.deltas, 10)) as tf.Scalar);
      });
      x2.dispose();
    }
  });

  it('box head: pooled features and every weight', () => {
    const head = createBoxHead({ inChannels: 2, poolSize: [2, 3], representationSize: 5, numClasses: 3, seed: 11 });
    const x = tf.variable(tf.tensor(seededValues(4 * 2 * 3 * 2, 12), [4, 2, 3, 2]));
    checkHead(head, [x], () => {
      const out = head.apply(x);
      return tf.tidy(() => tf.add(weightedSum(out.classLogits, 13), weightedSum(out.boxDeltas, 14)) as tf.Scalar);
    });
  });

  it('SSD head: features of both levels and every weight', () => {
    const head = createSsdHead({ inChannels: [3, 2], numAnchors: [2, 3], numClasses: 3, seed: 15 });
    const x0 = tf.variable(tf.tensor(seededValues(2 * 4 * 4 * 3, 16), [2, 4, 4, 3]));
    const x1 = tf.variable(tf.tensor(seededValues(2 * 2 * 2 * 2, 17), [2, 2, 2, 2]));
    checkHead(head, [x0, x1], () => {
      const out = head.apply([x0, x1]);
      return tf.tidy(() => tf.add(weightedSum(out.classLogits, 18), weightedSum(out.boxDeltas, 19)) as tf.Scalar);
    });
  });
});
