import { numberOption, runTypedArrayKernel, tf, type TensorInput, type TypedArrayKernel } from '@detkit/core';
import { xyxyInput } from './internal';
import { REMOVE_SMALL_BOXES_KERNEL } from './kernel-names';

const removeSmallBoxesKernel: TypedArrayKernel<{ minSize: number }> = {
  kernelName: REMOVE_SMALL_BOXES_KERNEL,
  inputNames: ['boxes'],
  compute([boxes], { minSize }, ctx) {
    const b = boxes!.values;
    const n = b.length / 4;
    const keep = new Int32Array(n);
    let k = 0;
    for (let i = 0; i < n; i++) {
      const o = 4 * i;
      if ((b[o + 2] as number) - (b[o] as number) >= minSize && (b[o + 3] as number) - (b[o + 1] as number) >= minSize) keep[k++] = i;
    }
    return [ctx.outputFrom(keep.slice(0, k), [k])];
  },
};

/**
 * Indices of the boxes whose width and height are both at least `minSize`; matches
 * `torchvision.ops.remove_small_boxes` (note: `>=`, so a box of exactly `minSize` is kept).
 *
 * @param boxes - Tensor[N, 4], float32, xyxy.
 * @param minSize - Minimum side in pixels, >= 0.
 * @returns Tensor[K], int32, increasing indices into `boxes`. Empty when nothing is kept.
 */
export function removeSmallBoxes(boxes: TensorInput, minSize: number): tf.Tensor1D {
  const op = 'removeSmallBoxes';
  numberOption(op, 'minSize', minSize, { min: 0 });
  return tf.tidy(() => {
    const t = xyxyInput(op, 'boxes', boxes, { rank2: true });
    return runTypedArrayKernel(removeSmallBoxesKernel, [t], { minSize })[0] as tf.Tensor1D;
  });
}
