import { InvalidArgumentError, tf, type TensorInput } from '@detkit/core';
import { columns, stackColumns, xyxyInput } from './internal';

/**
 * Clips boxes to an image; matches `torchvision.ops.clip_boxes_to_image`: x to [0, width], y to [0, height].
 *
 * @param boxes - Tensor[..., 4], float32, xyxy.
 * @param imageSize - `[height, width]` in pixels (the order tf.image and torchvision use).
 * @returns Tensor[..., 4], float32, xyxy. Differentiable (zero gradient where a coordinate was clipped).
 */
export function clipBoxes(boxes: TensorInput, imageSize: readonly [number, number]): tf.Tensor {
  const op = 'clipBoxes';
  const [height, width] = Array.isArray(imageSize) ? imageSize : [];
  if (!Array.isArray(imageSize) || imageSize.length !== 2 || !(height! >= 0) || !(width! >= 0) || !Number.isFinite(height) || !Number.isFinite(width)) {
    throw new InvalidArgumentError(op, 'imageSize', `must be [height, width] with finite sizes >= 0, got ${JSON.stringify(imageSize)}`);
  }
  return tf.tidy(() => {
    const t = xyxyInput(op, 'boxes', boxes);
    const { c0, c1, c2, c3 } = columns(t);
    return stackColumns(
      tf.clipByValue(c0, 0, width!),
      tf.clipByValue(c1, 0, height!),
      tf.clipByValue(c2, 0, width!),
      tf.clipByValue(c3, 0, height!),
    );
  });
}
