import { tf } from '@detkit/core';

/** A named tensor, as tfjs optimizers' getWeights / setWeights take them. */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

/** The optimizers the trainer offers. */
export type OptimizerName = 'adam' | 'sgd';

/** Creates tfjs's Adam (Kingma & Ba 2015, default betas) or SGD with momentum. */
export function createOptimizer(name: OptimizerName, lr: number, momentum: number): tf.Optimizer {
  return name === 'adam' ? tf.train.adam(lr) : tf.train.momentum(lr, momentum);
}

/** Sets the learning rate of the next step (tfjs's optimizers have no common setter). */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  // SGD and momentum have setLearningRate (it also rebuilds their cached -lr scalar); Adam reads the field.
  // (tfjs's Optimizer[Symbol.hasInstance] makes every optimizer `instanceof SGDOptimizer`: test the method.)
  const sgd = optimizer as unknown as { setLearningRate?: (lr: number) => void };
  if (typeof sgd.setLearningRate === 'function') sgd.setLearningRate(lr);
  else (optimizer as unknown as { learningRate: number }).learningRate = lr;
}

/** Adam's running beta powers (private in tfjs). */
interface AdamInternals {
  accBeta1?: tf.Variable;
  accBeta2?: tf.Variable;
}

const ACC_BETA = ['accBeta1', 'accBeta2'] as const;

/**
 * The optimizer's state as named tensors: tfjs's `getWeights()` (iterations, then the slots in variable
 * order), plus Adam's running beta powers. tfjs's `setWeights` recomputes those as beta^(t + 1), which
 * differs in the last bits from the product it accumulates step by step, so a resumed run would drift
 * from an uninterrupted one; they are saved as they are. The caller disposes nothing: the tensors are the
 * optimizer's own, except the copies made here, which `encodeWeights` reads before they are disposed.
 */
export async function optimizerState(optimizer: tf.Optimizer): Promise<{ named: NamedTensor[]; owned: tf.Tensor[] }> {
  const named = await optimizer.getWeights();
  const owned: tf.Tensor[] = [named[0]!.tensor]; // the iterations scalar is a fresh tensor
  const adam = optimizer as unknown as AdamInternals;
  for (const key of ACC_BETA) {
    const v = adam[key];
    if (v) {
      const copy = tf.clone(v);
      owned.push(copy);
      named.push({ name: `__${key}`, tensor: copy });
    }
  }
  return { named, owned };
}

/** Restores a state saved by {@link optimizerState}. */
export async function restoreOptimizerState(optimizer: tf.Optimizer, named: NamedTensor[]): Promise<void> {
  const extra = named.filter((n) => n.name.startsWith('__'));
  await optimizer.setWeights(named.filter((n) => !n.name.startsWith('__')));
  const adam = optimizer as unknown as AdamInternals;
  for (const { name, tensor } of extra) {
    const key = name.slice(2) as (typeof ACC_BETA)[number];
    if (ACC_BETA.includes(key) && adam[key]) adam[key].assign(tensor);
  }
}
