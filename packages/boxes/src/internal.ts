/** Helpers shared by the box ops (not exported from the package). */
import { InvalidValueError, ShapeError, assertValidBoxes, assertFinite, peekValues, toTensor, tf, valueChecksEnabled, type TensorInput } from '@detkit/core';

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
  const t = toTensor(op, argument, x, 'float32', { emptyShape: [0, 4] });
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
 * Denominators (areas) at or below this count as 0 in {@link safeDiv}: the gradient of a / b is -a / b^2,
 * and b^2 underflows float32 (to 0, giving 0 / 0 = NaN, or to a subnormal, giving infinity) for b below
 * ~1e-19. An area of 1e-18 is a box with sides of 1e-9 pixels.
 */
export const MIN_DENOMINATOR = 1e-18;

/**
 * `a / b` for `b >= 0` with `|a| <= b` (IoU-like ratios), with 0 where `b` is 0 (or at most
 * {@link MIN_DENOMINATOR}) and a gradient that stays finite there (tf.divNoNan's is NaN). The mask comes
 * from tf.step, whose gradient is zero: comparison ops (tf.equal) have no gradient in tfjs and would
 * break tf.grad.
 */
export function safeDiv(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const positive = tf.step(tf.sub(b, MIN_DENOMINATOR)); // 1 where b > MIN_DENOMINATOR, else 0
  return tf.mul(positive, tf.div(a, tf.add(b, tf.sub(1, positive))));
}

/**
 * atan2(w, h), with a gradient that stays finite where w^2 + h^2 underflows (tf.atan2's is 0 / 0 = NaN at
 * a 0 x 0 box): h / (w^2 + h^2) and -w / (w^2 + h^2) in closed form, taken as 0 where w^2 + h^2 is at or
 * below {@link MIN_DENOMINATOR}.
 */
export const safeAtan2 = tf.customGrad((...args) => {
  const [w, h, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([w, h]);
  return {
    value: tf.atan2(w, h),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sw, sh] = saved as [tf.Tensor, tf.Tensor];
      const norm = tf.add(tf.square(sw), tf.square(sh));
      const usable = tf.step(tf.sub(norm, MIN_DENOMINATOR));
      const inv = tf.div(usable, tf.add(norm, tf.sub(1, usable)));
      return [tf.mul(dy, tf.mul(sh, inv)), tf.mul(dy, tf.neg(tf.mul(sw, inv)))];
    },
  };
});

/** Backends whose tensors live in host memory, where a result check costs no download. */
const HOST_BACKENDS = new Set(['cpu', 'wasm']);

/**
 * Checks that an op's result is finite (when value checks are on, on the cpu and wasm backends): inputs within
 * @detkit/core's MAX_INPUT_MAGNITUDE can still overflow through a division or exp(). Throws InvalidValueError
 * naming the input `argument` responsible, `problem`, and the first row of `t` affected.
 */
export function assertFiniteResult(op: string, argument: string, t: tf.Tensor, problem: string): void {
  // Only where the values are in host memory (cpu, wasm): on a GPU backend the check would download every
  // result, and in Chromium's WebGPU that synchronous read of a fresh output fails (encode / decode cases).
  if (!valueChecksEnabled() || t.size === 0 || !HOST_BACKENDS.has(tf.getBackend())) return;
  const v = peekValues(t);
  const width = t.size / (t.shape[0] as number);
  for (let i = 0; i < v.length; i++) {
    const x = v[i] as number;
    if (x - x !== 0) throw new InvalidValueError(op, argument, problem, Math.floor(i / width));
  }
}
