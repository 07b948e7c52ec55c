import { ShapeError, tf, type TensorInput } from '@detkit/core';
import { floatInput, reduce, reductionOption, type Reduction } from './internal';

/** Options of {@link binaryCrossEntropyWithLogits}. */
export interface BinaryCrossEntropyWithLogitsOptions {
  /** Default `'mean'`, as torch. */
  reduction?: Reduction;
}

/**
 * Elementwise BCE with logits as a differentiable op, with torch's arithmetic and gradients: forward
 * `(1 - t) x + m + log(exp(-m) + exp(-x - m))`, m = max(-x, 0) (stable for any x); d/dx = sigmoid(x) - t,
 * d/dt = -x. Inputs are checked by the caller. Internal.
 */
export function bceWithLogitsElementwise(x: tf.Tensor, t: tf.Tensor): tf.Tensor {
  const op = tf.customGrad((...args) => {
    const [sx, st, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([sx, st]);
    const m = tf.relu(tf.neg(sx));
    const value = tf.add(tf.add(tf.mul(tf.sub(1, st), sx), m), tf.log(tf.add(tf.exp(tf.neg(m)), tf.exp(tf.sub(tf.neg(sx), m)))));
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [gx, gt] = saved as [tf.Tensor, tf.Tensor];
        return [tf.mul(tf.sub(tf.sigmoid(gx), gt), dy), tf.mul(tf.neg(gx), dy)];
      },
    };
  });
  return op(x, t);
}

/**
 * Binary cross-entropy on logits (sigmoid and log loss in one stable step); matches
 * `torch.nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction=reduction)`:
 * `-(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x)))`.
 *
 * @param logits - Tensor[...] float32, any shape.
 * @param targets - Tensor of the same shape, float32, usually 0 or 1 (soft targets in [0, 1] work).
 *   Differentiable, as in torch (d/dt = -x).
 * @returns `'none'`: Tensor[...] elementwise; `'sum'`, `'mean'`: a scalar (the mean of an empty input is 0).
 */
export function binaryCrossEntropyWithLogits(logits: TensorInput, targets: TensorInput, options: BinaryCrossEntropyWithLogitsOptions = {}): tf.Tensor {
  const op = 'binaryCrossEntropyWithLogits';
  const reduction = reductionOption(op, options.reduction, 'mean');
  return tf.tidy(() => {
    const x = floatInput(op, 'logits', logits);
    const t = floatInput(op, 'targets', targets);
    if (!tf.util.arraysEqual(x.shape, t.shape)) throw new ShapeError(op, 'targets', `[${x.shape.join(', ')}] (the shape of logits)`, t.shape);
    return reduce(bceWithLogitsElementwise(x, t), reduction);
  });
}
