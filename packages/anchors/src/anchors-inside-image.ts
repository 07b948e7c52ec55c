import { InvalidArgumentError, assertBoxesShape, assertValidBoxes, runTypedArrayKernel, tf, toTensor, type TensorInput, type TypedArrayKernel } from '@detkit/core';
import { imageSize as imageSizeOption } from './internal';
import { ANCHORS_INSIDE_IMAGE_KERNEL } from './kernel-names';

/** Options of {@link anchorsInsideImage}. */
export interface AnchorsInsideImageOptions {
  /**
   * How far, in pixels, an anchor may reach past the image edge and still count as inside. Default 0
   * (py-faster-rcnn's `allowed_border`). `Infinity` keeps every anchor; a negative value demands a margin.
   */
  allowedBorder?: number;
}

const insideKernel: TypedArrayKernel<{ height: number; width: number; border: number }> = {
  kernelName: ANCHORS_INSIDE_IMAGE_KERNEL,
  inputNames: ['anchors'],
  compute([anchors], { height, width, border }, ctx) {
    const a = anchors!.values;
    const n = a.length / 4;
    const keep = new Int32Array(n);
    const lo = -border;
    const xHi = width + border;
    const yHi = height + border;
    let k = 0;
    for (let i = 0; i < n; i++) {
      const o = 4 * i;
      if ((a[o] as number) >= lo && (a[o + 1] as number) >= lo && (a[o + 2] as number) <= xHi && (a[o + 3] as number) <= yHi) keep[k++] = i;
    }
    return [ctx.outputFrom(keep.slice(0, k), [k])];
  },
};

/**
 * Indices of the anchors that lie inside the image, allowing `allowedBorder` pixels past each edge:
 * `x1 >= -b && y1 >= -b && x2 <= width + b && y2 <= height + b`. This is the Faster R-CNN paper's rule for
 * training the RPN ("cross-boundary anchors are ignored"), as py-faster-rcnn's anchor target layer and the
 * walk-through apply it (the walk-through keeps 8,940 of its 22,500 anchors on 800 x 800). torchvision's RPN
 * does not filter anchors; this has no torchvision counterpart.
 *
 * Edges are inclusive (`<=`): in continuous coordinates an anchor ending exactly on the border is inside,
 * as in the walk-through. (py-faster-rcnn and mmdetection compare `x2 < width + b`, a leftover of `+1`
 * pixel-index boxes.)
 *
 * @param anchors - Tensor[N, 4], float32, xyxy pixels.
 * @param imageSize - `[height, width]` in pixels.
 * @param options - `allowedBorder` (default 0).
 * @returns Tensor[K], int32: increasing indices into `anchors`. Empty when none is inside.
 */
export function anchorsInsideImage(anchors: TensorInput, imageSize: readonly [number, number], options: AnchorsInsideImageOptions = {}): tf.Tensor1D {
  const op = 'anchorsInsideImage';
  const [height, width] = imageSizeOption(op, 'imageSize', imageSize);
  const border = options?.allowedBorder ?? 0;
  if (typeof border !== 'number' || Number.isNaN(border)) {
    throw new InvalidArgumentError(op, 'allowedBorder', `must be a number of pixels (Infinity keeps every anchor), got ${String(border)}`);
  }
  return tf.tidy(() => {
    const t = toTensor(op, 'anchors', anchors, 'float32', { emptyShape: [0, 4] });
    assertBoxesShape(op, 'anchors', t);
    assertValidBoxes(op, 'anchors', t);
    return runTypedArrayKernel(insideKernel, [t], { height, width, border })[0] as tf.Tensor1D;
  });
}
