/** Helpers shared by the matchers (not exported from the package). */
import { callWasmKernel, InvalidArgumentError, InvalidValueError, ShapeError, toTensor, type KernelArray, type KernelContext, type TensorInput, type tf, type WasmPointers } from '@detkit/core';
import { matchersWasm, type MatchersWasm } from './wasm';

/**
 * Converts and checks the shape of a match-quality matrix: float32, [M ground truth, N anchors] or a
 * batch [B, M, N]. Returns `x` itself when it already is such a tensor; otherwise a tensor the caller owns
 * (call inside `tf.tidy`). The values are checked (in [0, 1]) by the kernels, in SIMD, before they write
 * anything.
 */
export function qualityInput(op: string, x: TensorInput): tf.Tensor {
  const t = toTensor(op, 'iou', x);
  if (t.rank !== 2 && t.rank !== 3) throw new ShapeError(op, 'iou', '[M, N] (ground truth x anchors) or [B, M, N]', t.shape);
  return t;
}

/** Batch size, boxes, anchors and the shape of the per-anchor outputs of a [M, N] or [B, M, N] matrix. */
export function matrixShape(shape: readonly number[]): { batch: number; m: number; n: number; outShape: number[] } {
  const batched = shape.length === 3;
  const batch = batched ? (shape[0] as number) : 1;
  const m = shape[shape.length - 2] as number;
  const n = shape[shape.length - 1] as number;
  return { batch, m, n, outShape: batched ? [batch, n] : [n] };
}

/**
 * How far above 1 an IoU may lie (float32 rounding of inter / union); the matchers reject values outside
 * [0, 1 + IOU_TOLERANCE], NaN and infinities.
 */
export const IOU_TOLERANCE = 1e-5;

/**
 * The error for a value of the IoU matrix outside [0, 1] (NaN, infinite, negative or above 1) at flat
 * `index` of a tensor of `shape` (the row is the index along the first axis: a box, or an image of a batch).
 */
export function notIou(op: string, index: number, shape: readonly number[]): InvalidValueError {
  const width = shape.slice(1).reduce((a, b) => a * b, 1);
  return new InvalidValueError(op, 'iou', 'has a value outside [0, 1] (NaN, infinite, negative or above 1: not an IoU)', Math.floor(index / width));
}

/** Checks that an options object was passed (a plain object, not null). */
export function optionsObject<T extends object>(op: string, options: T | undefined): T {
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError(op, 'options', `must be an object, got ${String(options)}`);
  }
  return options;
}

/** The bounds of a threshold option, for @detkit/core's `numberOption`: [0, 1]. */
export const THRESHOLD = { min: 0, max: 1 } as const;

/**
 * The bounds of a threshold that makes positives, for @detkit/core's `numberOption`: (0, 1] (at 0, an
 * anchor overlapping nothing would be positive).
 */
export const POSITIVE_THRESHOLD = { min: 0, max: 1, minExclusive: true } as const;


/**
 * A float32 kernel input's values as a Float32Array. tfjs-backend-cpu's Cast from int32 to float32 shares
 * the int32 data (no encoding loss), so a cast tensor can still hold an Int32Array there; a wasm kernel
 * reading its bytes as float32 would see garbage.
 */
export function float32Values(values: KernelArray): Float32Array {
  return values instanceof Float32Array ? values : Float32Array.from(values);
}

/**
 * Runs a matcher's wasm kernel over a [B, M, N] IoU matrix (B = 1 for [M, N]), image by image, after the
 * SIMD check that every value is an IoU (when `checkValues`): `perImage(wasm, p, b, q)` gets the
 * pointers of the call and `q`, the byte offset of image b's matrix. The IoU matrix is the call's first
 * input (float32). Throws {@link notIou} naming `op` at the first value that is not an IoU.
 */
export function matchEachImage(
  op: string,
  ctx: KernelContext,
  iou: { values: KernelArray; shape: readonly number[] },
  call: { outputs: readonly KernelArray[]; scratchBytes: number },
  checkValues: boolean,
  perImage: (wasm: MatchersWasm, p: WasmPointers, b: number, q: number) => void,
): void {
  const { batch, m, n } = matrixShape(iou.shape);
  const bad = callWasmKernel(matchersWasm, ctx, { inputs: [float32Values(iou.values)], ...call }, (wasm, p) => {
    const at = checkValues ? wasm.firstNotIou(p.inputs[0]!, batch * m * n, IOU_TOLERANCE) : -1;
    if (at >= 0) return at;
    for (let b = 0; b < batch; b++) perImage(wasm, p, b, p.inputs[0]! + 4 * b * m * n);
    return -1;
  });
  if (bad >= 0) throw notIou(op, bad, iou.shape);
}
