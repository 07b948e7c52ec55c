import { InvalidArgumentError } from '@detkit/core';

/**
 * How an image is fitted to the model's input size:
 * - `'letterbox'`: scaled by one factor to fit inside, aspect ratio kept, centred, the rest padded
 *   (padding is 0 after normalisation, i.e. the mean colour, as torchvision's `batch_images` pads
 *   normalised images with zeros).
 * - `'stretch'`: scaled to exactly the input size, each axis by its own factor (torchvision's SSD
 *   transform, `Resize((300, 300))`).
 */
export type ResizeMode = 'letterbox' | 'stretch';

/**
 * Where an image landed in the model input, to map boxes between the two:
 * `input = original * scale + offset` (after a flip, `x` is mirrored within `size` first).
 */
export interface ResizePlan {
  /** Original [height, width]. */
  readonly originalSize: readonly [number, number];
  /** Size of the resized image inside the input, [height, width] (before padding). */
  readonly size: readonly [number, number];
  /** [sy, sx]: resized / original, per axis (equal up to rounding for letterbox). */
  readonly scale: readonly [number, number];
  /** [oy, ox]: top-left corner of the resized image in the input. */
  readonly offset: readonly [number, number];
  /** Whether the image was flipped horizontally. */
  readonly flipped: boolean;
}

/** Checks an input size given as one number (square) or [height, width]. */
export function inputSize(op: string, size: number | readonly [number, number]): [number, number] {
  const hw = typeof size === 'number' ? [size, size] : size;
  if (!Array.isArray(hw) || hw.length !== 2 || !hw.every((v) => Number.isInteger(v) && v > 0)) {
    throw new InvalidArgumentError(op, 'imageSize', `must be a positive integer or [height, width] of them, got ${JSON.stringify(size)}`);
  }
  return [hw[0] as number, hw[1] as number];
}

/**
 * Plans fitting a width x height image into `target` ([height, width]). Letterbox: one factor
 * min(H / h, W / w), the resized size rounded to whole pixels (the per-axis scale is then resized /
 * original exactly), centred with floor((W - w') / 2) to the left.
 */
export function planResize(width: number, height: number, target: readonly [number, number], mode: ResizeMode, flipped = false): ResizePlan {
  const [H, W] = target;
  if (mode === 'stretch') {
    return { originalSize: [height, width], size: [H, W], scale: [H / height, W / width], offset: [0, 0], flipped };
  }
  const s = Math.min(H / height, W / width);
  const nh = Math.min(H, Math.max(1, Math.round(height * s)));
  const nw = Math.min(W, Math.max(1, Math.round(width * s)));
  return { originalSize: [height, width], size: [nh, nw], scale: [nh / height, nw / width], offset: [Math.floor((H - nh) / 2), Math.floor((W - nw) / 2)], flipped };
}

/**
 * Maps xyxy boxes of the original image into the model input: scale, mirror when flipped
 * (x1' = w' - x2, x2' = w' - x1 in the resized image), then offset.
 *
 * @param boxes - Float32Array[N * 4], xyxy in original pixels.
 * @returns Float32Array[N * 4], xyxy in input pixels.
 */
export function boxesToInput(boxes: ArrayLike<number>, plan: ResizePlan): Float32Array {
  const [sy, sx] = plan.scale;
  const [oy, ox] = plan.offset;
  const nw = plan.size[1];
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    let x1 = (boxes[i] as number) * sx, x2 = (boxes[i + 2] as number) * sx;
    if (plan.flipped) [x1, x2] = [nw - x2, nw - x1];
    out[i] = x1 + ox;
    out[i + 1] = (boxes[i + 1] as number) * sy + oy;
    out[i + 2] = x2 + ox;
    out[i + 3] = (boxes[i + 3] as number) * sy + oy;
  }
  return out;
}

/**
 * The inverse of {@link boxesToInput}: maps xyxy boxes predicted on the model input back to the
 * original image (for evaluation against the original annotations), clipped to the original image.
 *
 * @param boxes - ArrayLike[N * 4], xyxy in input pixels.
 * @returns Float32Array[N * 4], xyxy in original pixels.
 */
export function boxesToOriginal(boxes: ArrayLike<number>, plan: ResizePlan): Float32Array {
  const [sy, sx] = plan.scale;
  const [oy, ox] = plan.offset;
  const [h, w] = plan.originalSize;
  const nw = plan.size[1];
  const out = new Float32Array(boxes.length);
  const clip = (v: number, hi: number) => Math.min(hi, Math.max(0, v));
  for (let i = 0; i < boxes.length; i += 4) {
    let x1 = (boxes[i] as number) - ox, x2 = (boxes[i + 2] as number) - ox;
    if (plan.flipped) [x1, x2] = [nw - x2, nw - x1];
    out[i] = clip(x1 / sx, w);
    out[i + 1] = clip(((boxes[i + 1] as number) - oy) / sy, h);
    out[i + 2] = clip(x2 / sx, w);
    out[i + 3] = clip(((boxes[i + 3] as number) - oy) / sy, h);
  }
  return out;
}
