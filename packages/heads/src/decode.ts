/**
 * Box decoding inside the selection kernels (not exported from the package): torchvision's
 * `BoxCoder.decode_single` followed by `clip_boxes_to_image`, in float32 step by step, for one box.
 *
 * @detkit/boxes' `decodeBoxes` computes the same as a chain of tfjs ops; it is the differentiable form, but
 * its column splits (SplitV on the last axis) cost 30 ms (wasm) to 340 ms (cpu) for 22,500 boxes, more than
 * the rest of the proposal layer together. The selection steps need no gradient, so they decode here.
 */
import { DEFAULT_SCALE_CLAMP, type BoxCoderWeights } from '@detkit/boxes';
import { InvalidArgumentError } from '@detkit/core';

const f = Math.fround;

/**
 * Checks the decoding options of a selection op: `weights` (four finite numbers > 0, `defaultWeights`
 * when undefined) and `clamp` (a number, or false for none; `DEFAULT_SCALE_CLAMP` when undefined). Throws
 * an `InvalidArgumentError` naming the option.
 */
export function decodeOptions(
  op: string,
  options: { weights?: BoxCoderWeights; clamp?: number | false },
  defaultWeights: BoxCoderWeights,
): { weights: BoxCoderWeights; clamp: number | false } {
  const weights = options.weights ?? defaultWeights;
  if (!Array.isArray(weights) || weights.length !== 4 || !weights.every((w) => typeof w === 'number' && Number.isFinite(w) && w > 0)) {
    throw new InvalidArgumentError(op, 'weights', `must be four finite numbers > 0, got ${JSON.stringify(weights)}`);
  }
  const clamp = options.clamp ?? DEFAULT_SCALE_CLAMP;
  if (clamp !== false && (typeof clamp !== 'number' || Number.isNaN(clamp))) throw new InvalidArgumentError(op, 'clamp', `must be a number or false, got ${String(clamp)}`);
  return { weights, clamp };
}

/** Decoding constants: the box-coder weights and the dw, dh clamp, as float32. */
export interface DecodeParams {
  wx: number;
  wy: number;
  ww: number;
  wh: number;
  /** Upper clamp of dw, dh (float32), or Infinity. */
  clamp: number;
}

export function decodeParams(weights: readonly [number, number, number, number], clamp: number | false): DecodeParams {
  return { wx: f(weights[0]), wy: f(weights[1]), ww: f(weights[2]), wh: f(weights[3]), clamp: clamp === false ? Infinity : f(clamp) };
}

/**
 * Decodes deltas[o..o+3] = (dx, dy, dw, dh) against anchors[q..q+3] (xyxy), clips the box to
 * [0, width] x [0, height], and writes it to out[r..r+3]. Float32 as torchvision (exp to rounding).
 */
export function decodeClipInto(
  deltas: ArrayLike<number>, o: number,
  anchors: ArrayLike<number>, q: number,
  p: DecodeParams, height: number, width: number,
  out: Float32Array, r: number,
): void {
  const ax1 = anchors[q] as number, ay1 = anchors[q + 1] as number;
  const w = f((anchors[q + 2] as number) - ax1);
  const h = f((anchors[q + 3] as number) - ay1);
  const cx = f(ax1 + f(0.5 * w));
  const cy = f(ay1 + f(0.5 * h));
  const dx = f((deltas[o] as number) / p.wx);
  const dy = f((deltas[o + 1] as number) / p.wy);
  const dw = Math.min(f((deltas[o + 2] as number) / p.ww), p.clamp);
  const dh = Math.min(f((deltas[o + 3] as number) / p.wh), p.clamp);
  const pcx = f(f(dx * w) + cx);
  const pcy = f(f(dy * h) + cy);
  const halfW = f(0.5 * f(f(Math.exp(dw)) * w));
  const halfH = f(0.5 * f(f(Math.exp(dh)) * h));
  out[r] = Math.min(Math.max(f(pcx - halfW), 0), width);
  out[r + 1] = Math.min(Math.max(f(pcy - halfH), 0), height);
  out[r + 2] = Math.min(Math.max(f(pcx + halfW), 0), width);
  out[r + 3] = Math.min(Math.max(f(pcy + halfH), 0), height);
}

/** Width and height of the box at out[r..r+3] meet `minSize` (float32, torchvision's `>=`). */
export function bigEnough(out: Float32Array, r: number, minSize: number): boolean {
  return f((out[r + 2] as number) - (out[r] as number)) >= minSize && f((out[r + 3] as number) - (out[r + 1] as number)) >= minSize;
}
