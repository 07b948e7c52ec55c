/**
 * Input checks run before dispatch, in the spirit of tfjs's `convertToTensor` + lazy-message asserts:
 * the error names the op, the argument and what was expected, and is thrown before any work is done.
 */
import { InvalidArgumentError, InvalidValueError, ShapeError } from './errors';
import { peekValues } from './kernels';
import { numberOption } from './options';
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
 * Largest magnitude the value checks accept in a float input (1e15). The ops' float32 arithmetic squares
 * and multiplies coordinates (areas, squared diagonals, sums of squares over many elements), which
 * overflows float32's 3.4e38 to infinity and then NaN for coordinates near 1e19 and, in sums, sooner; a
 * value beyond this limit is an {@link InvalidValueError} naming the argument and row instead. 1e15 pixels
 * (or logits, or deltas) is far outside anything a detector sees.
 */
export const MAX_INPUT_MAGNITUDE = 1e15;

/** Options of {@link toTensor}. */
export interface ToTensorOptions {
  /**
   * Shape to give a plain empty JS array `[]` (e.g. `[0, 4]` for boxes), so empty inputs written as `[]`
   * give empty results rather than a rank error. Without it `[]` is a tensor of shape [0].
   */
  emptyShape?: readonly number[];
}

const INT32_MAX = 2 ** 31 - 1;

function isNumericArrayLike(v: unknown): v is ArrayLike<unknown> {
  return Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
}

function shapeOfFirst(v: unknown): number[] {
  const shape: number[] = [];
  for (let x = v; isNumericArrayLike(x); x = x[0]) {
    shape.push(x.length);
    if (x.length === 0) break;
  }
  return shape;
}

function integerProblem(v: number): string | null {
  if (Number.isInteger(v) && Math.abs(v) <= INT32_MAX) return null;
  return Number.isInteger(v) ? `has ${v}, outside the int32 range` : `has ${v} where an integer is expected`;
}

/**
 * Checks a nested JS array before tfjs sees it: rectangular (tfjs infers the shape from the first element
 * on each axis and would read past a short row, or cut a long one), numbers or booleans only, and, for an
 * int32 result, integers (tfjs truncates 0.7 and NaN to 0 silently).
 */
function checkNestedArray(op: string, argument: string, x: ArrayLike<unknown>, dtype: 'float32' | 'int32'): void {
  const shape = shapeOfFirst(x);
  const visit = (v: unknown, depth: number, row: number): void => {
    if (depth < shape.length) {
      if (!isNumericArrayLike(v) || v.length !== shape[depth]) {
        const rowShape = shapeOfFirst(x[row]);
        const rowText = rowShape.join(', ') !== shape.slice(1).join(', ') ? `row ${row} has shape [${rowShape.join(', ')}]` : `row ${row} differs below its first element`;
        throw new ShapeError(op, argument, `[${shape.join(', ')}] (rows of equal length)`, rowShape, { text: `a ragged array: ${rowText}`, index: row });
      }
      if (ArrayBuffer.isView(v) && dtype === 'float32') return; // a typed row holds numbers only
      for (let i = 0; i < v.length; i++) visit(v[i], depth + 1, depth === 0 ? i : row);
      return;
    }
    if (typeof v === 'boolean') return;
    if (typeof v !== 'number') {
      throw new InvalidArgumentError(op, argument, `must hold numbers, got ${v === null ? 'null' : typeof v} in row ${row}`);
    }
    if (dtype === 'int32') {
      const problem = integerProblem(v);
      if (problem !== null) throw new InvalidValueError(op, argument, problem, row);
    }
  };
  visit(x, 0, 0);
}

/** Checks that a float tensor about to be cast to int32 holds integers (when value checks are on). */
function checkIntegerValues(op: string, argument: string, t: tf.Tensor): void {
  if (!valueChecks || t.size === 0) return;
  const v = peekValues(t);
  const width = t.rank >= 2 ? t.size / (t.shape[0] as number) : 1;
  for (let i = 0; i < v.length; i++) {
    const problem = integerProblem(v[i] as number);
    if (problem !== null) throw new InvalidValueError(op, argument, problem, Math.floor(i / width));
  }
}

/**
 * Converts `x` to a tensor of `dtype` (casting tensors of another numeric dtype). Returns `x` itself when
 * it already is one; otherwise a new tensor that the caller owns (create it inside `tf.tidy`).
 *
 * JS arrays are checked first: a ragged array (`[[0, 0, 10, 10], [1, 1]]`) is a {@link ShapeError} naming
 * the first row that differs; a non-numeric element an {@link InvalidArgumentError}. For `int32` a
 * non-integer value (0.7, NaN, infinity) or one outside the int32 range, in a JS array or a float tensor,
 * is an {@link InvalidValueError} naming the row (the tensor check is a value check, see
 * {@link setValueChecks}), where tfjs would truncate it silently.
 */
export function toTensor(op: string, argument: string, x: TensorInput, dtype: 'float32' | 'int32' = 'float32', options: ToTensorOptions = {}): tf.Tensor {
  if (x instanceof tf.Tensor) {
    if (x.isDisposed) throw new InvalidArgumentError(op, argument, 'is a disposed tensor');
    if (x.dtype === dtype) return x;
    if (x.dtype === 'string' || x.dtype === 'complex64') {
      throw new InvalidArgumentError(op, argument, `must be a numeric tensor, got dtype ${x.dtype}`);
    }
    if (dtype === 'int32' && x.dtype === 'float32') checkIntegerValues(op, argument, x);
    return tf.cast(x, dtype);
  }
  if (x === null || (typeof x !== 'object' && typeof x !== 'number') || tf.util.inferDtype(x) === 'string') {
    throw new InvalidArgumentError(op, argument, `must be a tensor or numeric array, got ${typeof x === 'string' ? 'a string' : String(x)}`);
  }
  if (typeof x === 'number') {
    const problem = dtype === 'int32' ? integerProblem(x) : null;
    if (problem !== null) throw new InvalidValueError(op, argument, problem);
  } else if (isNumericArrayLike(x)) {
    if (x.length === 0 && options.emptyShape !== undefined) return tf.zeros(options.emptyShape as number[], dtype);
    checkNestedArray(op, argument, x, dtype);
  } else {
    throw new InvalidArgumentError(op, argument, `must be a tensor or numeric array, got ${Object.prototype.toString.call(x)}`);
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

/**
 * The first value of `values` that is NaN, infinite or beyond ±{@link MAX_INPUT_MAGNITUDE}: its row (rows
 * of `width` values) and which problem it has, or null.
 */
function firstBadValue(values: ArrayLike<number>, width: number): { row: number; huge: boolean } | null {
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    // v - v is NaN for NaN and ±Infinity, 0 otherwise.
    if (v - v !== 0) return { row: Math.floor(i / width), huge: false };
    if (v > MAX_INPUT_MAGNITUDE || v < -MAX_INPUT_MAGNITUDE) return { row: Math.floor(i / width), huge: true };
  }
  return null;
}

const HUGE_TEXT = 'beyond ±1e15 (MAX_INPUT_MAGNITUDE: float32 arithmetic on it would overflow)';

/**
 * The data of tensors that passed a value check, by check (keyed by `dataId`, which holds the values: tfjs
 * never changes the values behind a data id, and a `tf.Variable`'s assign gives it a new one). A detector
 * passes the same anchors to its matcher and box coder for every image of every step: they are read once.
 * `finiteData` also holds what passed {@link assertValidBoxes}.
 */
const finiteData = new WeakSet<object>();
const validBoxData = new WeakSet<object>();

/**
 * Checks that every value of `t` is finite and within ±{@link MAX_INPUT_MAGNITUDE} (when value checks are
 * on); throws {@link InvalidValueError} naming the first offending row. Data that passed before is not
 * read again.
 */
export function assertFinite(op: string, argument: string, t: tf.Tensor): void {
  if (!valueChecks || t.size === 0 || finiteData.has(t.dataId)) return;
  const bad = firstBadValue(peekValues(t), t.rank >= 2 ? t.size / (t.shape[0] as number) : 1);
  if (bad !== null) throw new InvalidValueError(op, argument, bad.huge ? `has a value ${HUGE_TEXT}` : 'has a NaN or infinite value', bad.row);
  finiteData.add(t.dataId);
}

/**
 * Checks [N, 4] boxes in a (x1, y1, x2, y2)-ordered format: finite, within ±{@link MAX_INPUT_MAGNITUDE},
 * and x2 >= x1, y2 >= y1 (zero-size boxes are allowed). Throws {@link InvalidValueError} naming the first
 * offending row. Data that passed before is not read again.
 */
export function assertValidBoxes(op: string, argument: string, t: tf.Tensor): void {
  if (!valueChecks || t.size === 0 || validBoxData.has(t.dataId)) return;
  const v = peekValues(t);
  const bad = firstBadValue(v, 4);
  if (bad !== null) throw new InvalidValueError(op, argument, bad.huge ? `has a coordinate ${HUGE_TEXT}` : 'has a NaN or infinite coordinate', bad.row);
  for (let i = 0; i < v.length; i += 4) {
    if ((v[i + 2] as number) < (v[i] as number)) throw new InvalidValueError(op, argument, 'has a box with x2 < x1', i / 4);
    if ((v[i + 3] as number) < (v[i + 1] as number)) throw new InvalidValueError(op, argument, 'has a box with y2 < y1', i / 4);
  }
  validBoxData.add(t.dataId);
  finiteData.add(t.dataId);
}

/**
 * Throws {@link InvalidArgumentError} unless `value` is a finite number within [min, max]: an assertion form
 * of `numberOption(op, argument, value, { min, max })` for finite bounds.
 */
export function assertNumberInRange(op: string, argument: string, value: unknown, min: number, max: number): asserts value is number {
  numberOption(op, argument, value, { min, max });
}
