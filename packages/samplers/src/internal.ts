/**
 * Helpers shared by the samplers and target builders (not exported from the package).
 *
 * The tensor converters return their input detached (@detkit/core's `detach`: the same data, off the
 * gradient tape). Sampling and target building are not differentiated, as in torchvision, whose samplers
 * read `.detach()`ed proposals and losses under `torch.no_grad()`; their kernels register no gradient, and
 * detached inputs keep them out of a backward pass even when an input (a loss, proposals) is on the tape.
 * Call the converters inside `tf.tidy`.
 */
import {
  InvalidArgumentError,
  InvalidValueError,
  ShapeError,
  assertBoxesShape,
  assertFinite,
  assertValidBoxes,
  detach,
  peekValues,
  toTensor,
  valueChecksEnabled,
  tf,
  type TensorInput,
} from '@detkit/core';

/** Converts and checks labels: int32 of the given rank ([N], or [B, N] with `batched`); detached. */
export function labelsInput(op: string, argument: string, x: TensorInput, batched = false): tf.Tensor {
  const t = toTensor(op, argument, x, 'int32');
  if (batched ? t.rank !== 1 && t.rank !== 2 : t.rank !== 1) throw new ShapeError(op, argument, batched ? '[N] or [B, N]' : '[N]', t.shape);
  return detach(t);
}

/** Converts and checks per-element losses: finite float32 of exactly `shape`; detached. */
export function lossInput(op: string, argument: string, x: TensorInput, shape: readonly number[]): tf.Tensor {
  const t = toTensor(op, argument, x);
  if (t.rank !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new ShapeError(op, argument, `[${shape.join(', ')}] (the shape of labels)`, t.shape);
  }
  assertFinite(op, argument, t);
  return detach(t);
}

/** Checks that an options object was passed (a plain object, not null). */
export function optionsObject<T extends object>(op: string, options: T | undefined): T {
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError(op, 'options', `must be an object, got ${String(options)}`);
  }
  return options;
}

/** Checks ground-truth class ids: int32 [M] with every value >= 1 (0 is background); detached. */
export function classesInput(op: string, x: TensorInput, m: number): tf.Tensor1D {
  const t = toTensor(op, 'gtClasses', x, 'int32');
  if (t.rank !== 1 || t.shape[0] !== m) throw new ShapeError(op, 'gtClasses', `[${m}] (one per ground-truth box)`, t.shape);
  if (valueChecksEnabled()) {
    const v = peekValues(t);
    for (let i = 0; i < v.length; i++) {
      if (!((v[i] as number) >= 1)) throw new InvalidValueError(op, 'gtClasses', 'has a class id below 1 (0 is background)', i);
    }
  }
  return detach(t) as tf.Tensor1D;
}

/**
 * Converts and checks [N, 4] xyxy boxes: shape, finite, x2 >= x1, y2 >= y1 (errors name `op`); detached.
 * An empty list (`[]`, shape [0]) is taken as no boxes, [0, 4].
 */
export function boxesInput(op: string, argument: string, x: TensorInput): tf.Tensor2D {
  let t = toTensor(op, argument, x);
  if (t.rank === 1 && t.size === 0) t = tf.reshape(t, [0, 4]);
  assertBoxesShape(op, argument, t);
  assertValidBoxes(op, argument, t);
  return detach(t) as tf.Tensor2D;
}

/** The indices of the positive (label > 0) and negative (label 0) elements, ascending, and their counts. */
export function splitByLabel(labels: ArrayLike<number>): { positive: Int32Array; np: number; negative: Int32Array; nn: number } {
  const n = labels.length;
  const positive = new Int32Array(n);
  const negative = new Int32Array(n);
  let np = 0, nn = 0;
  for (let i = 0; i < n; i++) {
    const l = labels[i] as number;
    if (l > 0) positive[np++] = i;
    else if (l === 0) negative[nn++] = i;
  }
  return { positive, np, negative, nn };
}

/** The ascending indices of the sampled elements (labels >= 0) of a sampler's output labels. */
export function sampledIndices(out: Int32Array): Int32Array {
  let count = 0;
  for (let i = 0; i < out.length; i++) if ((out[i] as number) >= 0) count++;
  const indices = new Int32Array(count);
  for (let i = 0, k = 0; i < out.length; i++) if ((out[i] as number) >= 0) indices[k++] = i;
  return indices;
}
