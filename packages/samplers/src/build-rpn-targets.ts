import { anchorsInsideImage } from '@detkit/anchors';
import { boxIou, RPN_BOX_CODER_WEIGHTS, type BoxCoderWeights } from '@detkit/boxes';
import { InvalidArgumentError, numberOption, tf, type TensorInput } from '@detkit/core';
import { createMaxIouMatcher, RPN_MATCHER_OPTIONS, type Matcher, type MaxIouMatcherOptions } from '@detkit/matchers';
import { boxesInput, optionsObject } from './internal';
import { drawSeed, type RandomOptions } from './rng';
import { checkBudget, RPN_SAMPLER_OPTIONS, sampleBalanced, type SamplerBudget } from './sample-balanced';
import { matchedTargets, scatterRows } from './target-kernels';

/** Options of {@link buildRpnTargets}. */
export interface RpnTargetOptions extends RandomOptions {
  /**
   * The matcher: its options, or a matcher made once with `createMaxIouMatcher` (what a training loop
   * should pass, so that every step uses the same one). Default {@link RPN_MATCHER_OPTIONS} (0.7 / 0.3 with
   * the highest-IoU rule).
   */
  matcher?: MaxIouMatcherOptions | Matcher;
  /**
   * The mini-batch. Default {@link RPN_SAMPLER_OPTIONS} (256 anchors, up to half positive); `false`
   * keeps every labelled anchor.
   */
  sampler?: SamplerBudget | false;
  /** Box coder weights of the regression targets. Default `RPN_BOX_CODER_WEIGHTS` (1, 1, 1, 1). */
  weights?: BoxCoderWeights;
  /**
   * [height, width] of the image. When given, anchors that cross its border (by more than
   * `allowedBorder`) are ignored (-1) and take no part in matching, as in the paper (section 3.1.3), the
   * walk-through and py-faster-rcnn. Default: none; every anchor takes part (torchvision).
   */
  imageSize?: readonly [number, number];
  /** Pixels an anchor may reach past the image border and still count as inside. Default 0. */
  allowedBorder?: number;
}

/** What {@link buildRpnTargets} returns: the RPN loss's inputs, one row per anchor. */
export interface RpnTargets {
  /** Int32 [N]: 1 positive, 0 negative, -1 ignored (or not sampled, or outside the image). */
  labels: tf.Tensor1D;
  /**
   * Int32 [N]: the ground-truth box each positive anchor of the matcher is matched to (also those the
   * sampler left out), -1 elsewhere.
   */
  matches: tf.Tensor1D;
  /** Float32 [N, 4], xyxy: the matched ground-truth box where `matches` >= 0, zeros elsewhere. */
  matchedGtBoxes: tf.Tensor2D;
  /** Float32 [N, 4]: encoded (dx, dy, dw, dh) of the matched box where `matches` >= 0, zeros elsewhere. */
  regressionTargets: tf.Tensor2D;
}

function checkImageSize(op: string, options: RpnTargetOptions): { height: number; width: number; border: number } | undefined {
  if (options.imageSize === undefined) return undefined;
  const size = options.imageSize;
  if (!Array.isArray(size) || size.length !== 2) throw new InvalidArgumentError(op, 'imageSize', `must be [height, width], got ${JSON.stringify(size)}`);
  return {
    height: numberOption(op, 'imageSize', size[0], { min: 0, max: Number.MAX_VALUE }),
    width: numberOption(op, 'imageSize', size[1], { min: 0, max: Number.MAX_VALUE }),
    border: numberOption(op, 'allowedBorder', options.allowedBorder ?? 0, { min: 0, max: Number.MAX_VALUE }),
  };
}

/**
 * The region proposal network's training targets for one image (Ren et al. 2015, section 3.1.2-3.1.3);
 * matches torchvision's `RegionProposalNetwork.assign_targets_to_anchors` followed by its
 * `fg_bg_sampler` and `box_coder.encode`: IoU of every anchor with every ground-truth box, the max-IoU
 * matcher (0.7 / 0.3, highest-IoU rule), a balanced sample of 256, and (dx, dy, dw, dh) regression targets.
 *
 * Differences from torchvision, on purpose: the matcher's (see `createMaxIouMatcher` in
 * `@detkit/matchers`); `matchedGtBoxes` and `regressionTargets` are zeros for anchors without a match
 * (torchvision fills them with ground-truth box 0, which the loss never reads); the sample is drawn from
 * `seed` / `rng` (see `sampleBalanced`); optional `imageSize` ignores cross-boundary anchors.
 *
 * An image without ground truth is normal: every (inside) anchor is negative and the sample is all
 * negatives. Not differentiated: the inputs are taken as constants of the gradient tape, and the targets
 * are constants.
 *
 * @param anchors - Float32 [N, 4], xyxy pixels (e.g. `generateAnchors` of `@detkit/anchors`).
 * @param gtBoxes - Float32 [M, 4], xyxy pixels; M may be 0.
 * @returns {@link RpnTargets}.
 */
export function buildRpnTargets(anchors: TensorInput, gtBoxes: TensorInput, options: RpnTargetOptions = {}): RpnTargets {
  const op = 'buildRpnTargets';
  optionsObject(op, options);
  const match = typeof options.matcher === 'function' ? options.matcher : createMaxIouMatcher(options.matcher ?? RPN_MATCHER_OPTIONS);
  const budget = options.sampler === false ? false : checkBudget(op, options.sampler ?? RPN_SAMPLER_OPTIONS);
  const seed = drawSeed(op, options);
  const weights = options.weights ?? RPN_BOX_CODER_WEIGHTS;
  const image = checkImageSize(op, options);
  return tf.tidy(() => {
    const a = boxesInput(op, 'anchors', anchors);
    const g = boxesInput(op, 'gtBoxes', gtBoxes);
    const n = a.shape[0] as number;
    let matches: tf.Tensor1D;
    let labels: tf.Tensor1D;
    if (image === undefined) {
      ({ matches, labels } = match(boxIou(g, a)));
    } else {
      // The anchors inside the image (@detkit/anchors' rule and kernel); the others stay out of matching.
      const inside = anchorsInsideImage(a, [image.height, image.width], { allowedBorder: image.border });
      const m = match(boxIou(g, tf.gather(a, inside)));
      matches = scatterRows(inside, m.matches, n, -1) as tf.Tensor1D;
      labels = scatterRows(inside, m.labels, n, -1) as tf.Tensor1D;
    }
    const sampled = budget === false ? labels : sampleBalanced(labels, { ...budget, seed }).labels;
    const t = matchedTargets(a, g, matches, weights);
    return { labels: sampled, matches, matchedGtBoxes: t.matchedGtBoxes as tf.Tensor2D, regressionTargets: t.regressionTargets as tf.Tensor2D };
  });
}
