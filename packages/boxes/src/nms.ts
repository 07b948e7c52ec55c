import { InvalidArgumentError, ShapeError, integerOption, numberOption, runTypedArrayKernel, tf, type TensorInput, type TypedArrayKernel } from '@detkit/core';
import { finiteInput, xyxyInput } from './internal';
import { greedyNms, sortByScore } from './nms-core';
import { NMS_KERNEL } from './kernel-names';

/** Options of {@link nms} and {@link batchedNms}. */
export interface NmsOptions {
  /**
   * Boxes whose IoU with a higher-scoring kept box is strictly greater than this are discarded
   * (torchvision's rule; tfjs's `tf.image.nonMaxSuppression` discards at >=). In [0, 1].
   */
  iouThreshold: number;
  /** Keep at most this many boxes (the highest-scoring ones). Default: no limit. */
  maxOutputSize?: number;
  /** Only boxes with score strictly greater than this are candidates. Default: -Infinity (all). */
  scoreThreshold?: number;
}

interface NmsAttrs {
  iouThreshold: number;
  maxOutputSize: number;
  scoreThreshold: number;
  batched: boolean;
}

/** Collects the kept indices in candidate order (descending score), up to maxOutputSize. */
function keptInOrder(order: Int32Array, keep: Uint8Array, max: number): Int32Array {
  const out = new Int32Array(Math.min(order.length, max));
  let k = 0;
  for (let r = 0; r < order.length && k < out.length; r++) if (keep[order[r]!]) out[k++] = order[r]!;
  return out.subarray(0, k);
}

const nmsKernel: TypedArrayKernel<NmsAttrs> = {
  kernelName: NMS_KERNEL,
  inputNames: ['boxes', 'scores', 'classIds'],
  compute([boxes, scores, classIds], attrs, ctx) {
    const s = scores!.values;
    const b = boxes!.values;
    const keep = new Uint8Array(s.length);
    // torch compares float32 scores with the threshold cast to float32 (scores > 0.2 keeps no 0.2f).
    const order = sortByScore(s, Math.fround(attrs.scoreThreshold));
    if (!attrs.batched) {
      greedyNms(ctx, b, order, attrs.iouThreshold, attrs.maxOutputSize, keep);
    } else {
      // Per class: a stable partition of the global order keeps each class's candidates sorted.
      const ids = classIds!.values;
      const byClass = new Map<number, number[]>();
      for (let r = 0; r < order.length; r++) {
        const c = ids[order[r]!] as number;
        let list = byClass.get(c);
        if (list === undefined) byClass.set(c, (list = []));
        list.push(order[r]!);
      }
      for (const list of byClass.values()) greedyNms(ctx, b, Int32Array.from(list), attrs.iouThreshold, attrs.maxOutputSize, keep);
    }
    const kept = keptInOrder(order, keep, attrs.maxOutputSize);
    return [ctx.outputFrom(kept.slice(), [kept.length])];
  },
};

function checkOptions(op: string, options: NmsOptions): NmsAttrs {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(op, 'options', 'must be an object with iouThreshold');
  const iouThreshold = numberOption(op, 'iouThreshold', options.iouThreshold, { min: 0, max: 1 });
  const maxOutputSize = integerOption(op, 'maxOutputSize', options.maxOutputSize ?? Number.MAX_SAFE_INTEGER, { min: 0 });
  const scoreThreshold = numberOption(op, 'scoreThreshold', options.scoreThreshold ?? -Infinity, { allowInfinity: true });
  return { iouThreshold, maxOutputSize, scoreThreshold, batched: false };
}

function scoresInput(op: string, scores: TensorInput, n: number): tf.Tensor {
  const s = finiteInput(op, 'scores', scores, 1, '[N]');
  if (s.shape[0] !== n) throw new ShapeError(op, 'scores', `[${n}] (one per box)`, s.shape);
  return s;
}

/**
 * Non-maximum suppression; matches `torchvision.ops.nms`: visits boxes by descending score and discards
 * every box whose IoU with an already kept box is > `iouThreshold`.
 *
 * Differences from tfjs's `tf.image.nonMaxSuppression`: boxes are xyxy (not yxyx), suppression is at
 * IoU > threshold (tfjs: >=), and there is no default output limit. Equal scores keep the lower index
 * first (torch's sort leaves their order unspecified). Runs as one fused kernel on cpu and wasm (a
 * spatial grid prunes the pairs tested); on other backends the same kernel runs over a download.
 *
 * @param boxes - Tensor[N, 4], float32, xyxy with x2 >= x1, y2 >= y1.
 * @param scores - Tensor[N], float32, finite.
 * @returns Tensor[K], int32: indices of the kept boxes in descending score order. Empty for N = 0.
 */
export function nms(boxes: TensorInput, scores: TensorInput, options: NmsOptions): tf.Tensor1D {
  const op = 'nms';
  const attrs = checkOptions(op, options);
  return tf.tidy(() => {
    const b = xyxyInput(op, 'boxes', boxes, { rank2: true });
    const s = scoresInput(op, scores, b.shape[0] as number);
    return runTypedArrayKernel(nmsKernel, [b, s, tf.zeros([0], 'int32')], attrs)[0] as tf.Tensor1D;
  });
}

/**
 * Class-aware NMS; matches `torchvision.ops.batched_nms`: boxes suppress only boxes of the same class.
 * Same rules as {@link nms}, which it equals on each class; the merged result is in descending score order.
 *
 * @param boxes - Tensor[N, 4], float32, xyxy.
 * @param scores - Tensor[N], float32.
 * @param classIds - Tensor[N], int32 class of each box (any integers).
 * @returns Tensor[K], int32 indices in descending score order.
 */
export function batchedNms(boxes: TensorInput, scores: TensorInput, classIds: TensorInput, options: NmsOptions): tf.Tensor1D {
  const op = 'batchedNms';
  const attrs = { ...checkOptions(op, options), batched: true };
  return tf.tidy(() => {
    const b = xyxyInput(op, 'boxes', boxes, { rank2: true });
    const n = b.shape[0] as number;
    const s = scoresInput(op, scores, n);
    const c = finiteInput(op, 'classIds', classIds, 1, '[N]', 'int32');
    if (c.shape[0] !== n) throw new ShapeError(op, 'classIds', `[${n}] (one per box)`, c.shape);
    return runTypedArrayKernel(nmsKernel, [b, s, c], attrs)[0] as tf.Tensor1D;
  });
}
