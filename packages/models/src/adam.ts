/**
 * Adam with a fused update where the active backend has one: tfjs's `AdamOptimizer` (same state, same
 * `getWeights` / `setWeights` slots, so checkpoints and @detkit/models' `optimizerState` are unchanged) whose
 * `applyGradients` runs @detkit/core's `ADAM_KERNEL` once per variable where it is registered (wasm, by
 * @detkit/backends) instead of about fourteen element-wise kernels. The kernel does tfjs's operations in
 * tfjs's order in float32, so both paths give the same bits.
 */
import { ADAM_KERNEL, InvalidArgumentError, tf } from '@detkit/core';

/** tfjs 4.22's private `AdamOptimizer` fields the fused step reads and updates. */
interface AdamInternals {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  accumulatedSecondMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  incrementIterations(): void;
}

/** tfjs's Adam, with {@link ADAM_KERNEL}'s fused update on backends that register it. Made by {@link adam}. */
export class FusedAdamOptimizer extends tf.AdamOptimizer {
  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    if (tf.getKernel(ADAM_KERNEL, tf.getBackend()) === undefined) {
      super.applyGradients(variableGradients);
      return;
    }
    const self = this as unknown as AdamInternals;
    const named = Array.isArray(variableGradients) ? variableGradients : Object.entries(variableGradients).map(([name, tensor]) => ({ name, tensor }));
    // 1 - beta^t as tfjs's `sub(1, accBeta)` rounds it: both are float32, so the float64 difference rounded once is the same.
    const [accBeta1, accBeta2] = [self.accBeta1.dataSync()[0]!, self.accBeta2.dataSync()[0]!];
    const attrs = {
      beta1: self.beta1,
      beta2: self.beta2,
      oneMinusBeta1: 1 - self.beta1,
      oneMinusBeta2: 1 - self.beta2,
      oneMinusAccBeta1: Math.fround(1 - accBeta1),
      oneMinusAccBeta2: Math.fround(1 - accBeta2),
      epsilon: self.epsilon,
      negLearningRate: -self.learningRate,
    };
    tf.tidy(() => {
      named.forEach(({ name, tensor: gradient }, i) => {
        const value = tf.engine().registeredVariables[name];
        if (value === undefined) throw new InvalidArgumentError('FusedAdamOptimizer.applyGradients', 'variableGradients', `names no registered variable: '${name}'`);
        self.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        self.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        if (gradient == null) return;
        const m = self.accumulatedFirstMoment[i]!.variable;
        const v = self.accumulatedSecondMoment[i]!.variable;
        const [newValue, newM, newV] = tf.engine().runKernel(ADAM_KERNEL, { value, m, v, gradient }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        m.assign(newM!);
        v.assign(newV!);
        value.assign(newValue!);
      });
      self.accBeta1.assign(tf.mul(self.accBeta1, self.beta1));
      self.accBeta2.assign(tf.mul(self.accBeta2, self.beta2));
    });
    self.incrementIterations();
  }
}

/**
 * Adam (Kingma & Ba 2015), as `tf.train.adam(learningRate, beta1, beta2, epsilon)` with the same defaults and
 * state, but one fused kernel per variable and step on backends that register @detkit/core's `ADAM_KERNEL`
 * (wasm, with @detkit/backends): the same bits as tfjs's Adam, fewer kernel calls.
 *
 * @param learningRate - Step size, finite and >= 0.
 * @param beta1 - Decay of the first moment (default 0.9).
 * @param beta2 - Decay of the second moment (default 0.999).
 * @param epsilon - Added to the root of the second moment (default: the backend's epsilon, as tfjs).
 */
export function adam(learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon?: number): FusedAdamOptimizer {
  if (!Number.isFinite(learningRate) || learningRate < 0) throw new InvalidArgumentError('adam', 'learningRate', `must be a finite number >= 0, got ${learningRate}`);
  for (const [name, beta] of [['beta1', beta1], ['beta2', beta2]] as const) {
    if (!(beta >= 0 && beta < 1)) throw new InvalidArgumentError('adam', name, `must be in [0, 1), got ${beta}`);
  }
  if (epsilon !== undefined && !(epsilon > 0 && Number.isFinite(epsilon))) throw new InvalidArgumentError('adam', 'epsilon', `must be a finite number > 0, got ${epsilon}`);
  return new FusedAdamOptimizer(learningRate, beta1, beta2, epsilon);
}
