/** Helpers shared by the heads (not exported from the package). */
import {
  InvalidArgumentError,
  InvalidValueError,
  ShapeError,
  assertFinite,
  assertValidBoxes,
  detach,
  peekValues,
  toTensor,
  tf,
  type TensorInput,
} from '@detkit/core';

/** Converts a feature map: float32, rank 4, NHWC `[B, H, W, C]`. Values are not scanned. */
export function featuresInput(op: string, argument: string, x: TensorInput): tf.Tensor4D {
  const t = toTensor(op, argument, x);
  if (t.rank !== 4) throw new ShapeError(op, argument, '[B, H, W, C] (NHWC)', t.shape);
  return t as tf.Tensor4D;
}

/** Converts and checks [N, 4] xyxy boxes: finite, x2 >= x1, y2 >= y1 (when value checks are on). */
export function boxesInput(op: string, argument: string, x: TensorInput): tf.Tensor2D {
  const t = toTensor(op, argument, x, 'float32', { emptyShape: [0, 4] });
  if (t.rank !== 2 || t.shape[1] !== 4) throw new ShapeError(op, argument, '[K, 4]', t.shape);
  assertValidBoxes(op, argument, t);
  return t as tf.Tensor2D;
}

/** Converts and checks a finite float32 tensor of the given rank. */
export function finiteInput(op: string, argument: string, x: TensorInput, rank: number, text: string): tf.Tensor {
  const t = toTensor(op, argument, x);
  if (t.rank !== rank) throw new ShapeError(op, argument, text, t.shape);
  assertFinite(op, argument, t);
  return t;
}

/**
 * Converts and checks `[K]` int32 image indices, one per box, each in [0, numImages). The range check
 * always runs (the kernels index memory with these values); it reads the indices in place on cpu and wasm.
 */
export function imageIndexInput(op: string, argument: string, x: TensorInput, numBoxes: number, numImages: number): tf.Tensor1D {
  const t = toTensor(op, argument, x, 'int32');
  if (t.rank !== 1 || t.shape[0] !== numBoxes) throw new ShapeError(op, argument, `[${numBoxes}] (one per box)`, t.shape);
  const v = peekValues(t);
  for (let i = 0; i < v.length; i++) {
    const b = v[i] as number;
    if (!(b >= 0 && b < numImages)) {
      throw new InvalidValueError(op, argument, `has image index ${b}, outside [0, ${numImages}) for ${numImages} feature map(s)`, i);
    }
  }
  return t as tf.Tensor1D;
}

/** `[height, width]` of an output grid from `n` or `[h, w]`: positive integers. */
export function gridSize(op: string, argument: string, value: unknown): [number, number] {
  const pair = typeof value === 'number' ? [value, value] : value;
  if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((v) => Number.isInteger(v) && v > 0)) {
    throw new InvalidArgumentError(op, argument, `must be a positive integer or [height, width] of positive integers, got ${JSON.stringify(value)}`);
  }
  return [pair[0] as number, pair[1] as number];
}

/**
 * `[height, width]` of each of `count` images from one `[h, w]` (shared) or a list of them; sizes are
 * finite and >= 0.
 */
export function imageSizesOption(op: string, argument: string, value: unknown, count: number): Array<[number, number]> {
  const isPair = (p: unknown): p is [number, number] =>
    Array.isArray(p) && p.length === 2 && p.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0);
  if (isPair(value)) return Array.from({ length: count }, () => [value[0], value[1]]);
  if (Array.isArray(value) && value.length === count && value.every(isPair)) return value.map((p) => [p[0], p[1]]);
  throw new InvalidArgumentError(op, argument, `must be [height, width] or one [height, width] per image (${count}), got ${JSON.stringify(value)}`);
}

/**
 * The feature maps of a head's `apply`: one map (a tensor or nested array) or a non-empty list of tensors
 * (one per pyramid level).
 */
export function featureLevels(op: string, features: TensorInput | readonly TensorInput[]): TensorInput[] {
  if (Array.isArray(features)) {
    if (features.length === 0) throw new InvalidArgumentError(op, 'features', 'must hold at least one feature map');
    if (features.every((f) => f instanceof tf.Tensor)) return [...(features as tf.Tensor[])];
  }
  return [features as TensorInput];
}

/**
 * Runs a dense head (RPN, SSD) over feature levels, inside a tidy: checks each level is NHWC
 * `[B, H, W, channels(i)]` with one batch size B across the levels (errors name `features[i]`, or
 * `features` for a single map), takes `level(x, i)`'s two flattened outputs `[B, H * W * A, k]` per level
 * and concatenates each over the levels, in level order (the anchors' order). Returns the two outputs and
 * the anchors per level, H * W * `anchorsAt(i)`.
 */
export function applyOverLevels(
  op: string,
  levels: readonly TensorInput[],
  channels: (i: number) => number,
  anchorsAt: (i: number) => number,
  level: (x: tf.Tensor4D, i: number) => [tf.Tensor3D, tf.Tensor3D],
): { outputs: [tf.Tensor3D, tf.Tensor3D]; anchorsPerLevel: number[] } {
  const anchorsPerLevel: number[] = [];
  const outputs = tf.tidy(() => {
    const first: tf.Tensor3D[] = [];
    const second: tf.Tensor3D[] = [];
    let batch = -1;
    levels.forEach((input, i) => {
      const argument = levels.length > 1 ? `features[${i}]` : 'features';
      const x = featuresInput(op, argument, input);
      if (x.shape[3] !== channels(i) || (batch >= 0 && x.shape[0] !== batch)) {
        throw new ShapeError(op, argument, `[${batch >= 0 ? batch : 'N'}, H, W, ${channels(i)}]`, x.shape);
      }
      batch = x.shape[0];
      const [a, b] = level(x, i);
      first.push(a);
      second.push(b);
      anchorsPerLevel.push(x.shape[1] * x.shape[2] * anchorsAt(i));
    });
    return first.length === 1 ? [first[0]!, second[0]!] : [tf.concat(first, 1), tf.concat(second, 1)];
  }) as [tf.Tensor3D, tf.Tensor3D];
  return { outputs, anchorsPerLevel };
}

/**
 * Runs `compute` on constants of `inputs` (@detkit/core's `detach`, torch's `.detach()`), so its result is
 * a constant of the gradient tape: no tape path leads from the inputs to it, nothing downstream of it
 * enters a backward pass through it, and no gradient flows back to the inputs. For selection steps (top-N,
 * NMS, gathers by computed indices) that tfjs cannot differentiate through, and whose outputs feed further
 * ops without gradients (@detkit/samplers' target kernels). Detaching shares the data: no copy, no download.
 */
export function detached(inputs: readonly tf.Tensor[], compute: (...xs: tf.Tensor[]) => tf.Tensor): tf.Tensor {
  return compute(...inputs.map((x) => detach(x)));
}

/**
 * Splits the columns of a [M, W] tensor into tensors of `widths` columns (a width of 0 means one column,
 * squeezed to [M]). Empty M gives fresh empty tensors: tfjs-backend-cpu 4.22's Slice fails on some empty
 * tensors ("vals.subarray is not a function").
 */
export function splitColumns(packed: tf.Tensor, widths: readonly number[]): tf.Tensor[] {
  const m = packed.shape[0] as number;
  let at = 0;
  return widths.map((w) => {
    const cols = Math.max(w, 1);
    const shape = w === 0 ? [m] : [m, w];
    const out = m === 0 ? tf.zeros(shape) : tf.reshape(tf.slice(packed, [0, at], [m, cols]), shape);
    at += cols;
    return out;
  });
}
