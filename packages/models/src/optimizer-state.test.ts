// Optimizer state: a run interrupted after k steps, its optimizer saved and restored into a fresh one,
// continues bit for bit as the uninterrupted run does (Adam and momentum), through tf.io's encoding too.
import { InvalidArgumentError, tf } from '@detkit/core';
import { describeEachBackend, expectNoLeaks } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import { adam, disposeOptimizer, optimizerState, restoreOptimizerState, setLearningRate, type NamedTensor } from './index';

const INITIAL = [
  [0.3, -1.2, 2.5, 0.01],
  [-0.7, 0.05],
];
const TARGET = [
  [1, 0.5, -2, 3],
  [0.25, -4],
];

/** Two variables under a loss whose gradients change every step (a quartic and a product term). */
function makeVariables(values: number[][]): tf.Variable[] {
  return tf.tidy(() => values.map((v) => tf.variable(tf.tensor1d(v))));
}

function step(optimizer: tf.Optimizer, vars: tf.Variable[]): void {
  const loss = optimizer.minimize(
    () =>
      tf.tidy(() => {
        const [a, b] = vars as [tf.Variable, tf.Variable];
        const da = tf.sub(a, TARGET[0]!);
        const quartic = tf.sum(tf.pow(da, 4));
        const product = tf.mul(tf.sum(tf.square(tf.sub(b, TARGET[1]!))), tf.mean(tf.abs(a)));
        return tf.add(quartic, product) as tf.Scalar;
      }),
    false,
    vars,
  );
  loss?.dispose();
}

const values = (vars: tf.Variable[]) => vars.map((v) => Array.from(v.dataSync()));

/** Round trip through tf.io's weight encoding, as a checkpoint on disk would be; disposes `state`. */
async function throughBytes(state: NamedTensor[]): Promise<NamedTensor[]> {
  const { data, specs } = await tf.io.encodeWeights(state);
  tf.dispose(state.map((s) => s.tensor));
  const decoded = tf.io.decodeWeights(data, specs);
  return specs.map((s) => ({ name: s.name, tensor: decoded[s.name]! }));
}

/**
 * Steps after which tfjs's setWeights (beta^(t + 1) by pow) and Adam's running product of the betas differ
 * in float32 (t = 2, 5, 8, 11, ... on cpu and wasm): restoring at such a step shows the beta powers matter.
 */
const K = 8;

const kinds: Array<[string, () => tf.Optimizer]> = [
  ['Adam', () => tf.train.adam(0.05)],
  ["detkit's adam (fused on wasm)", () => adam(0.05)],
  ['momentum', () => tf.train.momentum(0.01, 0.9)],
  ['Nesterov momentum', () => tf.train.momentum(0.01, 0.9, true)],
  ['SGD', () => tf.train.sgd(0.01)],
];

describeEachBackend('optimizer state', () => {
  for (const [kind, make] of kinds) {
    it(`${kind}: save after k steps, restore into a fresh optimizer, the next steps are bit-identical`, async () => {
      const k = K, more = 9;
      const a = makeVariables(INITIAL);
      const optA = make();
      for (let i = 0; i < k; i++) step(optA, a);
      const saved = await throughBytes(await optimizerState(optA));
      expect(saved[0]!.name).toBe('iter');
      expect(Array.from(saved[0]!.tensor.dataSync())).toEqual([k]);
      const b = makeVariables(values(a));
      const optB = make();
      await restoreOptimizerState(optB, saved);
      tf.dispose(saved.map((s) => s.tensor));
      for (let i = 0; i < more; i++) {
        step(optA, a);
        step(optB, b);
        expect(values(b), `step ${k + i + 1}`).toEqual(values(a));
      }
      expect(optB.iterations).toBe(optA.iterations);
      [optA, optB].forEach((o) => o.dispose());
      tf.dispose([...a, ...b]);
    });

    it(`${kind}: saving and restoring leave no tensor behind; restoring replaces the slots an optimizer had`, async () => {
      const vars = makeVariables(INITIAL);
      const source = make();
      const target = make();
      for (let i = 0; i < 3; i++) step(source, vars);
      step(target, vars);
      await expectNoLeaks(async () => {
        const state = await optimizerState(source);
        await restoreOptimizerState(target, state);
        tf.dispose(state.map((s) => s.tensor));
      });
      expect(target.iterations).toBe(3);
      [source, target].forEach((o) => o.dispose());
      tf.dispose(vars);
    });
  }

  it("Adam's beta powers are saved: tfjs's setWeights alone recomputes them with other rounding", async () => {
    await expectNoLeaks(async () => {
      const opt = tf.train.adam(0.05);
      const vars = makeVariables(INITIAL);
      for (let i = 0; i < K; i++) step(opt, vars);
      const state = await optimizerState(opt);
      expect(state.map((s) => s.name).filter((n) => n.startsWith('__'))).toEqual(['__accBeta1', '__accBeta2']);
      const internals = opt as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable };
      const exact = [internals.accBeta1.dataSync()[0], internals.accBeta2.dataSync()[0]];
      // What tfjs's setWeights alone would leave (beta^(t + 1) by Math.pow in float32)...
      const fresh = tf.train.adam(0.05);
      await fresh.setWeights(state.filter((s) => !s.name.startsWith('__')));
      const recomputed = [(fresh as unknown as typeof internals).accBeta1.dataSync()[0], (fresh as unknown as typeof internals).accBeta2.dataSync()[0]];
      expect(recomputed).not.toEqual(exact);
      // ...and what restoreOptimizerState leaves, into an optimizer that already had slots (replaced, not leaked).
      await restoreOptimizerState(fresh, state);
      expect([(fresh as unknown as typeof internals).accBeta1.dataSync()[0], (fresh as unknown as typeof internals).accBeta2.dataSync()[0]]).toEqual(exact);
      tf.dispose(state.map((s) => s.tensor));
      [opt, fresh].forEach((o) => o.dispose());
      tf.dispose(vars);
    });
  });

  it('the state is a snapshot: later steps do not change it', async () => {
    const opt = tf.train.adam(0.01);
    const vars = makeVariables(INITIAL);
    step(opt, vars);
    const state = await optimizerState(opt);
    const before = state.map((s) => Array.from(s.tensor.dataSync()));
    step(opt, vars);
    expect(state.map((s) => Array.from(s.tensor.dataSync()))).toEqual(before);
    tf.dispose(state.map((s) => s.tensor));
    opt.dispose();
    tf.dispose(vars);
  });

  it('setLearningRate sets the next step\'s rate of SGD, momentum and Adam', () => {
    for (const [kind, make] of kinds) {
      const opt = make();
      setLearningRate(opt, 0);
      const vars = makeVariables(INITIAL);
      step(opt, vars);
      expect(values(vars), kind).toEqual(values(makeVariables(INITIAL)));
      setLearningRate(opt, 0.01);
      step(opt, vars);
      expect(values(vars), kind).not.toEqual(INITIAL.map((v) => Array.from(Float32Array.from(v))));
      opt.dispose();
      tf.dispose(vars);
    }
  });

  it('disposeOptimizer frees every tensor an optimizer holds (tfjs 4.22 momentum dispose() leaks one)', () => {
    for (const [kind, make] of kinds) {
      const vars = makeVariables(INITIAL);
      const before = tf.memory().numTensors;
      const opt = make();
      step(opt, vars);
      step(opt, vars);
      disposeOptimizer(opt);
      expect(tf.memory().numTensors, kind).toBe(before);
      tf.dispose(vars);
    }
    // The tfjs bug worked around: MomentumOptimizer.dispose() keeps SGDOptimizer's learning-rate scalar.
    const vars = makeVariables(INITIAL);
    const before = tf.memory().numTensors;
    const momentum = tf.train.momentum(0.1, 0.9);
    step(momentum, vars);
    momentum.dispose();
    expect(tf.memory().numTensors).toBe(before + 1);
    tf.dispose((momentum as unknown as { c: tf.Tensor }).c);
    tf.dispose(vars);
    expect(() => disposeOptimizer(undefined as unknown as tf.Optimizer)).toThrow(/disposeOptimizer: 'optimizer'/);
  });

  it('bad arguments are InvalidArgumentErrors naming them', async () => {
    const adam = tf.train.adam(0.1);
    const sgd = tf.train.sgd(0.1);
    expect(() => setLearningRate(adam, NaN)).toThrow(/setLearningRate: 'lr'/);
    expect(() => setLearningRate(adam, -1)).toThrow(InvalidArgumentError);
    expect(() => setLearningRate({} as tf.Optimizer, 0.1)).toThrow(/'optimizer'/);
    await expect(optimizerState(null as unknown as tf.Optimizer)).rejects.toThrow(/optimizerState: 'optimizer'/);
    await expect(restoreOptimizerState(sgd, [{ name: 'iter' }] as unknown as NamedTensor[])).rejects.toThrow(/restoreOptimizerState: 'state'/);
    // Adam's beta powers into SGD: another kind of optimizer.
    const vars = makeVariables(INITIAL);
    step(adam, vars);
    const state = await optimizerState(adam);
    const betas = [state[0]!, ...state.filter((s) => s.name.startsWith('__'))];
    const error = await restoreOptimizerState(sgd, betas).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).argument).toBe('state');
    tf.dispose(state.map((s) => s.tensor));
    [adam, sgd].forEach((o) => o.dispose());
    tf.dispose(vars);
  });
});
