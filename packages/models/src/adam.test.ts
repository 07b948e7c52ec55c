// detkit's adam: tfjs's AdamOptimizer with one fused kernel per variable where the backend registers
// ADAM_KERNEL (wasm). The promise: the same bits as tf.train.adam, step by step, on every backend.
import { useBackend } from '@detkit/backends';
import { ADAM_KERNEL, InvalidArgumentError, tf } from '@detkit/core';
import { expectNoLeaks } from '@detkit/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { adam, FusedAdamOptimizer, setLearningRate } from './index';

/** A few variables of odd sizes (SIMD remainders) and one of 70,000 elements, with a loss whose gradients vary. */
function setup(seed: number) {
  const vars = tf.tidy(() => [[3], [5, 7], [70_000]].map((shape, i) => tf.variable(tf.randomNormal(shape, 0, 1, 'float32', seed + i))));
  const targets = tf.tidy(() => vars.map((v, i) => tf.randomNormal(v.shape, 0.5, 2, 'float32', seed + 10 + i)));
  const loss = () =>
    tf.tidy(() => tf.addN(vars.map((v, i) => tf.sum(tf.mul(tf.square(tf.sub(v, targets[i]!)), tf.add(tf.abs(v), 0.1))))) as tf.Scalar);
  return { vars, loss, dispose: () => tf.dispose([...vars, ...targets]) };
}

const bits = (vars: tf.Variable[]) => vars.map((v) => Array.from(new Uint32Array(Float32Array.from(v.dataSync()).buffer)));

for (const backend of ['cpu', 'wasm'] as const) describe(`adam [${backend}]`, () => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('gives the bits of tf.train.adam, step by step, with the learning rate changing between steps', () => {
    const ours = setup(1);
    const theirs = setup(1);
    const fused = adam(0.03, 0.8, 0.99);
    const reference = tf.train.adam(0.03, 0.8, 0.99);
    for (let step = 0; step < 12; step++) {
      const lr = 0.03 * (1 - step / 12);
      setLearningRate(fused, lr);
      setLearningRate(reference, lr);
      fused.minimize(ours.loss, false, ours.vars);
      reference.minimize(theirs.loss, false, theirs.vars);
      expect(bits(ours.vars), `step ${step + 1}`).toEqual(bits(theirs.vars));
    }
    expect(fused.iterations).toBe(12);
    [fused, reference].forEach((o) => o.dispose());
    [ours, theirs].forEach((s) => s.dispose());
  });

  it(`runs ${ADAM_KERNEL} once per variable where the backend registers it, tfjs's chain elsewhere`, async () => {
    const { vars, loss, dispose } = setup(2);
    const opt = adam(0.01);
    const grads = tf.variableGrads(loss, vars);
    const profile = await tf.profile(() => opt.applyGradients(grads.grads as Parameters<typeof opt.applyGradients>[0]));
    const fusedCalls = profile.kernels.filter((k) => k.name === ADAM_KERNEL).length;
    expect(fusedCalls).toBe(backend === 'wasm' ? vars.length : 0);
    tf.dispose([grads.value, ...Object.values(grads.grads)]);
    opt.dispose();
    dispose();
  });

  it('a step leaves no tensor behind once its slots exist', async () => {
    const { vars, loss, dispose } = setup(3);
    const opt = adam(0.01);
    opt.minimize(loss, false, vars);
    await expectNoLeaks(() => {
      opt.minimize(loss, false, vars);
    });
    opt.dispose();
    dispose();
  });
});

it('is a tfjs AdamOptimizer; bad arguments are InvalidArgumentErrors naming them', () => {
  const opt = adam(0.1);
  expect(opt).toBeInstanceOf(tf.AdamOptimizer);
  expect(opt).toBeInstanceOf(FusedAdamOptimizer);
  expect(opt.getClassName()).toBe('Adam');
  opt.dispose();
  expect(() => adam(NaN)).toThrow(/adam: 'learningRate'/);
  expect(() => adam(-1)).toThrow(InvalidArgumentError);
  expect(() => adam(0.1, 1)).toThrow(/adam: 'beta1'/);
  expect(() => adam(0.1, 0.9, -0.1)).toThrow(/adam: 'beta2'/);
  expect(() => adam(0.1, 0.9, 0.999, 0)).toThrow(/adam: 'epsilon'/);
});
