import { ROI_BOX_CODER_WEIGHTS, batchedNms, type BoxCoderWeights } from '@detkit/boxes';
import { InvalidArgumentError, ShapeError, integerOption, numberOption, runTypedArrayKernel, tf, toTensor, type TensorInput, type TypedArrayKernel } from '@detkit/core';
import { boxesInput, detached, finiteInput, splitColumns, imageSizesOption } from './internal';
import { bigEnough, decodeClipInto, decodeOptions, decodeParams } from './decode';
import { topByValue } from './sort';
import { DETECTION_CANDIDATES_KERNEL } from './kernel-names';

/** Options of {@link postprocessDetections}. */
export interface PostprocessOptions {
  /** Candidates need a class probability strictly greater than this. */
  scoreThreshold: number;
  /** Class-aware NMS IoU threshold (same-class boxes with IoU > it are suppressed). */
  nmsThreshold: number;
  /** Detections kept per image after NMS, by score. */
  detectionsPerImage: number;
  /** Candidates kept per class and image before NMS, by score (SSD's `topk_candidates`). Default Infinity. */
  topkCandidates?: number;
  /** Boxes whose clipped width or height is below this are dropped (`>=` keeps). Default 0 (none dropped). */
  minSize?: number;
  /** Box-coder weights of the deltas. Default (10, 10, 5, 5), torchvision's for RoIHeads and SSD. */
  weights?: BoxCoderWeights;
  /** Clamp on the decoded dw, dh. Default log(1000 / 16). */
  clamp?: number | false;
}

/**
 * torchvision's `RoIHeads` defaults (`fasterrcnn_*`: box_score_thresh 0.05, box_nms_thresh 0.5,
 * box_detections_per_img 100, and its remove_small_boxes(min_size=1e-2)).
 */
export const FASTER_RCNN_POSTPROCESS = {
  scoreThreshold: 0.05,
  nmsThreshold: 0.5,
  detectionsPerImage: 100,
  topkCandidates: Infinity,
  minSize: 1e-2,
} as const satisfies PostprocessOptions;

/** torchvision's `SSD` defaults: score_thresh 0.01, nms_thresh 0.45, detections_per_img 200, topk_candidates 400. */
export const SSD_POSTPROCESS = {
  scoreThreshold: 0.01,
  nmsThreshold: 0.45,
  detectionsPerImage: 200,
  topkCandidates: 400,
  minSize: 0,
} as const satisfies PostprocessOptions;

/** What {@link postprocessDetections} takes. */
export interface DetectionInputs {
  /**
   * Class logits, class 0 = background: Tensor[K, C] (K rows over all images, e.g. the box head's output
   * for every image's proposals) or Tensor[N, A, C] (per image, e.g. the SSD head's).
   */
  classLogits: TensorInput;
  /**
   * Deltas (dx, dy, dw, dh), per class (Tensor[K, 4C] / [N, A, 4C], the box head's) or shared by all
   * classes (Tensor[K, 4] / [N, A, 4], SSD's).
   */
  boxDeltas: TensorInput;
  /**
   * The boxes the deltas are relative to, xyxy: Tensor[K, 4] (proposals) for rank-2 inputs; Tensor[A, 4]
   * (anchors shared by the images) or Tensor[N, A, 4] for rank-3 inputs.
   */
  referenceBoxes: TensorInput;
  /** `[height, width]` of every image, or one per image. */
  imageSizes: readonly [number, number] | ReadonlyArray<readonly [number, number]>;
  /**
   * For rank-2 inputs: how many of the K rows belong to each image, in order (torchvision's
   * `boxes_per_image`). Default: all K rows are one image.
   */
  boxesPerImage?: readonly number[];
}

/** The detections of one image, by descending score. */
export interface Detections {
  /** Tensor[D, 4], float32 xyxy, clipped to the image. */
  boxes: tf.Tensor2D;
  /** Tensor[D], float32 class probabilities. */
  scores: tf.Tensor1D;
  /** Tensor[D], int32 classes (1..C-1). */
  labels: tf.Tensor1D;
}

interface SelectAttrs {
  start: number;
  count: number;
  numClasses: number;
  classSpecific: boolean;
  scoreThreshold: number;
  topk: number;
  minSize: number;
  weights: [number, number, number, number];
  clamp: number | false;
  height: number;
  width: number;
}

/**
 * One image's NMS candidates (rows start..start+count-1 of the batch) from deltas [K, 4C] (or [K, 4]),
 * reference boxes [K, 4] and probabilities [K, C]: per foreground class, the rows with probability >
 * threshold, the top `topk` of them by probability, each decoded (torchvision's BoxCoder.decode_single in
 * float32), clipped and size-tested. Outputs boxes [M, 4], scores [M], labels [M] (int32), class-major.
 */
const selectKernel: TypedArrayKernel<SelectAttrs> = {
  kernelName: DETECTION_CANDIDATES_KERNEL,
  inputNames: ['deltas', 'referenceBoxes', 'scores'],
  compute([deltasIn, refsIn, scoresIn], a, ctx) {
    const deltas = deltasIn!.values;
    const refs = refsIn!.values;
    const scores = scoresIn!.values;
    const c = a.numClasses;
    const n = a.count;
    const p = decodeParams(a.weights, a.clamp);
    const threshold = Math.fround(a.scoreThreshold);
    const minSize = Math.fround(a.minSize);
    const box = new Float32Array(4);
    const out: number[] = [];
    const outScores: number[] = [];
    const labels: number[] = [];
    const column = new Float32Array(n);
    const pool = new Int32Array(n);
    for (let j = 1; j < c; j++) {
      let count = 0;
      for (let i = 0; i < n; i++) {
        const s = scores[(a.start + i) * c + j] as number;
        column[i] = s;
        if (s > threshold) pool[count++] = i;
      }
      const chosen = a.topk < count ? topByValue(column, pool.subarray(0, count), a.topk) : pool.subarray(0, count);
      for (const i of chosen) {
        const row = a.start + i;
        decodeClipInto(deltas, a.classSpecific ? 4 * (row * c + j) : 4 * row, refs, 4 * row, p, a.height, a.width, box, 0);
        if (!bigEnough(box, 0, minSize)) continue;
        out.push(box[0]!, box[1]!, box[2]!, box[3]!);
        outScores.push(column[i] as number);
        labels.push(j);
      }
    }
    const m = labels.length;
    return [ctx.outputFrom(Float32Array.from(out), [m, 4]), ctx.outputFrom(Float32Array.from(outScores), [m]), ctx.outputFrom(Int32Array.from(labels), [m])];
  },
};

function checkOptions(op: string, options: PostprocessOptions) {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(op, 'options', 'must be an object (see FASTER_RCNN_POSTPROCESS, SSD_POSTPROCESS)');
  const { weights, clamp } = decodeOptions(op, options, ROI_BOX_CODER_WEIGHTS);
  return {
    scoreThreshold: numberOption(op, 'scoreThreshold', options.scoreThreshold, { min: 0, max: 1 }),
    nmsThreshold: numberOption(op, 'nmsThreshold', options.nmsThreshold, { min: 0, max: 1 }),
    detectionsPerImage: integerOption(op, 'detectionsPerImage', options.detectionsPerImage, { min: 0, allowInfinity: true }),
    topk: integerOption(op, 'topkCandidates', options.topkCandidates ?? Infinity, { min: 0, allowInfinity: true }),
    minSize: numberOption(op, 'minSize', options.minSize ?? 0, { min: 0 }),
    weights,
    clamp,
  };
}

/**
 * Final detections from a detector's class logits and box deltas, per image: softmax, decode (per class or
 * shared deltas), clip to the image, drop background, keep probabilities > `scoreThreshold`, keep the top
 * `topkCandidates` per class, drop boxes smaller than `minSize`, class-aware NMS at `nmsThreshold`, keep
 * the top `detectionsPerImage`. With {@link FASTER_RCNN_POSTPROCESS} (the default) it matches torchvision
 * `RoIHeads.postprocess_detections`; with {@link SSD_POSTPROCESS}, `SSD.postprocess_detections`.
 *
 * For inference: the detections are constants, off the gradient tape (no gradient flows through them).
 * The selection is one fused kernel per image, NMS @detkit/boxes' batchedNms.
 *
 * @param inputs - See {@link DetectionInputs}.
 * @param options - Default {@link FASTER_RCNN_POSTPROCESS}.
 * @returns One {@link Detections} per image (empty tensors where nothing passes).
 */
export function postprocessDetections(inputs: DetectionInputs, options: PostprocessOptions = FASTER_RCNN_POSTPROCESS): Detections[] {
  const op = 'postprocessDetections';
  if (inputs === null || typeof inputs !== 'object') throw new InvalidArgumentError(op, 'inputs', 'must be an object with classLogits, boxDeltas, referenceBoxes and imageSizes');
  const o = checkOptions(op, options);
  // The results are returned from the tidy (not tf.keep-ed), so a caller's own tf.tidy still owns them.
  return tf.tidy(() => {
    const results: Detections[] = [];
    const logits = toTensor(op, 'classLogits', inputs.classLogits);
    if (logits.rank !== 2 && logits.rank !== 3) throw new ShapeError(op, 'classLogits', '[K, C] or [N, A, C]', logits.shape);
    const c = logits.shape[logits.rank - 1] as number;
    if (c < 1) throw new ShapeError(op, 'classLogits', '[K, C] or [N, A, C] with C >= 1', logits.shape);
    const lead = logits.shape.slice(0, -1);
    const rows = lead.reduce((p, q) => p * q, 1);
    const deltas = finiteInput(op, 'boxDeltas', inputs.boxDeltas, logits.rank, `[${lead.join(', ')}, ${4 * c}] or [${lead.join(', ')}, 4]`);
    const dw = deltas.shape[deltas.rank - 1];
    if (!tf.util.arraysEqual(deltas.shape.slice(0, -1), lead) || (dw !== 4 * c && dw !== 4)) {
      throw new ShapeError(op, 'boxDeltas', `[${lead.join(', ')}, ${4 * c}] or [${lead.join(', ')}, 4]`, deltas.shape);
    }
    const probs = tf.reshape(tf.softmax(tf.reshape(finiteInput(op, 'classLogits', logits, logits.rank, ''), [rows, c])), [rows, c]);
    const d2 = tf.reshape(deltas, [rows, dw as number]);
    let counts: number[];
    let refs: tf.Tensor2D;
    if (logits.rank === 3) {
      const [n, a] = lead as [number, number];
      if (inputs.boxesPerImage !== undefined) throw new InvalidArgumentError(op, 'boxesPerImage', 'applies to rank-2 inputs only (rank-3 inputs are per image already)');
      counts = Array.from({ length: n }, () => a);
      const r = toTensor(op, 'referenceBoxes', inputs.referenceBoxes);
      if (r.rank === 3 && r.shape[0] === n && r.shape[1] === a && r.shape[2] === 4) refs = boxesInput(op, 'referenceBoxes', tf.reshape(r, [n * a, 4]));
      else if (r.rank === 2 && r.shape[0] === a && r.shape[1] === 4) refs = tf.tile(boxesInput(op, 'referenceBoxes', r), [n, 1]) as tf.Tensor2D;
      else throw new ShapeError(op, 'referenceBoxes', `[${a}, 4] or [${n}, ${a}, 4]`, r.shape);
    } else {
      counts = inputs.boxesPerImage === undefined ? [rows] : [...inputs.boxesPerImage];
      if (!counts.every((k) => Number.isInteger(k) && k >= 0) || counts.reduce((s, k) => s + k, 0) !== rows) {
        throw new InvalidArgumentError(op, 'boxesPerImage', `must be non-negative integers summing to the ${rows} rows, got ${JSON.stringify(inputs.boxesPerImage)}`);
      }
      refs = boxesInput(op, 'referenceBoxes', inputs.referenceBoxes);
      if (refs.shape[0] !== rows) throw new ShapeError(op, 'referenceBoxes', `[${rows}, 4] (one per row of classLogits)`, refs.shape);
    }
    const sizes = imageSizesOption(op, 'imageSizes', inputs.imageSizes, counts.length);
    let start = 0;
    counts.forEach((k, i) => {
      if (k === 0) {
        results.push({ boxes: tf.zeros([0, 4]), scores: tf.zeros([0]), labels: tf.zeros([0], 'int32') });
        return;
      }
      const det = tf.tidy(() => {
        // [D, 6]: box, score, label, computed off the gradient tape (detections are constants).
        const packed = detached([d2, refs, probs], (dx, rx, px) => {
          const [cb, cs, cl] = runTypedArrayKernel(selectKernel, [dx!, rx!, px!], {
            start,
            count: k,
            numClasses: c,
            classSpecific: dw === 4 * c && c > 1,
            scoreThreshold: o.scoreThreshold,
            topk: o.topk,
            minSize: o.minSize,
            weights: [...o.weights],
            clamp: o.clamp,
            height: sizes[i]![0],
            width: sizes[i]![1],
          }) as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
          const max = o.detectionsPerImage === Infinity ? {} : { maxOutputSize: o.detectionsPerImage };
          const keep = batchedNms(cb, cs, cl, { iouThreshold: o.nmsThreshold, ...max });
          // (tfjs-backend-wasm 4.22's GatherV2 gives [1, 1, 0, 4] when gathering from an empty tensor.)
          if (keep.size === 0) return tf.zeros([0, 6]);
          return tf.concat([tf.gather(cb, keep), tf.reshape(tf.gather(cs, keep), [-1, 1]), tf.reshape(tf.cast(tf.gather(cl, keep), 'float32'), [-1, 1])], 1);
        });
        const [b, sc, l] = splitColumns(packed, [4, 0, 0]) as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
        return [b, sc, tf.cast(l, 'int32')] as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
      });
      results.push({ boxes: det[0], scores: det[1], labels: det[2] });
      start += k;
    });
    return results as unknown as tf.TensorContainer;
  }) as unknown as Detections[];
}
