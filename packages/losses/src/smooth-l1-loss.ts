import { ShapeError, callWasmKernel, hasTypedArrayPath, numberOption, runTypedArrayKernel, tf, type TensorInput, type TypedArrayKernel } from '@detkit/core';
import { floatInput, reduce, reductionOption, type Reduction } from './internal';
import { lossesWasm } from './wasm';
import { SMOOTH_L1_ROWS_GRAD_KERNEL, SMOOTH_L1_ROWS_KERNEL } from './kernel-names';

/** Options of {@link smoothL1Loss}. */
export interface SmoothL1LossOptions {
  /**
   * Where the loss turns from quadratic to linear. Default 1 (Fast R-CNN; SSD). torchvision's RPN and RoI
   * heads use 1/9 (py-faster-rcnn's sigma = 3, beta = 1 / sigma^2); 0 gives the L1 loss.
   */
  beta?: number;
  /** Default `'mean'`, as torch. */
  reduction?: Reduction;
}

interface RowsAttrs {
  beta: number;
  weighted: boolean;
  /** Every element its own row (the output has pred's shape) instead of rows along the last axis. */
  elementwise: boolean;
}

/** Output shape and row width of pred for {@link RowsAttrs}. */
function rowsOf(shape: readonly number[], elementwise: boolean): { lead: number[]; width: number } {
  return elementwise ? { lead: [...shape], width: 1 } : { lead: shape.slice(0, -1), width: shape[shape.length - 1] as number };
}

/** Options of {@link smoothL1Rows}. */
export interface SmoothL1RowsOptions {
  /**
   * Whether the target is differentiated (default true). The composite losses treat their encoded targets
   * as constants, as torchvision does, and skip that gradient's pass.
   */
  targetGrad?: boolean;
  /** Use the op composition on every backend (for the conformance tests). */
  opsOnly?: boolean;
  /** Every element its own row: no sum, the output has pred's shape. */
  elementwise?: boolean;
}

/** Forward: pred, target [..., W] (and weights [...]) → [...]. */
const rowsKernel: TypedArrayKernel<RowsAttrs> = {
  kernelName: SMOOTH_L1_ROWS_KERNEL,
  inputNames: ['pred', 'target', 'weights'],
  compute([pred, target, weights], { beta, weighted, elementwise }, ctx) {
    const { lead, width } = rowsOf(pred!.shape, elementwise);
    const rows = width === 0 ? 0 : pred!.values.length / width;
    const out = ctx.output(lead, 'float32');
    if (rows > 0) {
      const inputs = weighted ? [pred!.values, target!.values, weights!.values] : [pred!.values, target!.values];
      callWasmKernel(lossesWasm, ctx, { inputs, outputs: [out.values] }, (wasm, p) =>
        wasm.smoothL1Rows(p.inputs[0]!, p.inputs[1]!, weighted ? p.inputs[2]! : 0, rows, width, beta, p.outputs[0]!),
      );
    }
    return [out];
  },
};

/** Backward: pred, target [..., W], weights [...], dy [...] → dpred [..., W]. */
const rowsGradKernel: TypedArrayKernel<RowsAttrs> = {
  kernelName: SMOOTH_L1_ROWS_GRAD_KERNEL,
  inputNames: ['pred', 'target', 'weights', 'dy'],
  compute([pred, target, weights, dy], { beta, weighted, elementwise }, ctx) {
    const { width } = rowsOf(pred!.shape, elementwise);
    const rows = width === 0 ? 0 : pred!.values.length / width;
    const out = ctx.output(pred!.shape, 'float32');
    if (rows > 0 && width > 0) {
      const inputs = weighted ? [pred!.values, target!.values, dy!.values, weights!.values] : [pred!.values, target!.values, dy!.values];
      callWasmKernel(lossesWasm, ctx, { inputs, outputs: [out.values] }, (wasm, p) =>
        wasm.smoothL1RowsGrad(p.inputs[0]!, p.inputs[1]!, weighted ? p.inputs[3]! : 0, p.inputs[2]!, rows, width, beta, p.outputs[0]!),
      );
    }
    return [out];
  },
};

/** torch's smooth L1 of d = pred - target, elementwise, as tfjs ops. */
function forwardOps(pred: tf.Tensor, target: tf.Tensor, beta: number): tf.Tensor {
  const n = tf.abs(tf.sub(pred, target));
  return beta === 0 ? n : tf.where(tf.less(n, beta), tf.div(tf.mul(0.5, tf.square(n)), beta), tf.sub(n, 0.5 * beta));
}

/** torch's smooth_l1_backward slope: -1 for d <= -beta, 1 for d >= beta, d / beta between (beta 0: -1 at d = 0). */
function slopeOps(pred: tf.Tensor, target: tf.Tensor, beta: number): tf.Tensor {
  const d = tf.sub(pred, target);
  return beta === 0 ? tf.step(d, -1) : tf.clipByValue(tf.div(d, beta), -1, 1);
}

/**
 * Smooth L1 summed along the last axis, as one differentiable op: out[r] = w[r] sum_j smoothL1(pred[r, j] -
 * target[r, j]), torch's arithmetic per element and torch's gradients (`smooth_l1_loss_backward`, for the
 * target with the arguments swapped). `weights` (e.g. a positives mask) is a constant. On cpu and wasm
 * both passes are SIMD kernels; elsewhere tfjs ops. Inputs are checked by the caller. Internal.
 *
 * @param pred - Tensor[..., W] float32.
 * @param target - Tensor[..., W] float32.
 * @param weights - Tensor[...] float32 or null (all 1).
 * @returns Tensor[...] float32.
 */
export function smoothL1Rows(pred: tf.Tensor, target: tf.Tensor, beta: number, weights: tf.Tensor | null, options: SmoothL1RowsOptions = {}): tf.Tensor {
  const fused = !options.opsOnly && hasTypedArrayPath();
  const targetGrad = options.targetGrad ?? true;
  const elementwise = options.elementwise ?? false;
  const attrs: RowsAttrs = { beta, weighted: weights !== null, elementwise };
  const op = tf.customGrad((...args) => {
    const p = args[0] as tf.Tensor;
    const t = targetGrad ? (args[1] as tf.Tensor) : target;
    const save = args[args.length - 1] as tf.GradSaveFunc;
    save(weights === null ? [p, t] : [p, t, weights]);
    let value: tf.Tensor;
    if (fused) value = runTypedArrayKernel(rowsKernel, [p, t, weights ?? p], attrs)[0] as tf.Tensor;
    else {
      value = elementwise ? forwardOps(p, t, beta) : tf.sum(forwardOps(p, t, beta), -1);
      if (weights !== null) value = tf.mul(value, weights);
    }
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sp, st, sw] = saved as [tf.Tensor, tf.Tensor, tf.Tensor | undefined];
        const gradOf = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => {
          if (fused && hasTypedArrayPath()) {
            return runTypedArrayKernel(rowsGradKernel, sw === undefined ? [a, b, dy, dy] : [a, b, sw, dy], attrs)[0] as tf.Tensor;
          }
          const scale = sw === undefined ? dy : tf.mul(dy, sw);
          return tf.mul(slopeOps(a, b, beta), elementwise ? scale : tf.expandDims(scale, -1));
        };
        const g = gradOf(sp, st);
        if (!targetGrad) return [g];
        // torch differentiates the target with the same backward, arguments swapped (slope(t - p)): the
        // negative of pred's gradient except at d = 0 for beta = 0, where both are -1.
        return [g, beta === 0 ? gradOf(st, sp) : tf.neg(g)];
      },
    };
  });
  return targetGrad ? op(pred, target) : op(pred);
}

/**
 * Smooth L1 (Huber-like) loss of Fast R-CNN (Girshick 2015, eq. 3), generalised by beta; matches
 * `torch.nn.functional.smooth_l1_loss(pred, target, beta=beta, reduction=reduction)`, values and gradients
 * (for pred and target): `0.5 d^2 / beta` where |d| < beta, `|d| - 0.5 beta` elsewhere, d = pred - target.
 *
 * Not tfjs's `tf.losses.huberLoss`: huberLoss with delta d equals d times smooth L1 with beta d, so the
 * two agree only at 1.
 *
 * @param pred - Tensor[...] float32, any shape.
 * @param target - Tensor of the same shape, float32.
 * @returns The elementwise loss (pred's shape) for `'none'`; a scalar for `'sum'` and `'mean'` (the mean
 *   of an empty input is 0, where torch gives NaN).
 */
export function smoothL1Loss(pred: TensorInput, target: TensorInput, options: SmoothL1LossOptions = {}): tf.Tensor {
  const op = 'smoothL1Loss';
  const beta = numberOption(op, 'beta', options.beta, { default: 1, min: 0 });
  const reduction = reductionOption(op, options.reduction, 'mean');
  return tf.tidy(() => {
    const p = floatInput(op, 'pred', pred);
    const t = floatInput(op, 'target', target);
    if (!tf.util.arraysEqual(p.shape, t.shape)) throw new ShapeError(op, 'target', `[${p.shape.join(', ')}] (the shape of pred)`, t.shape);
    return reduce(smoothL1Rows(p, t, beta, null, { elementwise: true }), reduction);
  });
}
