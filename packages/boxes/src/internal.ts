/** Helpers shared by the box ops (not exported from the package). */
import { InvalidArgumentError, ShapeError, assertValidBoxes, assertFinite, toTensor, tf, type TensorInput } from '@detkit/core';

/** The four coordinate columns of [..., 4] boxes, each [..., 1]. */
export interface Columns {
  c0: tf.Tensor;
  c1: tf.Tensor;
  c2: tf.Tensor;
  c3: tf.Tensor;
}

/** Splits [..., 4] into its four columns (keeping the last axis, size 1). Call inside `tf.tidy`. */
export function columns(t: tf.Tensor): Columns {
  const [c0, c1, c2, c3] = tf.split(t, 4, -1) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
  return { c0, c1, c2, c3 };
}

/** Stacks four [..., 1] columns back into [..., 4]. */
export function stackColumns(c0: tf.Tensor, c1: tf.Tensor, c2: tf.Tensor, c3: tf.Tensor): tf.Tensor {
  return tf.concat([c0, c1, c2, c3], -1);
}

/** Converts and checks a [..., 4] box tensor in (x1, y1, x2, y2) order: shape, finite, x2 >= x1, y2 >= y1. */
export function xyxyInput(op: string, argument: string, x: TensorInput, opts: { rank2?: boolean } = {}): tf.Tensor {
  const t = toTensor(op, argument, x);
  if (opts.rank2 ? t.rank !== 2 || t.shape[1] !== 4 : t.rank < 1 || t.shape[t.rank - 1] !== 4) {
    throw new ShapeError(op, argument, opts.rank2 ? '[N, 4]' : '[..., 4]', t.shape);
  }
  assertValidBoxes(op, argument, t.rank === 2 ? t : tf.reshape(t, [-1, 4]));
  return t;
}

/** Converts and checks a tensor that must be finite, with the given rank. */
export function finiteInput(op: string, argument: string, x: TensorInput, rank: number, text: string, dtype: 'float32' | 'int32' = 'float32'): tf.Tensor {
  const t = toTensor(op, argument, x, dtype);
  if (t.rank !== rank) throw new ShapeError(op, argument, text, t.shape);
  if (dtype === 'float32') assertFinite(op, argument, t);
  return t;
}

/**
 * `a / b` for `b >= 0`, with 0 where `b` is 0 and a gradient that stays finite there (tf.divNoNan's is
 * NaN). The mask comes from tf.step, whose gradient is zero: comparison ops (tf.equal) have no gradient
 * in tfjs and would break tf.grad.
 */
export function safeDiv(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const positive = tf.step(b); // 1 where b > 0, else 0
  return tf.mul(positive, tf.div(a, tf.add(b, tf.sub(1, positive))));
}

/** Checks a threshold-like option: a finite number in [min, max]. */
export function numberOption(op: string, argument: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
    throw new InvalidArgumentError(op, argument, `must be a number in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}
