import { tf } from '@detkit/core';
import { adam } from '@detkit/models';

/** The optimizers the trainer offers. */
export type OptimizerName = 'adam' | 'sgd';

/**
 * Creates Adam (Kingma & Ba 2015, default betas: @detkit/models' `adam`, tfjs's Adam with a fused update on
 * wasm) or tfjs's SGD with momentum.
 */
export function createOptimizer(name: OptimizerName, lr: number, momentum: number): tf.Optimizer {
  return name === 'adam' ? adam(lr) : tf.train.momentum(lr, momentum);
}
