import { boxIou, ROI_BOX_CODER_WEIGHTS, type BoxCoderWeights } from '@detkit/boxes';
import { InvalidArgumentError, ShapeError, tf, type TensorInput } from '@detkit/core';
import { createSsdMatcher, SSD_MATCH_THRESHOLD, type Matcher } from '@detkit/matchers';
import { boxesInput, classesInput, optionsObject } from './internal';
import { matchedClasses, matchedTargets } from './target-kernels';

/** Options of {@link buildSsdTargets} and {@link buildSsdTargetsBatch}. */
export interface SsdTargetOptions {
  /** IoU at which a prior is matched to its best box. Default 0.5 (`SSD_MATCH_THRESHOLD`). */
  threshold?: number;
  /**
   * A matcher made once with `createSsdMatcher`, used instead of making one per call (what a training
   * loop should pass). Exclusive with `threshold`.
   */
  matcher?: Matcher;
  /**
   * Box coder weights of the regression targets. Default (10, 10, 5, 5): SSD's variances 0.1 and 0.2
   * (`ROI_BOX_CODER_WEIGHTS`, as torchvision's SSD uses).
   */
  weights?: BoxCoderWeights;
}

/** What {@link buildSsdTargets} returns: the MultiBox loss's inputs, one row per prior. */
export interface SsdTargets {
  /** Int32 [N]: the ground-truth box each prior is matched to, -1 for background. */
  matches: tf.Tensor1D;
  /** Int32 [N]: 1 matched (positive), 0 background. Hard negative mining picks among the 0s later. */
  labels: tf.Tensor1D;
  /** Int32 [N]: the matched box's class for positives, 0 (background) for the others. */
  classLabels: tf.Tensor1D;
  /** Float32 [N, 4], xyxy: the matched ground-truth box for positives, zeros elsewhere. */
  matchedGtBoxes: tf.Tensor2D;
  /** Float32 [N, 4]: encoded (dx, dy, dw, dh) with weights (10, 10, 5, 5) for positives, zeros elsewhere. */
  regressionTargets: tf.Tensor2D;
}

/** What {@link buildSsdTargetsBatch} returns: {@link SsdTargets} with a leading batch axis. */
export interface SsdBatchTargets {
  /** Int32 [B, N]: per image, the index (in that image's list) of each prior's box, -1 for background. */
  matches: tf.Tensor2D;
  /** Int32 [B, N]: 1 positive, 0 background. */
  labels: tf.Tensor2D;
  /** Int32 [B, N]: class targets, 0 for background: what `mineHardNegatives` and the loss take. */
  classLabels: tf.Tensor2D;
  /** Float32 [B, N, 4], xyxy: matched boxes, zeros for background. */
  matchedGtBoxes: tf.Tensor3D;
  /** Float32 [B, N, 4]: regression targets, zeros for background. */
  regressionTargets: tf.Tensor3D;
}

function ssdMatcher(op: string, options: SsdTargetOptions) {
  optionsObject(op, options);
  if (options.matcher !== undefined) {
    if (typeof options.matcher !== 'function') throw new InvalidArgumentError(op, 'matcher', `must be a matcher made by createSsdMatcher, got ${String(options.matcher)}`);
    if (options.threshold !== undefined) throw new InvalidArgumentError(op, 'threshold', 'and matcher are exclusive: pass one of them');
    return options.matcher;
  }
  return createSsdMatcher({ threshold: options.threshold ?? SSD_MATCH_THRESHOLD });
}

/**
 * Matches an IoU matrix ([M, N] for one image, [B, M, N] for a batch) and gathers what both builders
 * return: classes and regression targets of the matched boxes. Call inside `tf.tidy`.
 */
function targetsFromIou(match: Matcher, iou: tf.Tensor, priors: tf.Tensor, gt: tf.Tensor, classes: tf.Tensor, weights: BoxCoderWeights) {
  const { matches, labels } = match(iou);
  const t = matchedTargets(priors, gt, matches, weights);
  return { matches, labels, classLabels: matchedClasses(classes, matches), matchedGtBoxes: t.matchedGtBoxes, regressionTargets: t.regressionTargets };
}

/**
 * SSD's training targets for one image (Liu et al. 2016, section 2.2); matches what torchvision's
 * `SSD.forward` and `SSD.compute_loss` build before the loss: the SSD matcher (each box takes its best
 * prior, then priors at IoU >= 0.5 take their best box), class targets and regression targets encoded
 * with (10, 10, 5, 5). Hard negatives are mined from the classification loss afterwards, with
 * `mineHardNegatives(loss, classLabels)`. For a batch, {@link buildSsdTargetsBatch} does the same in one
 * pass.
 *
 * Differences from torchvision, on purpose: the matcher's (see `createSsdMatcher` in `@detkit/matchers`:
 * two boxes sharing a best prior both keep one); zeros instead of unused values for background rows.
 * Not differentiated: the inputs are taken as constants of the gradient tape, and the targets are
 * constants.
 *
 * @param priors - Float32 [N, 4], xyxy pixels (SSD default boxes, e.g. `ssdDefaultBoxes` of `@detkit/anchors`).
 * @param gtBoxes - Float32 [M, 4], xyxy pixels; M may be 0 (every prior is then background).
 * @param gtClasses - Int32 [M]: each box's class id, >= 1 (0 is background).
 * @returns {@link SsdTargets}.
 */
export function buildSsdTargets(priors: TensorInput, gtBoxes: TensorInput, gtClasses: TensorInput, options: SsdTargetOptions = {}): SsdTargets {
  const op = 'buildSsdTargets';
  const match = ssdMatcher(op, options);
  const weights = options.weights ?? ROI_BOX_CODER_WEIGHTS;
  return tf.tidy(() => {
    const a = boxesInput(op, 'priors', priors);
    const g = boxesInput(op, 'gtBoxes', gtBoxes);
    const cls = classesInput(op, gtClasses, g.shape[0] as number);
    return targetsFromIou(match, boxIou(g, a), a, g, cls, weights);
  }) as SsdTargets;
}

/**
 * {@link buildSsdTargets} for a batch of images, in one pass: the images' boxes are padded to the
 * largest count (with zero boxes, which overlap nothing and so change no match), the IoU of all of them
 * with the priors is one [B * M, N] matrix, matched as a [B, M, N] batch, and the positives of all images
 * are encoded together. The results equal B separate calls, stacked.
 *
 * @param priors - Float32 [N, 4], xyxy pixels, shared by the images.
 * @param gtBoxes - One Float32 [M_b, 4] per image (M_b may be 0).
 * @param gtClasses - One Int32 [M_b] per image, class ids >= 1.
 * @returns {@link SsdBatchTargets}.
 */
export function buildSsdTargetsBatch(priors: TensorInput, gtBoxes: readonly TensorInput[], gtClasses: readonly TensorInput[], options: SsdTargetOptions = {}): SsdBatchTargets {
  const op = 'buildSsdTargetsBatch';
  const match = ssdMatcher(op, options);
  const weights = options.weights ?? ROI_BOX_CODER_WEIGHTS;
  if (!Array.isArray(gtBoxes)) throw new InvalidArgumentError(op, 'gtBoxes', 'must be an array with one [M, 4] box list per image');
  if (!Array.isArray(gtClasses) || gtClasses.length !== gtBoxes.length) {
    throw new InvalidArgumentError(op, 'gtClasses', `must be an array with one class list per image (${gtBoxes.length})`);
  }
  return tf.tidy(() => {
    const a = boxesInput(op, 'priors', priors);
    const n = a.shape[0] as number;
    const boxes = gtBoxes.map((g, b) => boxesInput(op, `gtBoxes[${b}]`, g));
    const classes = gtClasses.map((c, b) => {
      try {
        return classesInput(op, c, boxes[b]!.shape[0] as number);
      } catch (e) {
        if (e instanceof ShapeError) throw new ShapeError(op, `gtClasses[${b}]`, e.expected, e.actual);
        throw e;
      }
    });
    const batch = boxes.length;
    const m = Math.max(0, ...boxes.map((g) => g.shape[0] as number));
    const pad = (t: tf.Tensor, rank: 1 | 2) => {
      const missing = m - (t.shape[0] as number);
      return missing === 0 ? t : tf.pad(t, rank === 2 ? [[0, missing], [0, 0]] : [[0, missing]]);
    };
    const g = batch === 0 ? tf.zeros([0, 4]) : tf.concat(boxes.map((t) => pad(t, 2)), 0); // [B * M, 4]
    const cls = batch === 0 ? tf.zeros([0], 'int32') : tf.concat(classes.map((t) => pad(t, 1)), 0); // [B * M]
    return targetsFromIou(match, tf.reshape(boxIou(g, a), [batch, m, n]), a, g, cls, weights);
  }) as SsdBatchTargets;
}
