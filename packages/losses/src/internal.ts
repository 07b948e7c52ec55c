/** Helpers shared by the losses (not exported from the package). */
import {
  InvalidArgumentError,
  InvalidValueError,
  MAX_INPUT_MAGNITUDE,
  ShapeError,
  callWasmKernel,
  hasTypedArrayPath,
  peekValues,
  runTypedArrayKernel,
  tf,
  toTensor,
  valueChecksEnabled,
  type TensorInput,
  type TypedArrayKernel,
} from '@detkit/core';
import { lossesWasm } from './wasm';
import { SCAN_KERNEL } from './kernel-names';

/**
 * How a loss reduces its per-element values: `'none'` keeps them, `'sum'` adds them up, `'mean'`
 * averages them (or, for the composite detection losses, applies the method's normalisation).
 */
export type Reduction = 'none' | 'sum' | 'mean';

/** The parts of a composite detection loss, for logging; `total` is what to minimise. */
export interface DetectionLoss {
  /** The weighted sum of the parts: classification + weight x regression. */
  total: tf.Tensor;
  /** Classification (objectness) term. */
  classification: tf.Tensor;
  /** Box regression term, before its weight (lambda, alpha) is applied. */
  regression: tf.Tensor;
}

const REDUCTIONS: readonly Reduction[] = ['none', 'sum', 'mean'];

/** Checks a `reduction` option (undefined gives `fallback`). */
export function reductionOption(op: string, value: unknown, fallback: Reduction): Reduction {
  if (value === undefined) return fallback;
  if (!REDUCTIONS.includes(value as Reduction)) {
    throw new InvalidArgumentError(op, 'reduction', `must be 'none', 'sum' or 'mean', got ${JSON.stringify(value)}`);
  }
  return value as Reduction;
}

interface ScanAttrs {
  mode: 'finite' | 'labels';
  classes: number;
  ignore: number;
}

/**
 * The value checks as one SIMD pass (assembly/index.ts): the index of the first float that is NaN,
 * infinite or beyond ±MAX_INPUT_MAGNITUDE (@detkit/core's 1e15, where float32 sums of squares overflow), or of
 * the first label outside [0, classes) other than `ignore`; -1 when there is none. An SSD batch's 5.9M
 * logits take ~2 ms where a JS loop takes ~15 ms.
 */
const scanKernel: TypedArrayKernel<ScanAttrs> = {
  kernelName: SCAN_KERNEL,
  inputNames: ['x'],
  compute([x], { mode, classes, ignore }, ctx) {
    const out = ctx.output([1], 'int32');
    const n = x!.values.length;
    const first =
      n === 0
        ? -1
        : callWasmKernel(lossesWasm, ctx, { inputs: [x!.values], outputs: [] }, (wasm, p) =>
            mode === 'finite' ? wasm.firstOutOfRange(p.inputs[0]!, n, MAX_INPUT_MAGNITUDE) : wasm.firstBadLabel(p.inputs[0]!, n, classes, ignore),
          );
    out.values[0] = first;
    return [out];
  },
};

/** First offending flat index of `t` (see {@link scanKernel}); on GPU-class backends a download and a loop. */
function scan(t: tf.Tensor, attrs: ScanAttrs): number {
  if (hasTypedArrayPath()) {
    const out = runTypedArrayKernel(scanKernel, [t], attrs)[0] as tf.Tensor;
    const first = (out.dataSync() as Int32Array)[0] as number;
    out.dispose();
    return first;
  }
  const v = peekValues(t);
  for (let i = 0; i < v.length; i++) {
    const x = v[i] as number;
    if (attrs.mode === 'finite' ? !(Math.abs(x) <= MAX_INPUT_MAGNITUDE) : (x < 0 || x >= attrs.classes) && x !== attrs.ignore) return i;
  }
  return -1;
}

/** Row (first-axis index) of flat index `i` of `t`. */
function rowOf(t: tf.Tensor, i: number): number {
  return t.rank >= 2 ? Math.floor(i / (t.size / (t.shape[0] as number))) : i;
}

/**
 * `t` itself, or on the cpu backend a copy when its values are not stored in an array of its own dtype:
 * tfjs-backend-cpu implements a cast without encoding loss (bool or int32 to float32, bool to int32) as
 * an identity that shares the input's Uint8Array or Int32Array, and a typed-array kernel reading such a
 * "float32" tensor would see integer bytes. Call inside `tf.tidy`.
 */
export function ownBacking(t: tf.Tensor): tf.Tensor {
  if (tf.getBackend() !== 'cpu' || t.size === 0) return t;
  const v = peekValues(t) as unknown;
  const ok = t.dtype === 'float32' ? v instanceof Float32Array : t.dtype === 'int32' ? v instanceof Int32Array : true;
  return ok ? t : tf.add(t, tf.scalar(0, t.dtype)); // a binary op writes a fresh array of the output dtype
}

/**
 * Converts a float input and checks that it is finite and within ±MAX_INPUT_MAGNITUDE (1e15; when value
 * checks are on). Call inside `tf.tidy`.
 */
export function floatInput(op: string, argument: string, x: TensorInput): tf.Tensor {
  const t = ownBacking(toTensor(op, argument, x, 'float32'));
  if (valueChecksEnabled() && t.size > 0) {
    const first = scan(t, { mode: 'finite', classes: 0, ignore: 0 });
    if (first >= 0) {
      const value = (t.rank === 0 ? t.dataSync() : tf.slice(tf.reshape(t, [-1]), first, 1).dataSync())[0] as number;
      const problem = Number.isFinite(value) ? 'has a value beyond ±1e15 (MAX_INPUT_MAGNITUDE: float32 arithmetic on it would overflow)' : 'has a NaN or infinite value';
      throw new InvalidValueError(op, argument, problem, rowOf(t, first));
    }
  }
  return t;
}

/** Throws {@link ShapeError} unless `t` has exactly `shape`. */
export function assertShapeEquals(op: string, argument: string, t: tf.Tensor, shape: readonly number[], what = ''): void {
  if (t.rank !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new ShapeError(op, argument, `[${shape.join(', ')}]${what ? ` (${what})` : ''}`, t.shape);
  }
}

/**
 * Converts class labels to int32 and checks them: a tensor must already be int32 (labels are never
 * differentiated, and a float tensor would be truncated silently); arrays are converted. With value
 * checks on, every label must lie in [0, numClasses) or equal `ignoreIndex`; the error names the row of
 * the first offending label. Call inside `tf.tidy`.
 */
export function labelsInput(op: string, argument: string, x: TensorInput, numClasses: number, ignoreIndex: number): tf.Tensor {
  if (x instanceof tf.Tensor && !x.isDisposed && x.dtype !== 'int32') {
    throw new InvalidArgumentError(op, argument, `must be an int32 tensor of class indices, got dtype ${x.dtype}`);
  }
  const t = ownBacking(toTensor(op, argument, x, 'int32'));
  if (!valueChecksEnabled() || t.size === 0) return t;
  const first = scan(t, { mode: 'labels', classes: numClasses, ignore: ignoreIndex });
  if (first >= 0) {
    const label = (t.rank === 0 ? t.dataSync() : tf.slice(tf.reshape(t, [-1]), first, 1).dataSync())[0] as number;
    const allowed = `[0, ${numClasses}) or the ignore index ${ignoreIndex}`;
    throw new InvalidValueError(op, argument, `has a label outside ${allowed}: ${label}`, rowOf(t, first));
  }
  return t;
}

/**
 * Applies a reduction to per-element losses. The mean of an empty tensor is 0 with a zero gradient
 * (torch gives NaN for most losses; torchvision's box IoU losses give 0, as here).
 */
export function reduce(values: tf.Tensor, reduction: Reduction): tf.Tensor {
  if (reduction === 'none') return values;
  if (reduction === 'sum') return tf.sum(values);
  if (values.size === 0) return tf.sum(values); // 0
  return tf.mean(values);
}

/**
 * sum(x * w) (sum(x) when `w` is null) as one differentiable op whose gradient is w * dy with dy a rank-0
 * scalar. tf.sum's own gradient multiplies by dy reshaped to [1, ..., 1], a broadcast that
 * tfjs-backend-cpu computes element by element through index arithmetic (~0.1 us each: 30 ms for an SSD
 * batch's [32, 8732]); a rank-0 operand takes its fast path. `w` is a constant (a mask).
 */
export function weightedSum(x: tf.Tensor, w: tf.Tensor | null): tf.Tensor {
  const shape = x.shape;
  const op = tf.customGrad((...args) => {
    const [v, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save(w === null ? [] : [w]);
    return {
      value: tf.sum(w === null ? v : tf.mul(v, w)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(saved[0] ?? tf.ones(shape), tf.reshape(dy, [])),
    };
  });
  return op(x);
}

/** `a / max(b, 1)` for a count `b >= 0`: the division of a sum by a count that may be 0. */
export function divByCount(a: tf.Tensor, b: tf.Tensor | number): tf.Tensor {
  return tf.div(a, typeof b === 'number' ? Math.max(b, 1) : tf.maximum(b, 1));
}

/** stop_gradient: the value of x, a zero gradient. */
export const stopGradient = tf.customGrad((...inputs) => ({
  value: tf.clone(inputs[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
}));

/**
 * Elementwise max and min of same-shape tensors with torch's gradient at ties: where a == b the gradient
 * is split in half between them (tf.maximum gives all of it to `a`). It matters for boxes that share an
 * edge, e.g. a prediction equal to its target.
 */
export const tieSplitMaximum = tf.customGrad((...args) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.maximum(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor, tf.Tensor];
      const toA = tf.mul(dy, tf.mul(0.5, tf.add(1, tf.sign(tf.sub(sa, sb))))); // 1, 1/2, 0 for a >, ==, < b
      return [toA, tf.sub(dy, toA)];
    },
  };
});

/** See {@link tieSplitMaximum}. */
export const tieSplitMinimum = tf.customGrad((...args) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.minimum(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor, tf.Tensor];
      const toA = tf.mul(dy, tf.mul(0.5, tf.sub(1, tf.sign(tf.sub(sa, sb))))); // 1, 1/2, 0 for a <, ==, > b
      return [toA, tf.sub(dy, toA)];
    },
  };
});
