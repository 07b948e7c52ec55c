import { InvalidArgumentError, ShapeError, integerOption, numberOption, tf, type TensorInput } from '@detkit/core';
import { mineHardNegatives, SSD_NEG_POS_RATIO } from '@detkit/samplers';
import { assertShapeEquals, floatInput, labelsInput, reductionOption, weightedSum, type DetectionLoss, type Reduction } from './internal';
import { smoothL1Rows } from './smooth-l1-loss';
import { softmaxCrossEntropyRows } from './softmax-xent';

/** Default weight of the localisation term (alpha) and smooth L1 beta of the MultiBox loss: 1 and 1 (Liu et al. 2016; torchvision's SSD). */
export const MULTIBOX_LOSS_WEIGHTS: Readonly<{ alpha: number; beta: number }> = Object.freeze({ alpha: 1, beta: 1 });

/** Options of {@link multiboxLoss}. */
export interface MultiboxLossOptions {
  /**
   * Hard negatives kept per positive, per image: ceil(negPosRatio x positives), as torchvision. Default
   * `SSD_NEG_POS_RATIO` of @detkit/samplers, 3 (Liu et al. 2016: at most 3:1).
   */
  negPosRatio?: number;
  /** Hard negatives kept at least, per image, even without positives. Default 0, as torchvision. */
  minNegatives?: number;
  /** Weight alpha of the localisation term in `total`. Default 1. */
  alpha?: number;
  /** Smooth L1 beta of the localisation term. Default 1, as SSD and torchvision. */
  beta?: number;
  /**
   * `'mean'` (default): both terms divided by the number of positives N in the batch (the paper's 1/N;
   * zero positives give 0); `'sum'`: undivided sums; `'none'`: per prior, Tensor[B, P] each
   * (classification where selected, localisation where positive, 0 elsewhere).
   */
  reduction?: Reduction;
}

/**
 * The SSD MultiBox loss (Liu et al. 2016, "SSD: Single Shot MultiBox Detector", eq. 1):
 * (L_conf + alpha L_loc) / N, where L_conf is the softmax cross-entropy over the positive priors and the
 * hard negatives (per image, the background priors with the highest classification loss, negPosRatio per
 * positive, mined by @detkit/samplers' `mineHardNegatives`), L_loc the smooth L1 loss over the
 * positives' encoded boxes, N the number of positives in the batch. Matches torchvision's
 * `SSD.compute_loss` (torchvision/models/detection/ssd.py) given its matches: `classification` is its
 * "classification" and `regression` its "bbox_regression"; with zero positives both are 0 and the
 * gradients 0 (not NaN).
 *
 * Batched: the whole [B, P, C] batch is one fused softmax cross-entropy (see the README's speed notes).
 *
 * Deliberate differences: equal negative losses are mined lower prior index first (torch's sort order is
 * unspecified); when negPosRatio x positives exceeds an image's negatives, all negatives are taken and no
 * positive is counted twice (torchvision's ranking can then also pick positives as "negatives"); labels
 * < 0 are ignored priors (torchvision's SSD has none).
 *
 * @param clsLogits - Tensor[B, P, C] float32 class scores per prior, class 0 the background.
 * @param boxDeltas - Tensor[B, P, 4] float32 predicted (dx, dy, dw, dh) per prior.
 * @param labels - Tensor[B, P] int32 per prior: its matched ground truth's class in [1, C), 0 for
 *   background, -1 to ignore. Not differentiated.
 * @param boxTargets - Tensor[B, P, 4] float32 encoded matched boxes (`encodeBoxes(gt, priors, { weights:
 *   ROI_BOX_CODER_WEIGHTS })` from @detkit/boxes: SSD's variances 0.1, 0.2); used where labels > 0, finite
 *   everywhere (0 where there is no match). A constant: not differentiated.
 * @returns `{ total, classification, regression }`: scalars (`'mean'`, `'sum'`) or Tensor[B, P] (`'none'`).
 */
export function multiboxLoss(
  clsLogits: TensorInput,
  boxDeltas: TensorInput,
  labels: TensorInput,
  boxTargets: TensorInput,
  options: MultiboxLossOptions = {},
): DetectionLoss {
  const op = 'multiboxLoss';
  // Bounded as @detkit/samplers' mineHardNegatives bounds it, so a bad ratio is reported here, by name.
  const negPosRatio = numberOption(op, 'negPosRatio', options.negPosRatio, { default: SSD_NEG_POS_RATIO, min: 0, max: Number.MAX_SAFE_INTEGER });
  const minNegatives = integerOption(op, 'minNegatives', options.minNegatives, { default: 0, min: 0 });
  const alpha = numberOption(op, 'alpha', options.alpha, { default: MULTIBOX_LOSS_WEIGHTS.alpha, min: 0 });
  const beta = numberOption(op, 'beta', options.beta, { default: MULTIBOX_LOSS_WEIGHTS.beta, min: 0 });
  const reduction = reductionOption(op, options.reduction, 'mean');
  return tf.tidy(() => {
    const logits = floatInput(op, 'clsLogits', clsLogits);
    if (logits.rank !== 3) throw new ShapeError(op, 'clsLogits', '[B, P, C]', logits.shape);
    const [images, priors, classes] = logits.shape as [number, number, number];
    if (classes < 2) throw new InvalidArgumentError(op, 'clsLogits', `needs at least 2 classes (background and one object class), got ${classes}`);
    const deltas = floatInput(op, 'boxDeltas', boxDeltas);
    assertShapeEquals(op, 'boxDeltas', deltas, [images, priors, 4], 'B, P of clsLogits');
    const y = labelsInput(op, 'labels', labels, classes, -1);
    assertShapeEquals(op, 'labels', y, [images, priors], 'B, P of clsLogits');
    const targets = floatInput(op, 'boxTargets', boxTargets);
    assertShapeEquals(op, 'boxTargets', targets, [images, priors, 4], 'B, P of clsLogits');
    // clsLogits within ±1e15 (floatInput) keep the cross-entropy finite, so mining never sees an overflow.

    const clsLoss = softmaxCrossEntropyRows(logits, y, -1); // [B, P]
    const positive = tf.step(tf.cast(y, 'float32')); // [B, P], 1 for labels > 0 (a fresh float32 array: see ownBacking)
    // @detkit/samplers' mining (off the gradient tape): positives keep their label, mined negatives 0,
    // the rest -1; the selected priors are those >= 0.
    const selected = tf.cast(tf.greaterEqual(mineHardNegatives(clsLoss, y, { negPosRatio, minNegatives }), 0), 'float32');
    const regression = smoothL1Rows(deltas, targets, beta, positive, { targetGrad: false }); // [B, P]
    if (reduction === 'none') {
      const classification = tf.mul(clsLoss, selected);
      return { total: tf.add(classification, tf.mul(alpha, regression)), classification, regression };
    }
    let cls = weightedSum(clsLoss, selected);
    let reg = weightedSum(regression, null);
    if (reduction === 'mean') {
      const n = tf.maximum(tf.sum(positive), 1); // N = 0 gives 0 / 1 = 0, as torchvision's max(1, N)
      cls = tf.div(cls, n);
      reg = tf.div(reg, n);
    }
    return { total: tf.add(cls, tf.mul(alpha, reg)), classification: cls, regression: reg };
  });
}
