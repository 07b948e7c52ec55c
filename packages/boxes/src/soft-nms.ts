import { InvalidArgumentError, integerOption, numberOption, runTypedArrayKernel, tf, type TensorInput, type TypedArrayKernel } from '@detkit/core';
import { ShapeError } from '@detkit/core';
import { finiteInput, xyxyInput } from './internal';
import { softNmsCore, type SoftNmsParams } from './nms-core';
import { SOFT_NMS_KERNEL } from './kernel-names';

/** Options of {@link softNms}. */
export interface SoftNmsOptions {
  /** Score decay: `'linear'` f = 1 - IoU when IoU > iouThreshold, else 1; `'gaussian'` f = exp(-IoU^2 / sigma). Default `'gaussian'`. */
  method?: 'linear' | 'gaussian';
  /** N_t of the linear method. Default 0.3 (the paper's). */
  iouThreshold?: number;
  /**
   * sigma of the gaussian method. Default 0.5 (the paper's). Note: tfjs's `softNmsSigma` uses
   * exp(-IoU^2 / (2 sigma)), so tfjs's sigma s equals this sigma 2s.
   */
  sigma?: number;
  /** Boxes whose (decayed) score falls below this are dropped. Default 0.001 (the paper's code). */
  scoreThreshold?: number;
  /** Keep at most this many. Default: no limit. */
  maxOutputSize?: number;
}

/** Result of {@link softNms}. */
export interface SoftNmsResult {
  /** Tensor[K], int32: selected indices, in selection order (non-increasing decayed score). */
  indices: tf.Tensor1D;
  /** Tensor[K], float32: each selected box's decayed score. */
  scores: tf.Tensor1D;
}

const softNmsKernel: TypedArrayKernel<SoftNmsParams> = {
  kernelName: SOFT_NMS_KERNEL,
  inputNames: ['boxes', 'scores'],
  compute([boxes, scores], params, ctx) {
    const r = softNmsCore(boxes!.values, scores!.values, params);
    const k = r.indices.length;
    return [ctx.outputFrom(r.indices, [k]), ctx.outputFrom(r.scores, [k])];
  },
};

/**
 * Soft-NMS (Bodla et al., "Soft-NMS — Improving Object Detection With One Line of Code", ICCV 2017):
 * instead of discarding overlapping boxes, decays their scores by a function of the IoU with each selected
 * box. O(N^2); runs as a fused kernel on cpu and wasm.
 *
 * @param boxes - Tensor[N, 4], float32, xyxy.
 * @param scores - Tensor[N], float32.
 */
export function softNms(boxes: TensorInput, scores: TensorInput, options: SoftNmsOptions = {}): SoftNmsResult {
  const op = 'softNms';
  const method = options.method ?? 'gaussian';
  if (method !== 'linear' && method !== 'gaussian') {
    throw new InvalidArgumentError(op, 'method', `must be 'linear' or 'gaussian', got ${JSON.stringify(method)}`);
  }
  const params: SoftNmsParams = {
    method,
    iouThreshold: numberOption(op, 'iouThreshold', options.iouThreshold ?? 0.3, { min: 0, max: 1 }),
    sigma: numberOption(op, 'sigma', options.sigma ?? 0.5, { min: Number.MIN_VALUE, max: Infinity, allowInfinity: true }),
    scoreThreshold: numberOption(op, 'scoreThreshold', options.scoreThreshold ?? 0.001, { min: -Infinity, max: Infinity, allowInfinity: true }),
    maxOutputSize: integerOption(op, 'maxOutputSize', options.maxOutputSize ?? Number.MAX_SAFE_INTEGER, { min: 0 }),
  };
  const [indices, decayed] = tf.tidy(() => {
    const b = xyxyInput(op, 'boxes', boxes, { rank2: true });
    const s = finiteInput(op, 'scores', scores, 1, '[N]');
    if (s.shape[0] !== b.shape[0]) throw new ShapeError(op, 'scores', `[${b.shape[0]}] (one per box)`, s.shape);
    return runTypedArrayKernel(softNmsKernel, [b, s], params) as [tf.Tensor1D, tf.Tensor1D];
  });
  return { indices: indices!, scores: decayed! };
}
