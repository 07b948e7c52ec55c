import { tf, type TensorInput } from '@detkit/core';
import { columns, xyxyInput } from './internal';

/**
 * Area of each box; matches `torchvision.ops.box_area`.
 *
 * @param boxes - Tensor[..., 4], float32, xyxy with x2 >= x1 and y2 >= y1.
 * @returns Tensor[...], float32: (x2 - x1) * (y2 - y1). Differentiable.
 */
export function boxArea(boxes: TensorInput): tf.Tensor {
  return tf.tidy(() => {
    const t = xyxyInput('boxArea', 'boxes', boxes);
    const { c0, c1, c2, c3 } = columns(t);
    return tf.squeeze(tf.mul(tf.sub(c2, c0), tf.sub(c3, c1)), [-1]);
  });
}
