import { boxIou, ROI_BOX_CODER_WEIGHTS, type BoxCoderWeights } from '@detkit/boxes';
import { InvalidArgumentError, tf, type TensorInput } from '@detkit/core';
import { createMaxIouMatcher, ROI_MATCHER_OPTIONS, type Matcher, type MaxIouMatcherOptions } from '@detkit/matchers';
import { boxesInput, classesInput, optionsObject } from './internal';
import { drawSeed, type RandomOptions } from './rng';
import { checkBudget, ROI_SAMPLER_OPTIONS, sampleBalanced, type SamplerBudget } from './sample-balanced';
import { sampledTargets } from './target-kernels';

/** Options of {@link buildRoiTargets}. */
export interface RoiTargetOptions extends RandomOptions {
  /**
   * The matcher: its options, or a matcher made once with `createMaxIouMatcher`. Default
   * {@link ROI_MATCHER_OPTIONS} (foreground at IoU >= 0.5, background below); py-faster-rcnn's background
   * range [0.1, 0.5) is `{ ...ROI_MATCHER_OPTIONS, negativeMinIou: 0.1 }`.
   */
  matcher?: MaxIouMatcherOptions | Matcher;
  /**
   * The mini-batch. Default {@link ROI_SAMPLER_OPTIONS} (128 RoIs, up to 25% foreground); `false` keeps
   * every labelled proposal.
   */
  sampler?: SamplerBudget | false;
  /** Box coder weights of the regression targets. Default `ROI_BOX_CODER_WEIGHTS` (10, 10, 5, 5). */
  weights?: BoxCoderWeights;
  /**
   * Appends the ground-truth boxes to the proposals before matching (torchvision's `add_gt_proposals`,
   * py-faster-rcnn), so every box has at least one perfect foreground RoI. Default true.
   */
  appendGtBoxes?: boolean;
}

/** What {@link buildRoiTargets} returns: the sampled RoIs and the box head's targets, one row per RoI. */
export interface RoiTargets {
  /** Float32 [S, 4], xyxy: the sampled proposals, in ascending order of `indices`. */
  proposals: tf.Tensor2D;
  /** Int32 [S]: their indices into the proposals, the ground-truth boxes counted after them when appended. */
  indices: tf.Tensor1D;
  /** Int32 [S]: the matched box's class for foreground RoIs, 0 (background) for the others. */
  classLabels: tf.Tensor1D;
  /** Int32 [S]: the ground-truth box each foreground RoI is matched to, -1 for background. */
  matches: tf.Tensor1D;
  /** Float32 [S, 4], xyxy: the matched ground-truth box for foreground RoIs, zeros for background. */
  matchedGtBoxes: tf.Tensor2D;
  /** Float32 [S, 4]: encoded (dx, dy, dw, dh) for foreground RoIs, zeros for background. */
  regressionTargets: tf.Tensor2D;
}

/**
 * Fast R-CNN's training targets for one image's proposals (Girshick 2015; Ren et al. 2015); matches
 * torchvision's `RoIHeads.select_training_samples`: ground-truth boxes appended to the proposals, the
 * max-IoU matcher (0.5), a balanced sample (128 at 25% foreground), class labels and regression targets
 * encoded with weights (10, 10, 5, 5).
 *
 * Differences from torchvision, on purpose: background RoIs get zeros as matched box and regression
 * target (torchvision encodes them against ground-truth box 0, or against a zero box when the image has
 * none: infinite values the loss never reads); the sample is drawn from `seed` / `rng`.
 *
 * Not differentiated: every input is taken as a constant of the gradient tape (torchvision samples
 * detached proposals), so proposals on the tape may go in, and every output, `proposals` included, is a
 * constant: no gradient flows back through the targets.
 *
 * @param proposals - Float32 [P, 4], xyxy pixels (the proposal layer's output).
 * @param gtBoxes - Float32 [M, 4], xyxy pixels; M may be 0 (all RoIs are then background).
 * @param gtClasses - Int32 [M]: each box's class id, >= 1 (0 is background).
 * @returns {@link RoiTargets}.
 */
export function buildRoiTargets(proposals: TensorInput, gtBoxes: TensorInput, gtClasses: TensorInput, options: RoiTargetOptions = {}): RoiTargets {
  const op = 'buildRoiTargets';
  optionsObject(op, options);
  const match = typeof options.matcher === 'function' ? options.matcher : createMaxIouMatcher(options.matcher ?? ROI_MATCHER_OPTIONS);
  const budget = options.sampler === false ? false : checkBudget(op, options.sampler ?? ROI_SAMPLER_OPTIONS);
  const seed = drawSeed(op, options);
  const weights = options.weights ?? ROI_BOX_CODER_WEIGHTS;
  const append = options.appendGtBoxes ?? true;
  if (typeof append !== 'boolean') throw new InvalidArgumentError(op, 'appendGtBoxes', `must be a boolean, got ${String(append)}`);
  return tf.tidy(() => {
    const p = boxesInput(op, 'proposals', proposals);
    const g = boxesInput(op, 'gtBoxes', gtBoxes);
    const cls = classesInput(op, gtClasses, g.shape[0] as number);
    const boxes = append && g.shape[0] !== 0 ? tf.concat([p, g], 0) : p;
    const { matches, labels } = match(boxIou(g, boxes));
    const n = boxes.shape[0] as number;
    const { indices } = sampleBalanced(labels, budget === false ? { batchSize: n, positiveFraction: 1, seed } : { ...budget, seed });
    const t = sampledTargets(boxes, g, cls, matches, indices, weights);
    return {
      proposals: t.boxes,
      indices,
      classLabels: t.classLabels,
      matches: t.matches,
      matchedGtBoxes: t.matchedGtBoxes,
      regressionTargets: t.regressionTargets,
    };
  });
}
