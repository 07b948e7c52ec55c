import type { tf } from '@detkit/core';

/** The ground truth of one image, in model-input pixels (what `@detkit/data`'s loader gives as `targets`). */
export interface ImageTargets {
  /** Float32Array[N * 4], xyxy in input pixels. */
  readonly boxes: Float32Array;
  /** Int32Array[N], 0-based class indices (no background class). */
  readonly labels: Int32Array;
}

/** Options of {@link Detector.loss}. */
export interface DetectorLossOptions {
  /**
   * Random source of the detector's sampling (RPN and RoI mini-batches), uniform in [0, 1). A seeded one
   * makes a training run reproducible. Default `Math.random`. SSD draws nothing.
   */
  rng?: () => number;
}

/** A detector's training loss: the total to minimise and its named parts (all scalars). */
export interface DetectorLoss {
  /** The scalar to minimise. */
  total: tf.Scalar;
  /** The parts that add up to `total`, e.g. `{ classification, regression }` or the four Faster R-CNN terms. */
  parts: Record<string, tf.Scalar>;
}

/** The detections of one image, by descending score, as plain arrays. */
export interface DetectionResult {
  /** Float32Array[D * 4], xyxy in input pixels, clipped to the image. */
  boxes: Float32Array;
  /** Float32Array[D], class probabilities. */
  scores: Float32Array;
  /** Int32Array[D], 0-based class indices (the data set's, no background). */
  labels: Int32Array;
}

/** Options of {@link Detector.detect}. */
export interface DetectOptions {
  /** Detections need a score above this. Default: the detector's (`config.postprocess.scoreThreshold`). */
  scoreThreshold?: number;
  /** Detections kept per image. Default: the detector's. */
  detectionsPerImage?: number;
}

/** What every detkit detector offers a training loop and an inference script. */
export interface Detector<C extends { kind: string } = { kind: string }> {
  /** `'ssd'` or `'faster-rcnn'`. */
  readonly kind: C['kind'];
  /** The serialisable configuration: {@link createDetector} rebuilds the detector from it. */
  readonly config: C;
  /**
   * Every variable by a stable key (`backbone/...`, `head/...`, `rpn/...`, `box_head/...`), the names
   * checkpoints use: the trainable weights and non-trainable state (batch-norm statistics). Pass
   * `trainableVariables(detector)` to an optimizer as `varList`.
   */
  readonly variables: Readonly<Record<string, tf.Variable>>;
  /**
   * The training loss of a batch. Differentiable with respect to `variables`; call it inside
   * `tf.variableGrads` or `optimizer.minimize`. Returns new tensors the caller disposes.
   *
   * @param images - Tensor[B, H, W, 3] float32 at the detector's `imageSize`.
   * @param targets - One {@link ImageTargets} per image (images without boxes are fine).
   */
  loss(images: tf.Tensor4D, targets: readonly ImageTargets[], options?: DetectorLossOptions): DetectorLoss;
  /**
   * Detections for a batch (no gradient). Leaves no tensor behind.
   *
   * @param images - Tensor[B, H, W, 3] float32 at the detector's `imageSize`.
   * @throws BackendUnavailableError when the backend is `webgl` and the browser lost its WebGL context.
   */
  detect(images: tf.Tensor4D, options?: DetectOptions): DetectionResult[];
  /** Frees every variable; the detector is unusable afterwards. */
  dispose(): void;
}

/** The trainable variables of a detector, in a stable order: what an optimizer's `varList` takes. */
export function trainableVariables(detector: Pick<Detector, 'variables'>): tf.Variable[] {
  return Object.values(detector.variables).filter((v) => v.trainable);
}
