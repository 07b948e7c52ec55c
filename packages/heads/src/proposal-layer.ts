import { RPN_BOX_CODER_WEIGHTS, batchedNms, nms, type BoxCoderWeights } from '@detkit/boxes';
import { InvalidArgumentError, ShapeError, assertFinite, integerOption, numberOption, runTypedArrayKernel, tf, toTensor, type TensorInput, type TypedArrayKernel } from '@detkit/core';
import { boxesInput, detached, finiteInput, splitColumns, imageSizesOption } from './internal';
import { bigEnough, decodeClipInto, decodeOptions, decodeParams } from './decode';
import { sigmoid32, topByValue } from './sort';
import { PROPOSAL_CANDIDATES_KERNEL } from './kernel-names';

/**
 * Which comes first: the per-level top-N by objectness, or the clip-and-size filter.
 * - `'topk-first'`: torchvision's `RegionProposalNetwork.filter_proposals`: top `preNmsTopN` per level by
 *   logit, then clip, drop small and low-scoring boxes.
 * - `'filter-first'`: the original Faster R-CNN proposal layer (py-faster-rcnn) and the walk-through: clip,
 *   drop boxes smaller than `minSize`, then the top `preNmsTopN` of what is left.
 */
export type ProposalOrder = 'topk-first' | 'filter-first';

/** Options of {@link proposalLayer}. */
export interface ProposalLayerOptions {
  /** Proposals kept per image and level before NMS, by objectness. */
  preNmsTopN: number;
  /** Proposals kept per image after NMS (all levels together), by objectness. */
  postNmsTopN: number;
  /** NMS IoU threshold (boxes with IoU > it are suppressed). Default 0.7. */
  nmsThreshold?: number;
  /**
   * Boxes whose clipped width or height is below this (pixels) are dropped (`>=` keeps, as
   * torchvision's remove_small_boxes). Default 1e-3 (torchvision's); the walk-through uses 16.
   */
  minSize?: number;
  /** Proposals need objectness probability >= this. Default 0 (torchvision's `score_thresh`). */
  scoreThreshold?: number;
  /** See {@link ProposalOrder}. Default `'topk-first'` (torchvision). */
  order?: ProposalOrder;
  /** Clamp on the decoded dw, dh (see @detkit/boxes' decodeBoxes). Default log(1000 / 16). */
  clamp?: number | false;
  /**
   * Box-coder weights the deltas were encoded with (the RPN targets' weights). Default
   * `RPN_BOX_CODER_WEIGHTS` (1, 1, 1, 1), torchvision's RPN box coder.
   */
  weights?: BoxCoderWeights;
}

/**
 * Proposal settings by phase. `train` / `test` are the walk-through's and the Faster R-CNN paper's
 * (VGG16, one level): 12,000 → 2,000 while training, 6,000 → 300 at test time, NMS 0.7, min side 16 px,
 * filter first. `torchvisionTrain` / `torchvisionTest` are torchvision's `fasterrcnn_*` defaults (per
 * level): 2,000 → 2,000 and 1,000 → 1,000, NMS 0.7, min size 1e-3, top-N first.
 */
export const PROPOSAL_PRESETS = {
  train: { preNmsTopN: 12_000, postNmsTopN: 2_000, nmsThreshold: 0.7, minSize: 16, scoreThreshold: 0, order: 'filter-first' },
  test: { preNmsTopN: 6_000, postNmsTopN: 300, nmsThreshold: 0.7, minSize: 16, scoreThreshold: 0, order: 'filter-first' },
  torchvisionTrain: { preNmsTopN: 2_000, postNmsTopN: 2_000, nmsThreshold: 0.7, minSize: 1e-3, scoreThreshold: 0, order: 'topk-first' },
  torchvisionTest: { preNmsTopN: 1_000, postNmsTopN: 1_000, nmsThreshold: 0.7, minSize: 1e-3, scoreThreshold: 0, order: 'topk-first' },
} as const satisfies Record<string, Required<Omit<ProposalLayerOptions, 'clamp' | 'weights'>>>;

/** What {@link proposalLayer} takes: the RPN head's predictions for a batch and the anchors. */
export interface ProposalLayerInputs {
  /**
   * Objectness per anchor: Tensor[N, A] or [N, A, 1] (one logit, probability = sigmoid) or [N, A, 2]
   * (background and object logits, probability = softmax's object column = sigmoid(l1 - l0)).
   */
  objectness: TensorInput;
  /** Tensor[N, A, 4] deltas (dx, dy, dw, dh), weights (1, 1, 1, 1). */
  deltas: TensorInput;
  /** Tensor[A, 4] xyxy anchors shared by the images, or Tensor[N, A, 4]; in the heads' output order. */
  anchors: TensorInput;
  /** `[height, width]` of every image (after resizing / padding), or one per image. */
  imageSizes: readonly [number, number] | ReadonlyArray<readonly [number, number]>;
  /**
   * Anchors of each pyramid level, in order (summing to A): top-N and NMS run per level, as torchvision.
   * Default: one level. {@link RpnHead} returns it.
   */
  anchorsPerLevel?: readonly number[];
}

/** Proposals of each image. */
export interface Proposals {
  /** One Tensor[P_i, 4] per image, float32 xyxy, clipped to the image, by descending objectness. */
  boxes: tf.Tensor2D[];
  /** One Tensor[P_i] per image: objectness probabilities of those boxes. */
  scores: tf.Tensor1D[];
}

interface CandidateAttrs {
  image: number;
  logitsPerAnchor: number;
  sharedAnchors: boolean;
  levels: number[];
  preNmsTopN: number;
  minSize: number;
  scoreThreshold: number;
  filterFirst: boolean;
  clamp: number | false;
  weights: BoxCoderWeights;
  height: number;
  width: number;
}

/**
 * One image's NMS candidates: from deltas [N, A, 4], anchors [A, 4] (or [N, A, 4]) and objectness
 * logits [N, A, L] (L = 1, or 2 for [background, object]),
 * decode and clip (torchvision's BoxCoder.decode_single and clip_boxes_to_image in float32), then per
 * level the top-N by logit and the size and score filters, in the configured order. Outputs clipped boxes
 * [M, 4], probabilities [M] and level ids [M] (int32), per level by descending logit.
 */
const candidatesKernel: TypedArrayKernel<CandidateAttrs> = {
  kernelName: PROPOSAL_CANDIDATES_KERNEL,
  inputNames: ['deltas', 'anchors', 'logits'],
  compute([deltasIn, anchorsIn, logitsIn], a, ctx) {
    const total = a.levels.reduce((s, c) => s + c, 0);
    const deltas = deltasIn!.values;
    const anchors = anchorsIn!.values;
    // One logit per anchor: l, or l1 - l0 for [background, object] logits (softmax = sigmoid(l1 - l0)).
    const raw = logitsIn!.values;
    const logits = new Float32Array(total);
    if (a.logitsPerAnchor === 1) logits.set(raw.subarray(a.image * total, (a.image + 1) * total));
    else for (let i = 0, o = 2 * a.image * total; i < total; i++, o += 2) logits[i] = (raw[o + 1] as number) - (raw[o] as number);
    const dOffset = 4 * a.image * total;
    const aOffset = a.sharedAnchors ? 0 : dOffset;
    const p = decodeParams(a.weights, a.clamp);
    const minSize = Math.fround(a.minSize);
    const threshold = Math.fround(a.scoreThreshold);
    const decoded = new Float32Array(4 * total);
    // (Plain indexed loops: this kernel is most of the proposal layer's time.)
    const passes = (i: number) => bigEnough(decoded, 4 * i, minSize) && (threshold <= 0 || sigmoid32(logits[i] as number) >= threshold);
    const chosen = new Int32Array(total);
    const levelOf = new Int32Array(total);
    let m = 0;
    let start = 0;
    for (let level = 0; level < a.levels.length; level++) {
      const count = a.levels[level] as number;
      let pool = new Int32Array(count);
      let kept = 0;
      for (let i = start; i < start + count; i++) {
        if (a.filterFirst) {
          decodeClipInto(deltas, dOffset + 4 * i, anchors, aOffset + 4 * i, p, a.height, a.width, decoded, 4 * i);
          if (!passes(i)) continue;
        }
        pool[kept++] = i;
      }
      pool = pool.subarray(0, kept);
      const top = topByValue(logits, pool, a.preNmsTopN);
      for (let r = 0; r < top.length; r++) {
        const i = top[r] as number;
        if (!a.filterFirst) {
          decodeClipInto(deltas, dOffset + 4 * i, anchors, aOffset + 4 * i, p, a.height, a.width, decoded, 4 * i);
          if (!passes(i)) continue;
        }
        chosen[m] = i;
        levelOf[m++] = level;
      }
      start += count;
    }
    const outBoxes = new Float32Array(4 * m);
    const outScores = new Float32Array(m);
    for (let r = 0; r < m; r++) {
      const i = chosen[r] as number;
      outBoxes[4 * r] = decoded[4 * i] as number;
      outBoxes[4 * r + 1] = decoded[4 * i + 1] as number;
      outBoxes[4 * r + 2] = decoded[4 * i + 2] as number;
      outBoxes[4 * r + 3] = decoded[4 * i + 3] as number;
      outScores[r] = sigmoid32(logits[i] as number);
    }
    return [ctx.outputFrom(outBoxes, [m, 4]), ctx.outputFrom(outScores, [m]), ctx.outputFrom(levelOf.slice(0, m), [m])];
  },
};

function checkOptions(op: string, options: ProposalLayerOptions) {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(op, 'options', 'must be an object with preNmsTopN and postNmsTopN (see PROPOSAL_PRESETS)');
  const order = options.order ?? 'topk-first';
  if (order !== 'topk-first' && order !== 'filter-first') throw new InvalidArgumentError(op, 'order', `must be 'topk-first' or 'filter-first', got ${String(order)}`);
  const { weights, clamp } = decodeOptions(op, options, RPN_BOX_CODER_WEIGHTS);
  return {
    preNmsTopN: integerOption(op, 'preNmsTopN', options.preNmsTopN, { min: 0, allowInfinity: true }),
    postNmsTopN: integerOption(op, 'postNmsTopN', options.postNmsTopN, { min: 0, allowInfinity: true }),
    nmsThreshold: numberOption(op, 'nmsThreshold', options.nmsThreshold ?? 0.7, { min: 0, max: 1 }),
    minSize: numberOption(op, 'minSize', options.minSize ?? 1e-3, { min: 0 }),
    scoreThreshold: numberOption(op, 'scoreThreshold', options.scoreThreshold ?? 0, { min: 0, max: 1 }),
    filterFirst: order === 'filter-first',
    clamp,
    weights,
  };
}

/**
 * Turns the RPN's predictions into proposals, per image: decode the deltas against the anchors, clip to
 * the image, drop boxes smaller than `minSize` and below `scoreThreshold`, keep the top `preNmsTopN` per
 * level by objectness, NMS at `nmsThreshold` per level, keep the top `postNmsTopN` (Ren et al. 2015, §3.3).
 * With `order: 'topk-first'` it matches torchvision `RegionProposalNetwork.filter_proposals` (after
 * `box_coder.decode`); with `'filter-first'` the walk-through's / py-faster-rcnn's proposal layer.
 *
 * The proposals are constants (torchvision decodes them from `pred_bbox_deltas.detach()`): they are off
 * the gradient tape, so inside `tf.grad` / `tf.variableGrads` no gradient flows through them to the deltas
 * or the objectness, and what is computed from them (e.g. @detkit/samplers' `buildRoiTargets`, whose
 * kernels have no gradient) stays out of the backward pass. Detaching shares the data: nothing is copied
 * or downloaded.
 *
 * Runs as one fused kernel per image (decode, clip, size and score filters, top-N; torchvision's float32
 * arithmetic) and @detkit/boxes' NMS (batchedNms over levels) with `maxOutputSize` = `postNmsTopN`, which
 * stops once enough boxes are kept.
 *
 * @param inputs - See {@link ProposalLayerInputs}.
 * @param options - Default {@link PROPOSAL_PRESETS}.train (the walk-through's training settings).
 * @returns Per image, boxes Tensor[P, 4] (xyxy, P <= postNmsTopN) and their probabilities Tensor[P].
 */
export function proposalLayer(inputs: ProposalLayerInputs, options: ProposalLayerOptions = PROPOSAL_PRESETS.train): Proposals {
  const op = 'proposalLayer';
  if (inputs === null || typeof inputs !== 'object') throw new InvalidArgumentError(op, 'inputs', 'must be an object with objectness, deltas, anchors and imageSizes');
  const o = checkOptions(op, options);
  // The results are returned from the tidy (not tf.keep-ed), so a caller's own tf.tidy still owns them.
  return tf.tidy(() => {
    const boxes: tf.Tensor2D[] = [];
    const scores: tf.Tensor1D[] = [];
    const d = finiteInput(op, 'deltas', inputs.deltas, 3, '[N, A, 4]');
    const [n, a] = d.shape as [number, number, number];
    if (d.shape[2] !== 4) throw new ShapeError(op, 'deltas', '[N, A, 4]', d.shape);
    const logits = objectnessLogits(op, inputs.objectness, n, a);
    const anchors = anchorsInput(op, inputs.anchors, n, a);
    const sizes = imageSizesOption(op, 'imageSizes', inputs.imageSizes, n);
    const levels = levelsOption(op, inputs.anchorsPerLevel, a);
    for (let i = 0; i < n; i++) {
      if (a === 0) {
        boxes.push(tf.zeros([0, 4]));
        scores.push(tf.zeros([0]));
        continue;
      }
      const [kept, keptScores] = tf.tidy(() => {
        // [P, 5]: boxes and scores, computed off the gradient tape (proposals are constants).
        const packed = detached([d, anchors, logits], (dx, ax, lx) => {
          const [cb, cs, cl] = runTypedArrayKernel(candidatesKernel, [dx!, ax!, lx!], {
            image: i,
            logitsPerAnchor: logits.shape[2] as number,
            sharedAnchors: anchors.rank === 2,
            levels,
            preNmsTopN: o.preNmsTopN,
            minSize: o.minSize,
            scoreThreshold: o.scoreThreshold,
            filterFirst: o.filterFirst,
            clamp: o.clamp,
            weights: o.weights,
            height: sizes[i]![0],
            width: sizes[i]![1],
          }) as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
          const nmsOptions = { iouThreshold: o.nmsThreshold, ...(o.postNmsTopN === Infinity ? {} : { maxOutputSize: o.postNmsTopN }) };
          // Per level NMS (torchvision's batched_nms over level ids); one level needs no grouping.
          const keep = levels.length === 1 ? nms(cb, cs, nmsOptions) : batchedNms(cb, cs, cl, nmsOptions);
          // (tfjs-backend-wasm 4.22's GatherV2 gives [1, 1, 0, 4] when gathering from an empty tensor.)
          if (keep.size === 0) return tf.zeros([0, 5]);
          return tf.concat([tf.gather(cb, keep), tf.reshape(tf.gather(cs, keep), [-1, 1])], 1);
        });
        return splitColumns(packed, [4, 0]) as [tf.Tensor2D, tf.Tensor1D];
      });
      boxes.push(kept);
      scores.push(keptScores);
    }
    return { boxes, scores } as unknown as tf.TensorContainer;
  }) as unknown as Proposals;
}

/** Objectness as [N, A, L]: [N, A] and [N, A, 1] are one logit per anchor, [N, A, 2] background and object. */
function objectnessLogits(op: string, x: TensorInput, n: number, a: number): tf.Tensor3D {
  const t = toTensor(op, 'objectness', x);
  const ok = t.shape[0] === n && t.shape[1] === a && (t.rank === 2 || (t.rank === 3 && (t.shape[2] === 1 || t.shape[2] === 2)));
  if (!ok) throw new ShapeError(op, 'objectness', `[${n}, ${a}], [${n}, ${a}, 1] or [${n}, ${a}, 2]`, t.shape);
  assertFinite(op, 'objectness', t);
  return (t.rank === 2 ? tf.reshape(t, [n, a, 1]) : t) as tf.Tensor3D;
}

function anchorsInput(op: string, x: TensorInput, n: number, a: number): tf.Tensor {
  const t = toTensor(op, 'anchors', x);
  if (t.rank === 3) {
    if (t.shape[0] !== n || t.shape[1] !== a || t.shape[2] !== 4) throw new ShapeError(op, 'anchors', `[${a}, 4] or [${n}, ${a}, 4]`, t.shape);
    boxesInput(op, 'anchors', tf.reshape(t, [n * a, 4]));
    return t;
  }
  const b = boxesInput(op, 'anchors', t);
  if (b.shape[0] !== a) throw new ShapeError(op, 'anchors', `[${a}, 4] or [${n}, ${a}, 4]`, t.shape);
  return b;
}

function levelsOption(op: string, value: readonly number[] | undefined, a: number): number[] {
  if (value === undefined) return [a];
  if (!Array.isArray(value) || value.length === 0 || !value.every((c) => Number.isInteger(c) && c >= 0) || value.reduce((s, c) => s + c, 0) !== a) {
    throw new InvalidArgumentError(op, 'anchorsPerLevel', `must be non-negative integers summing to the ${a} anchors, got ${JSON.stringify(value)}`);
  }
  return [...value];
}
