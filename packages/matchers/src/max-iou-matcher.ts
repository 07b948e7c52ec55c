import { InvalidArgumentError, numberOption, runTypedArrayKernel, tf, valueChecksEnabled, type TensorInput, type TypedArrayKernel } from '@detkit/core';
import { POSITIVE_THRESHOLD, THRESHOLD, matrixShape, matchEachImage, optionsObject, qualityInput } from './internal';
import { MAX_IOU_MATCH_KERNEL } from './kernel-names';

/** What a matcher returns for one image: two separate Int32 tensors, one entry per anchor (or prior, or proposal). */
export interface MatchResult {
  /** Int32 [N]: the index of the ground-truth box each anchor is matched to, -1 where it has none. */
  matches: tf.Tensor1D;
  /** Int32 [N]: 1 positive, 0 negative (background), -1 ignored (contributes to no loss). */
  labels: tf.Tensor1D;
}

/** What a matcher returns for a batch of B images: {@link MatchResult}'s tensors with a leading batch axis. */
export interface BatchMatchResult {
  /** Int32 [B, N]: per image, the matched ground-truth box of each anchor (its row in that image), or -1. */
  matches: tf.Tensor2D;
  /** Int32 [B, N]: per image, 1 positive, 0 negative, -1 ignored. */
  labels: tf.Tensor2D;
}

/**
 * A configured matcher. It takes the IoU matrix of one image, Tensor[M, N] (float32, M ground-truth boxes
 * by N anchors, as `boxIou(gtBoxes, anchors)` from `@detkit/boxes` returns it), or of a batch,
 * Tensor[B, M, N], where images with fewer than M boxes are padded with rows of zeros (a zero row, a box
 * that overlaps nothing, changes no match).
 */
export interface Matcher {
  (iou: tf.Tensor2D | number[][]): MatchResult;
  (iou: tf.Tensor3D | number[][][]): BatchMatchResult;
  (iou: TensorInput): MatchResult | BatchMatchResult;
}

/** Options of {@link createMaxIouMatcher}. */
export interface MaxIouMatcherOptions {
  /** An anchor whose best IoU is >= this is positive, in (0, 1]. torchvision `Matcher(high_threshold)`. */
  highThreshold: number;
  /**
   * An anchor whose best IoU is < this is negative; between this and `highThreshold` it is ignored.
   * torchvision `Matcher(low_threshold)`; must be <= `highThreshold`.
   */
  lowThreshold: number;
  /**
   * Negatives are the anchors whose best IoU lies in [negativeMinIou, lowThreshold); below it they are
   * ignored too. Default 0: every anchor below `lowThreshold` is negative (torchvision). py-faster-rcnn's
   * RoI sampling uses 0.1 ({@link PY_FASTER_RCNN_BG_THRESH_LO}).
   */
  negativeMinIou?: number;
  /**
   * The highest-IoU rule (rule 1 of Ren et al. 2015, section 3.1.2): for each ground-truth box, every
   * anchor whose IoU with it equals its highest IoU (all ties kept) is also positive, matched to its own
   * best ground truth (as torchvision's `set_low_quality_matches_`). Default false.
   */
  allowLowQualityMatches?: boolean;
  /**
   * The highest-IoU rule applies to a ground-truth box only when its highest IoU is >= this (mmdetection's
   * `min_pos_iou`; its RPN configs use 0.3). Default 0. Independently of it, a box whose highest IoU is 0
   * (it overlaps no anchor) never takes part: torchvision would make every anchor it ties with, i.e. all
   * of them, positive.
   */
  minLowQualityIou?: number;
}

/** Faster R-CNN's RPN matcher (Ren et al. 2015; torchvision `rpn_fg_iou_thresh=0.7, rpn_bg_iou_thresh=0.3`). */
export const RPN_MATCHER_OPTIONS: Readonly<MaxIouMatcherOptions> = Object.freeze({
  highThreshold: 0.7,
  lowThreshold: 0.3,
  allowLowQualityMatches: true,
});

/**
 * Fast R-CNN's RoI matcher: foreground at IoU 0.5 or more, background below 0.5, no ignored band
 * (torchvision `box_fg_iou_thresh=0.5, box_bg_iou_thresh=0.5`). For py-faster-rcnn's background range
 * [0.1, 0.5) use `{ ...ROI_MATCHER_OPTIONS, negativeMinIou: PY_FASTER_RCNN_BG_THRESH_LO }`.
 */
export const ROI_MATCHER_OPTIONS: Readonly<MaxIouMatcherOptions> = Object.freeze({
  highThreshold: 0.5,
  lowThreshold: 0.5,
  negativeMinIou: 0,
});

/**
 * py-faster-rcnn's `BG_THRESH_LO`: RoIs whose best IoU is below 0.1 are not used as background, on the
 * heuristic that they are too easy to teach anything (Girshick 2015 mentions it as hard-example mining).
 */
export const PY_FASTER_RCNN_BG_THRESH_LO = 0.1;

const OP = 'maxIouMatcher';

interface MaxIouAttrs {
  high: number;
  low: number;
  negativeMin: number;
  lowQuality: boolean;
  minLowQuality: number;
  /** Whether to reject non-finite values (`valueChecksEnabled()` at the call). */
  checkValues: boolean;
}

/**
 * The whole matcher in one SIMD pass over each image's [M, N] matrix (plus a pass over the rows that take
 * part in the highest-IoU rule): `maxIouMatch` in assembly/index.ts, after a SIMD scan for non-finite
 * values. Thresholds are passed as float32: torch compares a float32 tensor with a Python float in
 * float32. Outputs are made only once the input has passed the check, so a throw leaves nothing behind.
 */
const maxIouMatchKernel: TypedArrayKernel<MaxIouAttrs> = {
  kernelName: MAX_IOU_MATCH_KERNEL,
  inputNames: ['iou'],
  compute([iou], { high, low, negativeMin, lowQuality, minLowQuality, checkValues }, ctx) {
    const { batch, m, n, outShape } = matrixShape(iou!.shape);
    const matches = new Int32Array(batch * n);
    const labels = new Int32Array(batch * n);
    if (m === 0) {
      // No ground truth: every anchor is background.
      matches.fill(-1);
    } else if (n > 0 && batch > 0) {
      matchEachImage(OP, ctx, iou!, { outputs: [matches, labels], scratchBytes: 4 * (n + 2 * m + 8) }, checkValues, (wasm, p, b, q) => {
        const out = 4 * b * n;
        wasm.maxIouMatch(q, m, n, high, low, negativeMin, lowQuality ? 1 : 0, minLowQuality, p.outputs[0]! + out, p.outputs[1]! + out, p.scratch);
      });
    }
    return [ctx.outputFrom(matches, outShape), ctx.outputFrom(labels, outShape)];
  },
};

/**
 * Creates Faster R-CNN's max-IoU matcher; matches torchvision's `det_utils.Matcher` (and, with
 * `negativeMinIou`, py-faster-rcnn's RoI labelling). Each anchor takes the ground-truth box it overlaps
 * most (the lowest index on ties): positive when that IoU is >= `highThreshold`, negative when it is in
 * [`negativeMinIou`, `lowThreshold`), ignored otherwise; with `allowLowQualityMatches`, the anchors with
 * the highest IoU for some ground-truth box are positive too (see {@link MaxIouMatcherOptions}).
 *
 * Differences from torchvision, on purpose: no ground truth (M = 0) gives all anchors negative instead of
 * an exception; a ground-truth box that overlaps no anchor (a row of zeros) is treated as absent: it does
 * not make every anchor positive (torchvision: they all tie for its highest IoU), and when every box is
 * like that the image counts as having none (all negative, also with `negativeMinIou` > 0). So rows of
 * zeros can pad the images of a batch. Labels and matches are separate tensors instead of torchvision's
 * -1 / -2 codes in the indices.
 *
 * Runs as one fused kernel (`DetkitMatchersMaxIou`, WebAssembly SIMD, in tfjs-backend-wasm's heap on the
 * wasm backend); other backends download the matrix. Not differentiable (integer outputs).
 *
 * @example
 * const match = createMaxIouMatcher(RPN_MATCHER_OPTIONS);
 * const { matches, labels } = match(boxIou(gtBoxes, anchors)); // Int32 [N] each
 * // A batch: iou [B, M, N] (images padded with zero rows) gives [B, N] each.
 */
export function createMaxIouMatcher(options: MaxIouMatcherOptions): Matcher {
  const op = 'createMaxIouMatcher';
  optionsObject(op, options);
  const high = numberOption(op, 'highThreshold', options.highThreshold, POSITIVE_THRESHOLD);
  const low = numberOption(op, 'lowThreshold', options.lowThreshold, THRESHOLD);
  if (low > high) throw new InvalidArgumentError(op, 'lowThreshold', `must be <= highThreshold (${high}), got ${low}`);
  const negativeMin = numberOption(op, 'negativeMinIou', options.negativeMinIou ?? 0, THRESHOLD);
  if (negativeMin > low) throw new InvalidArgumentError(op, 'negativeMinIou', `must be <= lowThreshold (${low}), got ${negativeMin}`);
  const lowQuality = options.allowLowQualityMatches ?? false;
  if (typeof lowQuality !== 'boolean') throw new InvalidArgumentError(op, 'allowLowQualityMatches', `must be a boolean, got ${String(lowQuality)}`);
  const minLowQuality = numberOption(op, 'minLowQualityIou', options.minLowQualityIou ?? 0, THRESHOLD);
  const attrs: Omit<MaxIouAttrs, 'checkValues'> = {
    high: Math.fround(high),
    low: Math.fround(low),
    negativeMin: Math.fround(negativeMin),
    lowQuality,
    minLowQuality: Math.fround(minLowQuality),
  };
  return ((iou: TensorInput) =>
    tf.tidy(() => {
      const q = qualityInput(OP, iou);
      const [matches, labels] = runTypedArrayKernel(maxIouMatchKernel, [q], { ...attrs, checkValues: valueChecksEnabled() }) as [tf.Tensor, tf.Tensor];
      return { matches, labels };
    })) as Matcher;
}
