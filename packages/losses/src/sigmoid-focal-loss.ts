import { InvalidArgumentError, ShapeError, tf, type TensorInput } from '@detkit/core';
import { bceWithLogitsElementwise } from './binary-cross-entropy-with-logits';
import { floatInput, numberOption, reduce, reductionOption, type Reduction } from './internal';

/** Options of {@link sigmoidFocalLoss}. */
export interface SigmoidFocalLossOptions {
  /** Weight of the positive class in [0, 1]; negatives get 1 - alpha. A negative value turns weighting off. Default 0.25. */
  alpha?: number;
  /** Focusing exponent gamma >= 0 of the modulating factor (1 - p_t)^gamma; 0 gives plain BCE. Default 2. */
  gamma?: number;
  /** Default `'none'`, as torchvision. */
  reduction?: Reduction;
}

/**
 * Focal loss of RetinaNet (Lin et al. 2017, "Focal Loss for Dense Object Detection", eq. 5) on logits;
 * matches `torchvision.ops.sigmoid_focal_loss(inputs, targets, alpha, gamma, reduction)`, values and
 * gradients: `alpha_t (1 - p_t)^gamma BCE(x, t)`, p = sigmoid(x), p_t = p t + (1 - p)(1 - t),
 * alpha_t = alpha t + (1 - alpha)(1 - t).
 *
 * @param logits - Tensor[...] float32, any shape (e.g. [N, anchors, classes] without a background column).
 * @param targets - Tensor of the same shape, float32 binary labels (1 for the true class). Differentiable.
 * @returns `'none'`: Tensor[...] elementwise; `'sum'`, `'mean'`: a scalar (the mean of an empty input is 0).
 *   RetinaNet divides the `'sum'` by the number of foreground anchors.
 */
export function sigmoidFocalLoss(logits: TensorInput, targets: TensorInput, options: SigmoidFocalLossOptions = {}): tf.Tensor {
  const op = 'sigmoidFocalLoss';
  const alpha = options.alpha ?? 0.25;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha > 1) {
    throw new InvalidArgumentError(op, 'alpha', `must be a number <= 1 (negative turns weighting off), got ${String(alpha)}`);
  }
  const gamma = numberOption(op, 'gamma', options.gamma, 2, 0);
  const reduction = reductionOption(op, options.reduction, 'none');
  return tf.tidy(() => {
    const x = floatInput(op, 'logits', logits);
    const t = floatInput(op, 'targets', targets);
    if (!tf.util.arraysEqual(x.shape, t.shape)) throw new ShapeError(op, 'targets', `[${x.shape.join(', ')}] (the shape of logits)`, t.shape);
    const p = tf.sigmoid(x);
    const ce = bceWithLogitsElementwise(x, t);
    const oneMinusT = tf.sub(1, t);
    const pt = tf.add(tf.mul(p, t), tf.mul(tf.sub(1, p), oneMinusT));
    const base = tf.sub(1, pt);
    // (1 - p_t)^gamma; the common exponents avoid tf.pow, whose gradient at base 0 is 0 * inf = NaN for
    // gamma = 0 (torch's pow special-cases a zero exponent).
    const factor = gamma === 0 ? null : gamma === 1 ? base : gamma === 2 ? tf.square(base) : tf.pow(base, gamma);
    let loss = factor === null ? ce : tf.mul(ce, factor);
    if (alpha >= 0) loss = tf.mul(tf.add(tf.mul(alpha, t), tf.mul(1 - alpha, oneMinusT)), loss);
    return reduce(loss, reduction);
  });
}
