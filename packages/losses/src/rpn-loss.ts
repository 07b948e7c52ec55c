import { InvalidArgumentError, ShapeError, numberOption, tf, type TensorInput } from '@detkit/core';
import { bceWithLogitsElementwise } from './binary-cross-entropy-with-logits';
import { assertShapeEquals, divByCount, floatInput, labelsInput, reductionOption, weightedSum, type DetectionLoss, type Reduction } from './internal';
import { smoothL1Rows } from './smooth-l1-loss';
import { softmaxCrossEntropyRows } from './softmax-xent';

/**
 * How the RPN loss normalises its two sums (`reduction: 'mean'`):
 *
 * - `'torchvision'`: both divided by the number of sampled anchors (labels >= 0); lambda 1, beta 1/9
 *   (`RegionProposalNetwork.compute_loss`).
 * - `'paper'`: Ren et al. 2015, eq. 1: classification / N_cls + lambda x regression / N_reg with N_cls the
 *   mini-batch size (default: the sampled anchors, 256 per image with the standard sampler), N_reg the
 *   number of anchor locations (default: anchors / anchorsPerLocation, ~2,400 per image), lambda 10,
 *   beta 1. `nReg: 'positives'` divides by the positive anchors instead (the walk-through's choice).
 * - `'keras-frcnn'`: yhenon/keras-frcnn's `rpn_loss_cls` and `rpn_loss_regr`, lambda 1, beta 1, epsilon
 *   1e-4: classification / (sampled + eps x anchors), regression / (4 x positives + eps x 4 x anchors):
 *   its denominators sum (eps + flag) over every anchor (and, for regression, over the 4 coordinates of
 *   each), so the regression is a per-coordinate average over the positives.
 */
export type RpnNormalization = 'torchvision' | 'paper' | 'keras-frcnn';

/** Options of {@link rpnLoss}. */
export interface RpnLossOptions {
  /** Default `'torchvision'`. */
  normalization?: RpnNormalization;
  /** Weight of the regression term. Default 10 for `'paper'`, else 1. */
  lambda?: number;
  /** Smooth L1 beta. Default 1/9 for `'torchvision'`, else 1. */
  beta?: number;
  /** `'paper'` only: N_cls. Default: the number of sampled anchors (labels >= 0). */
  nCls?: number;
  /** `'paper'` only: N_reg, or `'positives'`. Default: the number of anchors / anchorsPerLocation. */
  nReg?: number | 'positives';
  /** `'paper'` only: anchors per feature-map location, for the default N_reg. Default 9. */
  anchorsPerLocation?: number;
  /** `'keras-frcnn'` only: its epsilon. Default 1e-4. */
  eps?: number;
  /** `'mean'` (default): the normalisation above; `'sum'`: raw sums; `'none'`: per anchor ([...A] each). */
  reduction?: Reduction;
}

/** Default keras-frcnn epsilon (keras_frcnn/losses.py). */
const KERAS_FRCNN_EPS = 1e-4;

/**
 * Default weight of the regression term (lambda) and smooth L1 beta of each {@link RpnNormalization}:
 * torchvision's `RegionProposalNetwork.compute_loss` (1, 1/9), the paper's eq. 1 (10, 1), keras-frcnn's (1, 1).
 */
export const RPN_LOSS_WEIGHTS: Readonly<Record<RpnNormalization, Readonly<{ lambda: number; beta: number }>>> = Object.freeze({
  torchvision: Object.freeze({ lambda: 1, beta: 1 / 9 }),
  paper: Object.freeze({ lambda: 10, beta: 1 }),
  'keras-frcnn': Object.freeze({ lambda: 1, beta: 1 }),
});

/**
 * The RPN loss of Faster R-CNN (Ren et al. 2015, eq. 1): objectness log loss over the sampled anchors
 * plus lambda times smooth L1 over the positive anchors' deltas, normalised as `normalization` says.
 * With `'torchvision'` (the default) it matches torchvision's `RegionProposalNetwork.compute_loss`
 * (objectness_loss = `classification`, box_loss = `regression`) given its sampled labels.
 *
 * Objectness is one sigmoid logit per anchor (torchvision; `objectness` shaped like `labels`) or a 2-way
 * softmax (the walk-through; `objectness` shaped [...A, 2], column 1 "object"); the shape says which.
 * No sampled anchors (or, for a division by positives, no positives) give 0, not NaN.
 *
 * @param objectness - Tensor[...A] (sigmoid) or Tensor[...A, 2] (softmax) float32 logits, e.g. [B, A].
 * @param boxDeltas - Tensor[...A, 4] float32 predicted (dx, dy, dw, dh).
 * @param labels - Tensor[...A] int32: 1 positive, 0 negative, -1 not sampled (ignored). Not differentiated.
 * @param boxTargets - Tensor[...A, 4] float32 encoded matched boxes (`encodeBoxes`, weights 1, 1, 1, 1),
 *   finite everywhere, used where labels are 1. A constant: not differentiated.
 * @returns `{ total, classification, regression }`, total = classification + lambda x regression.
 */
export function rpnLoss(objectness: TensorInput, boxDeltas: TensorInput, labels: TensorInput, boxTargets: TensorInput, options: RpnLossOptions = {}): DetectionLoss {
  const op = 'rpnLoss';
  const normalization = options.normalization ?? 'torchvision';
  if (normalization !== 'torchvision' && normalization !== 'paper' && normalization !== 'keras-frcnn') {
    throw new InvalidArgumentError(op, 'normalization', `must be 'torchvision', 'paper' or 'keras-frcnn', got ${JSON.stringify(normalization)}`);
  }
  const lambda = numberOption(op, 'lambda', options.lambda, { default: RPN_LOSS_WEIGHTS[normalization].lambda, min: 0 });
  const beta = numberOption(op, 'beta', options.beta, { default: RPN_LOSS_WEIGHTS[normalization].beta, min: 0 });
  const eps = numberOption(op, 'eps', options.eps, { default: KERAS_FRCNN_EPS, min: Number.MIN_VALUE });
  const anchorsPerLocation = numberOption(op, 'anchorsPerLocation', options.anchorsPerLocation, { default: 9, min: Number.MIN_VALUE });
  const nCls = options.nCls === undefined ? undefined : numberOption(op, 'nCls', options.nCls, { min: Number.MIN_VALUE });
  const nReg = options.nReg === undefined || options.nReg === 'positives' ? options.nReg : numberOption(op, 'nReg', options.nReg, { min: Number.MIN_VALUE });
  const reduction = reductionOption(op, options.reduction, 'mean');

  return tf.tidy(() => {
    const x = floatInput(op, 'objectness', objectness);
    const y = labelsInput(op, 'labels', labels, 2, -1);
    const shape = y.shape;
    const softmax = x.rank === shape.length + 1;
    if (softmax ? !tf.util.arraysEqual(x.shape, [...shape, 2]) : !tf.util.arraysEqual(x.shape, shape)) {
      throw new ShapeError(op, 'objectness', `[${shape.join(', ')}] (one logit per anchor) or [${[...shape, 2].join(', ')}] (2-way softmax)`, x.shape);
    }
    const deltas = floatInput(op, 'boxDeltas', boxDeltas);
    assertShapeEquals(op, 'boxDeltas', deltas, [...shape, 4], 'the shape of labels, then 4');
    const targets = floatInput(op, 'boxTargets', boxTargets);
    assertShapeEquals(op, 'boxTargets', targets, [...shape, 4], 'the shape of labels, then 4');

    // Masks from tf.step write fresh float32 arrays (see ownBacking); labels are -1, 0 or 1.
    const yf = tf.cast(y, 'float32');
    const sampled = tf.step(tf.add(yf, 1));
    const positive = tf.step(yf);
    const classification = softmax
      ? softmaxCrossEntropyRows(x, y, -1)
      : tf.mul(bceWithLogitsElementwise(x, positive), sampled);
    const regression = smoothL1Rows(deltas, targets, beta, positive, { targetGrad: false });
    if (reduction === 'none') return { total: tf.add(classification, tf.mul(lambda, regression)), classification, regression };

    let cls = weightedSum(classification, null);
    let reg = weightedSum(regression, null);
    if (reduction === 'mean') {
      const anchors = y.size;
      const numSampled = tf.sum(sampled);
      if (normalization === 'torchvision') {
        cls = divByCount(cls, numSampled);
        reg = divByCount(reg, numSampled);
      } else if (normalization === 'paper') {
        cls = nCls === undefined ? divByCount(cls, numSampled) : tf.div(cls, nCls);
        reg = nReg === 'positives' ? divByCount(reg, tf.sum(positive)) : tf.div(reg, nReg ?? (anchors === 0 ? 1 : anchors / anchorsPerLocation));
      } else {
        // A denominator below 1 means nothing was sampled (or no positive): the sum is 0 and so is the loss.
        cls = divByCount(cls, tf.add(numSampled, eps * anchors));
        reg = divByCount(reg, tf.add(tf.mul(4, tf.sum(positive)), eps * 4 * anchors));
      }
    }
    return { total: tf.add(cls, tf.mul(lambda, reg)), classification: cls, regression: reg };
  });
}
