import { InvalidArgumentError, ShapeError, numberOption, tf, type TensorInput } from '@detkit/core';
import { assertShapeEquals, divByCount, floatInput, labelsInput, reductionOption, weightedSum, type DetectionLoss, type Reduction } from './internal';
import { smoothL1Rows } from './smooth-l1-loss';
import { softmaxCrossEntropyRows } from './softmax-xent';

/**
 * How the Fast R-CNN loss normalises (`reduction: 'mean'`); both divide the classification sum by the
 * number of RoIs not ignored:
 *
 * - `'torchvision'`: regression / the same count; lambda 1, beta 1/9 (`roi_heads.fastrcnn_loss`).
 * - `'walk-through'`: regression / the number of positive RoIs; lambda 10, beta 1 (the Faster R-CNN
 *   walk-through's `roi_loss`).
 */
export type FastRcnnNormalization = 'torchvision' | 'walk-through';

/**
 * Default weight of the regression term (lambda) and smooth L1 beta of each {@link FastRcnnNormalization}:
 * torchvision's `fastrcnn_loss` (1, 1/9), the walk-through's `roi_loss` (10, 1).
 */
export const FAST_RCNN_LOSS_WEIGHTS: Readonly<Record<FastRcnnNormalization, Readonly<{ lambda: number; beta: number }>>> = Object.freeze({
  torchvision: Object.freeze({ lambda: 1, beta: 1 / 9 }),
  'walk-through': Object.freeze({ lambda: 10, beta: 1 }),
});

/** Options of {@link fastRcnnLoss}. */
export interface FastRcnnLossOptions {
  /** Default `'torchvision'`. */
  normalization?: FastRcnnNormalization;
  /** Weight of the regression term. Default 1 (`'torchvision'`) or 10 (`'walk-through'`). */
  lambda?: number;
  /** Smooth L1 beta. Default 1/9 (`'torchvision'`) or 1 (`'walk-through'`). */
  beta?: number;
  /** `'mean'` (default): the normalisation above; `'sum'`: raw sums; `'none'`: per RoI ([N] each). */
  reduction?: Reduction;
}

/**
 * The Fast R-CNN loss (Girshick 2015, eq. 1), as the box head of Faster R-CNN uses it: softmax
 * cross-entropy over the K classes (0 = background) plus lambda times smooth L1 on the class-specific
 * deltas of the RoI's true class, for positive RoIs only. With `'torchvision'` (the default) it matches
 * torchvision's `fastrcnn_loss(class_logits, box_regression, labels, regression_targets)`
 * (`classification`, `regression` = its classification_loss, box_loss).
 *
 * Labels -1 mark RoIs to ignore (not in torchvision, whose sampler drops them); they count nowhere.
 * Nothing to count gives 0, not NaN.
 *
 * @param classLogits - Tensor[N, K] float32, K = classes + 1 (background).
 * @param boxRegression - Tensor[N, 4K] float32, (dx, dy, dw, dh) per class, class-major as torchvision's
 *   box predictor outputs them.
 * @param labels - Tensor[N] int32 in [0, K) (0 background), or -1. Not differentiated.
 * @param regressionTargets - Tensor[N, 4] float32 encoded matched boxes (weights 10, 10, 5, 5 in
 *   torchvision), finite everywhere, used where labels > 0. A constant: not differentiated.
 * @returns `{ total, classification, regression }`, total = classification + lambda x regression.
 */
export function fastRcnnLoss(
  classLogits: TensorInput,
  boxRegression: TensorInput,
  labels: TensorInput,
  regressionTargets: TensorInput,
  options: FastRcnnLossOptions = {},
): DetectionLoss {
  const op = 'fastRcnnLoss';
  const normalization = options.normalization ?? 'torchvision';
  if (normalization !== 'torchvision' && normalization !== 'walk-through') {
    throw new InvalidArgumentError(op, 'normalization', `must be 'torchvision' or 'walk-through', got ${JSON.stringify(normalization)}`);
  }
  const lambda = numberOption(op, 'lambda', options.lambda, { default: FAST_RCNN_LOSS_WEIGHTS[normalization].lambda, min: 0 });
  const beta = numberOption(op, 'beta', options.beta, { default: FAST_RCNN_LOSS_WEIGHTS[normalization].beta, min: 0 });
  const reduction = reductionOption(op, options.reduction, 'mean');
  return tf.tidy(() => {
    const logits = floatInput(op, 'classLogits', classLogits);
    // K >= 2: the background and at least one object class (tf.oneHot needs a depth of 2 or more).
    if (logits.rank !== 2 || (logits.shape[1] as number) < 2) throw new ShapeError(op, 'classLogits', '[N, K] with K >= 2', logits.shape);
    const [n, k] = logits.shape as [number, number];
    const deltas = floatInput(op, 'boxRegression', boxRegression);
    assertShapeEquals(op, 'boxRegression', deltas, [n, 4 * k], '4 deltas per class of classLogits');
    const y = labelsInput(op, 'labels', labels, k, -1);
    assertShapeEquals(op, 'labels', y, [n], 'one per row of classLogits');
    const targets = floatInput(op, 'regressionTargets', regressionTargets);
    assertShapeEquals(op, 'regressionTargets', targets, [n, 4], 'one box per row of classLogits');

    const classification = softmaxCrossEntropyRows(logits, y, -1);
    const positive = tf.step(tf.cast(y, 'float32')); // [N], 1 for labels > 0 (a fresh float32 array: see ownBacking)
    // The deltas of each RoI's own class: a one-hot mask over the K sets (zero for non-positives), so the
    // gradient reaches only those 4 of the 4K outputs.
    const pick = tf.mul(tf.oneHot(tf.relu(y), k), tf.expandDims(positive, 1)); // [N, K]
    // No RoIs: tfjs-backend-wasm 4.22's Sum over an axis of an empty [0, K, 4] tensor divides by zero.
    const picked = n === 0 ? tf.reshape(deltas, [0, 4]) : tf.sum(tf.mul(tf.reshape(deltas, [n, k, 4]), tf.expandDims(pick, 2)), 1); // [N, 4]
    const regression = smoothL1Rows(picked, targets, beta, positive, { targetGrad: false });
    if (reduction === 'none') return { total: tf.add(classification, tf.mul(lambda, regression)), classification, regression };

    let cls = weightedSum(classification, null);
    let reg = weightedSum(regression, null);
    if (reduction === 'mean') {
      const counted = tf.sum(tf.cast(tf.greaterEqual(y, 0), 'float32'));
      cls = divByCount(cls, counted);
      reg = divByCount(reg, normalization === 'torchvision' ? counted : tf.sum(positive));
    }
    return { total: tf.add(cls, tf.mul(lambda, reg)), classification: cls, regression: reg };
  });
}
