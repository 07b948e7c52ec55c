import { InvalidArgumentError, ShapeError, numberOption, tf, type TensorInput } from '@detkit/core';
import { bceWithLogitsElementwise } from './binary-cross-entropy-with-logits';
import { floatInput, reduce, reductionOption, type Reduction } from './internal';

/**
 * max(base, 0)^gamma for a constant gamma > 0, with the gradient gamma base^(gamma - 1) taken as 0 at
 * base <= 0. base = 1 - p_t is >= 0 for targets in [0, 1] but float32 rounding can leave it at -1e-7, and
 * targets outside [0, 1] make it negative: a negative base to a fractional gamma is NaN in torch. For 0 < gamma < 1 the true derivative there is infinite, and torch's (and tf.pow's) chain
 * rule multiplies it by the zero derivative of base = 1 - p_t at a saturated logit (p_t = 1 in float32,
 * e.g. a logit of 100 with target 1): inf x 0 = NaN. The focal loss itself, BCE x base^gamma, has
 * derivative 0 there (both factors vanish), which this gives. No gradient flows to gamma.
 */
const modulatingPow = tf.customGrad((...args) => {
  const [base, gamma, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([base, gamma]);
  return {
    value: tf.pow(tf.relu(base), gamma),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [b, g] = saved as [tf.Tensor, tf.Tensor];
      const positive = tf.step(b); // 1 where base > 0 (step(0) = 0)
      const safe = tf.add(b, tf.sub(1, positive));
      const d = tf.mul(positive, tf.mul(g, tf.pow(safe, tf.sub(g, 1))));
      return [tf.mul(dy, d), tf.zerosLike(g)];
    },
  };
});

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
 * Deliberate differences, both where torchvision gives NaN: for 0 < gamma < 1 its gradient is NaN where a
 * logit saturates (p_t = 1 in float32, e.g. logit 100 with target 1, or -100 with target 0: its pow
 * gradient is infinite and is multiplied by 0); here it is 0 there, the limit of the true gradient. For a
 * non-integer gamma, 1 - p_t below 0 (float32 rounding, or targets outside [0, 1]) counts as 0 where
 * torchvision's pow gives NaN. Values are torchvision's everywhere else.
 *
 * @param targets - Tensor of the same shape, float32 labels in [0, 1] (1 for the true class). Differentiable.
 * @returns `'none'`: Tensor[...] elementwise; `'sum'`, `'mean'`: a scalar (the mean of an empty input is 0).
 *   RetinaNet divides the `'sum'` by the number of foreground anchors.
 */
export function sigmoidFocalLoss(logits: TensorInput, targets: TensorInput, options: SigmoidFocalLossOptions = {}): tf.Tensor {
  const op = 'sigmoidFocalLoss';
  const alpha = options.alpha ?? 0.25;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha > 1) {
    throw new InvalidArgumentError(op, 'alpha', `must be a number <= 1 (negative turns weighting off), got ${String(alpha)}`);
  }
  const gamma = numberOption(op, 'gamma', options.gamma, { default: 2, min: 0 });
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
    // gamma = 0 (torch's pow special-cases a zero exponent); other exponents use modulatingPow.
    const factor = gamma === 0 ? null : gamma === 1 ? base : gamma === 2 ? tf.square(base) : modulatingPow(base, tf.scalar(gamma));
    let loss = factor === null ? ce : tf.mul(ce, factor);
    if (alpha >= 0) loss = tf.mul(tf.add(tf.mul(alpha, t), tf.mul(1 - alpha, oneMinusT)), loss);
    return reduce(loss, reduction);
  });
}
