// detach: a constant of the gradient tape that shares its input's data. (@detkit/test-utils depends on
// this package, so these tests carry their own per-backend loop.)
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from './backend';
import { detach } from './detach';
import { InvalidArgumentError } from './errors';
import { runTypedArrayKernel, type TypedArrayKernel } from './kernels';
import { tf } from './tf';

/** A kernel with no registered gradient, as detkit's selection kernels: out = 2 * a. */
const noGradientKernel: TypedArrayKernel = {
  kernelName: 'DetkitTestDetachNoGradient',
  inputNames: ['a'],
  compute([a], _attrs, ctx) {
    const out = ctx.output(a!.shape, 'float32');
    const v = a!.values;
    for (let i = 0; i < v.length; i++) out.values[i] = 2 * (v[i] as number);
    return [out];
  },
};
const noGradient = (x: tf.Tensor) => runTypedArrayKernel(noGradientKernel, [x], {})[0]!;

for (const backend of ['cpu', 'wasm'] as const) describe(`detach [${backend}]`, () => {
  beforeAll(() => setupBackend(backend));

  it("has x's values, shape and dtype, and shares its data (no copy)", () => {
    tf.tidy(() => {
      const x = tf.tensor2d([[1, 2], [3, 4]], [2, 2], 'int32');
      const d = detach(x);
      expect(d).not.toBe(x);
      expect(d.dataId).toBe(x.dataId);
      expect(d.shape).toEqual([2, 2]);
      expect(d.dtype).toBe('int32');
      expect(d.arraySync()).toEqual([[1, 2], [3, 4]]);
    });
  });

  it('stops the gradient: only the other paths from x count', () => {
    tf.tidy(() => {
      const x = tf.tensor1d([1, 2, 3]);
      // y = 2x + 3 * stop(x): dy/dx = 2.
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.add(tf.mul(v, 2), tf.mul(detach(v), 3))))(x);
      expect(Array.from(g.dataSync())).toEqual([2, 2, 2]);
      // Every path through detach: no gradient is defined (as torch.autograd.grad without allow_unused).
      expect(() => tf.grad((v: tf.Tensor) => tf.sum(detach(v)))(x)).toThrow(/Cannot compute gradient/);
    });
  });

  it('keeps ops without a gradient out of the backward pass', () => {
    const w = tf.tidy(() => tf.variable(tf.tensor1d([1, -2]), true, 'detach_test_w'));
    try {
      const loss = (stop: boolean) => () => {
        const y = tf.mul(w, 3);
        const selected = noGradient(stop ? detach(y) : y);
        return tf.sum(tf.mul(y, selected)) as tf.Scalar;
      };
      // Without detach the tape reaches the kernel, which has no gradient.
      expect(() => tf.variableGrads(loss(false))).toThrow(/gradient function not found for DetkitTestDetachNoGradient/);
      const { value, grads } = tf.variableGrads(loss(true));
      // loss = sum(3w * 2 * 3w_const): d/dw = 3 * 2 * 3w = 18w.
      expect(Array.from(grads[w.name]!.dataSync())).toEqual([18, -36]);
      tf.dispose([value, ...Object.values(grads)]);
    } finally {
      w.dispose();
    }
  });

  it("a variable's detached value is a snapshot; nothing leaks, whichever is disposed first", () => {
    const before = tf.memory().numTensors;
    const w = tf.tidy(() => tf.variable(tf.tensor1d([5, 6]), true, 'detach_test_snapshot'));
    const snapshot = detach(w);
    tf.tidy(() => w.assign(tf.tensor1d([7, 8])));
    expect(Array.from(snapshot.dataSync())).toEqual([5, 6]);
    w.dispose();
    expect(Array.from(snapshot.dataSync())).toEqual([5, 6]);
    snapshot.dispose();
    expect(tf.memory().numTensors).toBe(before);

    const x = tf.tensor1d([1, 2]);
    const d = detach(x);
    x.dispose();
    expect(Array.from(d.dataSync())).toEqual([1, 2]);
    d.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.tidy(() => detach(tf.ones([3])).shape)).toEqual([3]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects a non-tensor or a disposed tensor with InvalidArgumentError naming x', () => {
    const x = tf.scalar(1);
    x.dispose();
    for (const bad of [x, [1, 2], null]) {
      const call = () => detach(bad as tf.Tensor);
      expect(call).toThrow(InvalidArgumentError);
      expect(call).toThrow(/detach: 'x'/);
    }
  });
});
