import { tf } from '@detkit/core';

/** The optimizers the trainer offers. */
export type OptimizerName = 'adam' | 'sgd';

/** Creates tfjs's Adam (Kingma & Ba 2015, default betas) or SGD with momentum. */
export function createOptimizer(name: OptimizerName, lr: number, momentum: number): tf.Optimizer {
  return name === 'adam' ? tf.train.adam(lr) : tf.train.momentum(lr, momentum);
}
