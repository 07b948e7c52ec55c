// Numerical gradient checks: every loss's tf.grad against central finite differences, on every Node
// backend, for every differentiable input.
//
// Tolerance, float32 throughout: the central difference (f(x + h) - f(x - h)) / 2h has truncation error
// h^2 |f'''| / 6 and rounding error about eps32 |f| / h (eps32 = 6e-8). With h = 1e-2, |f| <= 30 and
// |f'''| <= 10 that is below 2e-4 + 2e-4, so |numeric - analytic| <= 1e-3 + 1e-2 |analytic| holds with
// margin while a wrong gradient (a sign, a factor, a missing term) fails. Inputs stay away from the
// kinks (|d| = beta, ties of min/max, a change in the mined negatives) by more than h.
import { createRandom, tf } from '@detkit/core';
import { describeEachBackend } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import {
  binaryCrossEntropyWithLogits,
  ciouLoss,
  crossEntropyLoss,
  diouLoss,
  fastRcnnLoss,
  giouLoss,
  multiboxLoss,
  rpnLoss,
  sigmoidFocalLoss,
  smoothL1Loss,
} from './index';

const H = 1e-2;
const ATOL = 1e-3;
const RTOL = 1e-2;

/** Seeded uniform floats in [lo, hi). */
function uniform(seed: number, n: number, lo: number, hi: number): number[] {
  const random = createRandom(seed);
  return Array.from({ length: n }, () => lo + random() * (hi - lo));
}

/**
 * Checks d f / d inputs[k] for every k against central differences, element by element. `f` maps the
 * inputs (float32 tensors of the given shapes) to a scalar tensor.
 */
function checkGradients(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: { values: number[]; shape: number[] }[]): void {
  const xs = inputs.map((x) => tf.tensor(x.values, x.shape));
  const analytic = tf.grads((...args: tf.Tensor[]) => f(...args))(xs).map((g) => Array.from(g.dataSync()));
  const value = (vals: number[][]) =>
    tf.tidy(() => f(...vals.map((v, k) => tf.tensor(v, inputs[k]!.shape))).dataSync()[0] as number);
  inputs.forEach((input, k) => {
    for (let i = 0; i < input.values.length; i++) {
      const plus = inputs.map((x) => [...x.values]);
      const minus = inputs.map((x) => [...x.values]);
      plus[k]![i]! += H;
      minus[k]![i]! -= H;
      const numeric = (value(plus) - value(minus)) / (2 * H);
      const got = analytic[k]![i]!;
      expect(Math.abs(numeric - got), `input ${k} element ${i}: analytic ${got}, numeric ${numeric}`).toBeLessThanOrEqual(ATOL + RTOL * Math.abs(got));
    }
  });
  tf.dispose(xs);
}

/** xyxy boxes with distinct, well separated coordinates (no ties of min / max within h). */
const BOXES_A = [[10.3, 20.1, 50.7, 70.2], [0.5, 0.25, 30.5, 40.75], [100.1, 50.3, 130.9, 90.6]];
const BOXES_B = [[15.6, 12.4, 60.2, 65.3], [5.2, 10.7, 25.1, 35.4], [90.4, 60.8, 140.2, 80.9]];

describeEachBackend('numerical gradient checks', () => {
  it('smoothL1Loss, beta 1, 1/9 and 0 (pred and target)', () => {
    // |d| values 0.05 .. 2.2, each more than h from 1, 1/9 and 0.
    const pred = [0.3, -1.5, 2.0, 0.05, -0.4, 1.2];
    const target = [0.0, 0.1, -0.2, 0.5, 0.2, -0.3];
    for (const beta of [1, 1 / 9, 0]) {
      checkGradients((p, t) => smoothL1Loss(p!, t!, { beta, reduction: 'sum' }), [
        { values: pred, shape: [2, 3] },
        { values: target, shape: [2, 3] },
      ]);
    }
  });

  it('crossEntropyLoss (mean over the rows not ignored)', () => {
    const labels = tf.tensor1d([2, -1, 0, 4], 'int32');
    checkGradients((x) => crossEntropyLoss(x!, labels), [{ values: uniform(1, 20, -3, 3), shape: [4, 5] }]);
    labels.dispose();
  });

  it('binaryCrossEntropyWithLogits (logits and targets)', () => {
    checkGradients((x, t) => binaryCrossEntropyWithLogits(x!, t!), [
      { values: uniform(2, 8, -4, 4), shape: [8] },
      { values: uniform(3, 8, 0, 1), shape: [8] },
    ]);
  });

  it('sigmoidFocalLoss, gamma 2 and 1.5 (logits and targets)', () => {
    for (const gamma of [2, 1.5]) {
      checkGradients((x, t) => sigmoidFocalLoss(x!, t!, { gamma, reduction: 'sum' }), [
        { values: uniform(4, 8, -3, 3), shape: [2, 4] },
        { values: [1, 0, 0, 1, 0, 0, 1, 0], shape: [2, 4] },
      ]);
    }
  });

  for (const [name, loss] of [['giouLoss', giouLoss], ['diouLoss', diouLoss], ['ciouLoss', ciouLoss]] as const) {
    it(`${name} (both boxes)`, () => {
      checkGradients((a, b) => loss(a!, b!, { reduction: 'sum' }), [
        { values: BOXES_A.flat(), shape: [3, 4] },
        { values: BOXES_B.flat(), shape: [3, 4] },
      ]);
    });
  }

  it('rpnLoss, each normalisation, sigmoid and softmax objectness', () => {
    const labels = tf.tensor2d([[1, 0, -1, 0, 1, -1]], undefined, 'int32');
    const targets = tf.tensor(uniform(5, 24, -1, 1), [1, 6, 4]);
    const deltas = { values: uniform(6, 24, -1, 1), shape: [1, 6, 4] };
    for (const normalization of ['torchvision', 'paper', 'keras-frcnn'] as const) {
      checkGradients((o, d) => rpnLoss(o!, d!, labels, targets, { normalization }).total, [{ values: uniform(7, 6, -2, 2), shape: [1, 6] }, deltas]);
    }
    checkGradients((o, d) => rpnLoss(o!, d!, labels, targets, { normalization: 'paper', nReg: 'positives' }).total, [{ values: uniform(8, 12, -2, 2), shape: [1, 6, 2] }, deltas]);
    tf.dispose([labels, targets]);
  });

  it('fastRcnnLoss, torchvision and walk-through', () => {
    const labels = tf.tensor1d([2, 0, 1, -1], 'int32');
    const targets = tf.tensor(uniform(9, 16, -1, 1), [4, 4]);
    for (const normalization of ['torchvision', 'walk-through'] as const) {
      checkGradients((c, r) => fastRcnnLoss(c!, r!, labels, targets, { normalization }).total, [
        { values: uniform(10, 12, -2, 2), shape: [4, 3] },
        { values: uniform(11, 48, -1, 1), shape: [4, 12] },
      ]);
    }
    tf.dispose([labels, targets]);
  });

  it('multiboxLoss (hard negatives fixed under the perturbation)', () => {
    // One positive per image, so 3 mined negatives; background logits spread 1 apart make the negative
    // losses differ by far more than any perturbation of size h can change them.
    const priors = 8;
    const classes = 3;
    const logits: number[] = [];
    for (let b = 0; b < 2; b++) {
      for (let p = 0; p < priors; p++) logits.push(-p + 0.1 * b, 0.3 * ((p % 3) - 1), -0.2 * (p % 2));
    }
    const labels = tf.tensor2d([[0, 2, 0, 0, 0, 0, -1, 0], [0, 0, 0, 1, 0, 0, 0, 0]], undefined, 'int32');
    const targets = tf.tensor(uniform(12, 2 * priors * 4, -1, 1), [2, priors, 4]);
    checkGradients((c, d) => multiboxLoss(c!, d!, labels, targets).total, [
      { values: logits, shape: [2, priors, classes] },
      { values: uniform(13, 2 * priors * 4, -1, 1), shape: [2, priors, 4] },
    ]);
    tf.dispose([labels, targets]);
  });
});
