/**
 * Input checks run before dispatch, in the spirit of tfjs's `convertToTensor` + lazy-message asserts:
 * the error names the op, the argument and what was expected, and is thrown before any work is done.
 */
import { InvalidArgumentError, InvalidValueError, ShapeError } from './errors';
import { peekValues } from './kernels';
import { tf } from './tf';

let valueChecks = true;

/**
 * Turns the value checks (NaN, infinity, x2 < x1) on or off; shape checks always run. They are on by
 * default. On cpu and wasm they read tensors in place and cost one pass over the data; on GPU-class
 * backends they cost a sync download, which a training loop on a GPU may want to skip.
 */
export function setValueChecks(enabled: boolean): void {
  valueChecks = enabled;
}

/** Whether value checks are on (see {@link setValueChecks}). */
export function valueChecksEnabled(): boolean {
  return valueChecks;
}

/** Anything detkit accepts where a tensor is expected. */
export type TensorInput = tf.Tensor | tf.TensorLike;

/**
 * Converts `x` to a tensor of `dtype` (casting tensors of another numeric dtype). Returns `x` itself when
 * it already is one; otherwise a new tensor that the caller owns (create it inside `tf.tidy`).
 */
export function toTensor(op: string, argument: string, x: TensorInput, dtype: 'float32' | 'int32' = 'float32'): tf.Tensor {
  if (x instanceof tf.Tensor) {
    if (x.isDisposed) throw new InvalidArgumentError(op, argument, 'is a disposed tensor');
    if (x.dtype === dtype) return x;
    if (x.dtype === 'string' || x.dtype === 'complex64') {
      throw new InvalidArgumentError(op, argument, `must be a numeric tensor, got dtype ${x.dtype}`);
    }
    return tf.cast(x, dtype);
  }
  if (x === null || (typeof x !== 'object' && typeof x !== 'number') || tf.util.inferDtype(x) === 'string') {
    throw new InvalidArgumentError(op, argument, `must be a tensor or numeric array, got ${typeof x === 'string' ? 'a string' : String(x)}`);
  }
  try {
    return tf.tensor(x, undefined, dtype);
  } catch (cause) {
    throw new InvalidArgumentError(op, argument, `could not be converted to a tensor (${String(cause)})`);
  }
}

/** Throws {@link ShapeError} unless `t` is [N, 4] (a list of boxes). */
export function assertBoxesShape(op: string, argument: string, t: tf.Tensor): void {
  if (t.rank !== 2 || t.shape[1] !== 4) throw new ShapeError(op, argument, '[N, 4]', t.shape);
}

/** Throws {@link ShapeError} unless `t.shape` matches `pattern` (null matches any size). */
export function assertShape(op: string, argument: string, t: tf.Tensor, pattern: readonly (number | null)[], text: string): void {
  const ok = t.rank === pattern.length && pattern.every((d, i) => d === null || d === t.shape[i]);
  if (!ok) throw new ShapeError(op, argument, text, t.shape);
}

/** First row of [N, 4] `values` with a non-finite coordinate, or -1. */
function firstNonFiniteRow(values: ArrayLike<number>, width: number): number {
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    // v - v is NaN for NaN and ±Infinity, 0 otherwise.
    if (v - v !== 0) return Math.floor(i / width);
  }
  return -1;
}

/**
 * Checks that every value of `t` is finite (when value checks are on); throws {@link InvalidValueError}
 * naming the first offending row.
 */
export function assertFinite(op: string, argument: string, t: tf.Tensor): void {
  if (!valueChecks || t.size === 0) return;
  const row = firstNonFiniteRow(peekValues(t), t.rank >= 2 ? t.size / (t.shape[0] as number) : 1);
  if (row >= 0) throw new InvalidValueError(op, argument, 'has a NaN or infinite value', row);
}

/**
 * Checks [N, 4] boxes in a (x1, y1, x2, y2)-ordered format: finite, and x2 >= x1, y2 >= y1 (zero-size
 * boxes are allowed). Throws {@link InvalidValueError} naming the first offending row.
 */
export function assertValidBoxes(op: string, argument: string, t: tf.Tensor): void {
  if (!valueChecks || t.size === 0) return;
  const v = peekValues(t);
  const row = firstNonFiniteRow(v, 4);
  if (row >= 0) throw new InvalidValueError(op, argument, 'has a NaN or infinite coordinate', row);
  for (let i = 0; i < v.length; i += 4) {
    if ((v[i + 2] as number) < (v[i] as number)) throw new InvalidValueError(op, argument, 'has a box with x2 < x1', i / 4);
    if ((v[i + 3] as number) < (v[i + 1] as number)) throw new InvalidValueError(op, argument, 'has a box with y2 < y1', i / 4);
  }
}

/** Throws {@link InvalidArgumentError} unless `value` is a finite number within [min, max]. */
export function assertNumberInRange(op: string, argument: string, value: unknown, min: number, max: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new InvalidArgumentError(op, argument, `must be a number in [${min}, ${max}], got ${String(value)}`);
  }
}
