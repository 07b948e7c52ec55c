// The fused kernels (assembly/index.ts, on cpu and wasm) against the op compositions that GPU-class
// backends run, values and gradients, and the cross-entropy kernel against float64 arithmetic on logits
// far outside the fixtures' range.
import { tf } from '@detkit/core';
import { describeEachBackend, expectClose } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import { smoothL1Rows } from './smooth-l1-loss';
import { softmaxCrossEntropyRows } from './softmax-xent';

function seeded(seed: number, n: number, lo: number, hi: number): Float32Array {
  let a = seed;
  return new Float32Array(n).map(() => {
    a = (a * 1103515245 + 12345) % 2147483648;
    return lo + (a / 2147483648) * (hi - lo);
  });
}

/** Rows of logits that stress the exp: huge spreads, all equal, one dominant, large magnitudes. */
function hardLogits(classes: number): number[][] {
  const rows: number[][] = [];
  const r = seeded(11, 40 * classes, -3, 3);
  for (let i = 0; i < 40; i++) rows.push(Array.from(r.subarray(i * classes, (i + 1) * classes)));
  rows.push(Array.from({ length: classes }, (_, c) => c * 9 - 80)); // spread of ~9 (C - 1)
  rows.push(Array.from({ length: classes }, () => 7.25)); // all equal
  rows.push(Array.from({ length: classes }, (_, c) => (c === 1 ? 60 : -60))); // one dominant
  rows.push(Array.from({ length: classes }, (_, c) => 1e4 + c * 1e-2)); // large magnitude, tiny spread
  rows.push(Array.from({ length: classes }, (_, c) => -90 - c)); // far below exp's range
  return rows;
}

/** loss[r] = logsumexp(x[r]) - x[r, label] in float64. */
function referenceXent(rows: number[][], labels: number[]): number[] {
  return rows.map((x, r) => {
    const xs = x.map((v) => Math.fround(v));
    const m = Math.max(...xs);
    return m + Math.log(xs.reduce((s, v) => s + Math.exp(v - m), 0)) - (xs[labels[r]!] as number);
  });
}

describeEachBackend('fused kernels', () => {
  for (const classes of [2, 3, 4, 5, 21, 81]) {
    it(`softmax cross-entropy, ${classes} classes: float64 values; the op path agrees, gradients too`, () => {
      const rows = hardLogits(classes);
      const labelValues = rows.map((_, r) => (r % 9 === 4 ? -1 : (r * 7) % classes));
      const logits = tf.tensor2d(rows);
      const labels = tf.tensor1d(labelValues, 'int32');
      const fused = softmaxCrossEntropyRows(logits, labels, -1);
      const ops = softmaxCrossEntropyRows(logits, labels, -1, true);
      const want = referenceXent(rows, labelValues).map((v, r) => (labelValues[r] === -1 ? 0 : v));
      expectClose(fused, want, { what: 'kernel vs float64' });
      expectClose(ops, want, { what: 'ops vs float64' });
      const dy = tf.tensor1d(seeded(5, rows.length, -1, 1).map((v, i) => (i % 5 === 0 ? 0 : v)));
      const gradOf = (opsOnly: boolean) => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(softmaxCrossEntropyRows(x, labels, -1, opsOnly), dy)))(logits);
      const gf = gradOf(false);
      const go = gradOf(true);
      expectClose(gf, go.arraySync(), { what: 'gradient, kernel vs ops' });
      tf.dispose([logits, labels, fused, ops, dy, gf, go]);
    });
  }

  it('softmax cross-entropy takes any leading shape', () => {
    const x = tf.tensor3d([hardLogits(3).slice(0, 4), hardLogits(3).slice(4, 8)]);
    const y = tf.tensor2d([[0, 1, 2, 0], [2, 2, 1, -1]], undefined, 'int32');
    const out = softmaxCrossEntropyRows(x, y, -1);
    expect(out.shape).toEqual([2, 4]);
    expectClose(out, softmaxCrossEntropyRows(x, y, -1, true).arraySync());
    tf.dispose([x, y, out]);
  });

  for (const [width, weighted] of [[4, true], [4, false], [3, true], [1, false]] as const) {
    it(`smooth L1 rows of width ${width}${weighted ? ', weighted' : ''}: kernel and ops agree, values and both gradients`, () => {
      const rows = 37;
      const pred = tf.tensor2d(seeded(1, rows * width, -2, 2), [rows, width]);
      const target = tf.tensor2d(seeded(2, rows * width, -2, 2), [rows, width]);
      const weights = weighted ? tf.tensor1d(seeded(3, rows, 0, 1).map((v) => (v < 0.3 ? 0 : v))) : null;
      const dy = tf.tensor1d(seeded(4, rows, -1, 1));
      for (const beta of [1, 1 / 9, 0]) {
        const f = (opsOnly: boolean) => (p: tf.Tensor, t: tf.Tensor) => tf.sum(tf.mul(smoothL1Rows(p, t, beta, weights, { opsOnly }), dy));
        const vk = smoothL1Rows(pred, target, beta, weights);
        const vo = smoothL1Rows(pred, target, beta, weights, { opsOnly: true });
        expectClose(vk, vo.arraySync(), { what: `value beta ${beta}` });
        const gk = tf.grads(f(false))([pred, target]);
        const go = tf.grads(f(true))([pred, target]);
        gk.forEach((g, i) => expectClose(g, go[i]!.arraySync(), { what: `gradient ${i} beta ${beta}` }));
        tf.dispose([vk, vo, ...gk, ...go]);
      }
      tf.dispose([pred, target, dy, ...(weights ? [weights] : [])]);
    });
  }
});
