import { InvalidArgumentError, InvalidValueError, ShapeError, assertFinite, peekValues, toTensor, tf, valueChecksEnabled, type TensorInput } from '@detkit/core';
import { columns, stackColumns } from './internal';

/**
 * Box formats, all in absolute pixels with continuous coordinates:
 * - `'xyxy'`: (x1, y1, x2, y2), top-left and bottom-right corners. detkit's canonical format.
 * - `'yxyx'`: (y1, x1, y2, x2), as `tf.image` ops and the Faster R-CNN walk-through use.
 * - `'xywh'`: (x1, y1, w, h), as COCO annotation files use.
 * - `'cxcywh'`: (cx, cy, w, h), centre and size.
 */
export type BoxFormat = 'xyxy' | 'yxyx' | 'xywh' | 'cxcywh';

/** Every {@link BoxFormat}, for validation and iteration. */
export const BOX_FORMATS: readonly BoxFormat[] = ['xyxy', 'yxyx', 'xywh', 'cxcywh'];

function assertFormat(op: string, argument: string, format: unknown): asserts format is BoxFormat {
  if (!BOX_FORMATS.includes(format as BoxFormat)) {
    throw new InvalidArgumentError(op, argument, `must be one of ${BOX_FORMATS.map((f) => `'${f}'`).join(', ')}, got ${JSON.stringify(format)}`);
  }
}

/** (x1, y1, x2, y2) columns of boxes given in `format`. Call inside tf.tidy. */
function toXyxyColumns(t: tf.Tensor, format: BoxFormat): [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor] {
  const { c0, c1, c2, c3 } = columns(t);
  switch (format) {
    case 'xyxy':
      return [c0, c1, c2, c3];
    case 'yxyx':
      return [c1, c0, c3, c2];
    case 'xywh':
      return [c0, c1, tf.add(c0, c2), tf.add(c1, c3)];
    case 'cxcywh': {
      // torchvision _box_cxcywh_to_xyxy: x1 = cx - 0.5 * w, x2 = cx + 0.5 * w.
      const hw = tf.mul(0.5, c2);
      const hh = tf.mul(0.5, c3);
      return [tf.sub(c0, hw), tf.sub(c1, hh), tf.add(c0, hw), tf.add(c1, hh)];
    }
  }
}

function fromXyxyColumns(x1: tf.Tensor, y1: tf.Tensor, x2: tf.Tensor, y2: tf.Tensor, format: BoxFormat): tf.Tensor {
  switch (format) {
    case 'xyxy':
      return stackColumns(x1, y1, x2, y2);
    case 'yxyx':
      return stackColumns(y1, x1, y2, x2);
    case 'xywh':
      return stackColumns(x1, y1, tf.sub(x2, x1), tf.sub(y2, y1));
    case 'cxcywh':
      // torchvision _box_xyxy_to_cxcywh: cx = (x1 + x2) / 2, w = x2 - x1.
      return stackColumns(tf.div(tf.add(x1, x2), 2), tf.div(tf.add(y1, y2), 2), tf.sub(x2, x1), tf.sub(y2, y1));
  }
}

/** Checks the size-carrying columns of `format`: x2 >= x1 and y2 >= y1, or w, h >= 0. */
function assertSizes(op: string, argument: string, t: tf.Tensor, format: BoxFormat): void {
  if (!valueChecksEnabled() || t.size === 0) return;
  const v = peekValues(t);
  for (let i = 0; i < v.length; i += 4) {
    const a = v[i] as number, b = v[i + 1] as number, c = v[i + 2] as number, d = v[i + 3] as number;
    let bad: string | undefined;
    if (format === 'xyxy') bad = c < a ? 'x2 < x1' : d < b ? 'y2 < y1' : undefined;
    else if (format === 'yxyx') bad = d < b ? 'x2 < x1' : c < a ? 'y2 < y1' : undefined;
    else bad = c < 0 ? 'a negative width' : d < 0 ? 'a negative height' : undefined;
    if (bad !== undefined) throw new InvalidValueError(op, argument, `has a box with ${bad}`, i / 4);
  }
}

/**
 * Converts boxes between formats; matches `torchvision.ops.box_convert` (plus `'yxyx'`).
 *
 * @param boxes - Tensor[..., 4], float32, in format `from`. Must be finite with non-negative sizes.
 * @param from - Format of `boxes`.
 * @param to - Format of the result.
 * @returns Tensor[..., 4], float32, in format `to`. Differentiable.
 * @throws ShapeError when the last dimension is not 4; InvalidValueError for NaN, infinite coordinates or
 *   negative sizes; InvalidArgumentError for an unknown format.
 */
export function convertBoxes(boxes: TensorInput, from: BoxFormat, to: BoxFormat): tf.Tensor {
  const op = 'convertBoxes';
  assertFormat(op, 'from', from);
  assertFormat(op, 'to', to);
  return tf.tidy(() => {
    const t = toTensor(op, 'boxes', boxes, 'float32', { emptyShape: [0, 4] });
    if (t.rank < 1 || t.shape[t.rank - 1] !== 4) throw new ShapeError(op, 'boxes', '[..., 4]', t.shape);
    assertFinite(op, 'boxes', tf.reshape(t, [-1, 4]));
    assertSizes(op, 'boxes', t, from);
    if (from === to) return t.clone();
    const [x1, y1, x2, y2] = toXyxyColumns(t, from);
    return fromXyxyColumns(x1, y1, x2, y2, to);
  });
}
