/**
 * The softmax cross-entropy of rows of logits, as one differentiable op (internal: the public losses
 * build on it). On cpu and wasm both passes are fused kernels that run the SIMD code of
 * assembly/index.ts; elsewhere they are tfjs op compositions with the same formulas.
 *
 * Why fused: an SSD batch holds 32 x 8,732 x 21 = 5.9M logits. tfjs's log-softmax on the wasm backend
 * takes ~130 ms for them (its Exp kernel alone ~110 ms) and its gradient as much again, where torch takes
 * ~116 ms for the whole SSD loss forward and backward. The kernel (vectorised exp and log) does the
 * forward pass in ~20 ms, and the backward pass skips the rows whose incoming gradient is 0 (the unmined
 * negatives).
 */
import { callWasmKernel, hasTypedArrayPath, runTypedArrayKernel, tf, type TypedArrayKernel } from '@detkit/core';
import { EXP_CONSTANTS_BYTES, lossesWasm } from './wasm';
import { SOFTMAX_CROSS_ENTROPY_GRAD_KERNEL, SOFTMAX_CROSS_ENTROPY_KERNEL } from './kernel-names';

interface XentAttrs {
  ignoreIndex: number;
}

/** Forward: logits [..., C] float32, labels [...] int32 → loss, max, log-sum-exp of the shifted row [...]. */
const xentKernel: TypedArrayKernel<XentAttrs> = {
  kernelName: SOFTMAX_CROSS_ENTROPY_KERNEL,
  inputNames: ['logits', 'labels'],
  compute([logits, labels], { ignoreIndex }, ctx) {
    const lead = labels!.shape;
    const classes = logits!.shape[logits!.shape.length - 1] as number;
    const rows = labels!.values.length;
    const loss = ctx.output(lead, 'float32');
    const max = ctx.output(lead, 'float32');
    const logSum = ctx.output(lead, 'float32');
    if (rows > 0) {
      const call = { inputs: [logits!.values, labels!.values], outputs: [loss.values, max.values, logSum.values], scratchBytes: EXP_CONSTANTS_BYTES };
      callWasmKernel(lossesWasm, ctx, call, (wasm, p) => {
        wasm.expConstants(p.scratch);
        wasm.softmaxCrossEntropy(p.inputs[0]!, p.inputs[1]!, rows, classes, ignoreIndex, p.outputs[0]!, p.outputs[1]!, p.outputs[2]!, p.scratch);
      });
    }
    return [loss, max, logSum];
  },
};

/** Backward: logits [..., C], labels, max, logSum, dy [...] → dlogits [..., C]. */
const xentGradKernel: TypedArrayKernel<XentAttrs> = {
  kernelName: SOFTMAX_CROSS_ENTROPY_GRAD_KERNEL,
  inputNames: ['logits', 'labels', 'max', 'logSum', 'dy'],
  compute([logits, labels, max, logSum, dy], { ignoreIndex }, ctx) {
    const classes = logits!.shape[logits!.shape.length - 1] as number;
    const rows = labels!.values.length;
    const out = ctx.output(logits!.shape, 'float32');
    if (rows > 0 && classes > 0) {
      callWasmKernel(
        lossesWasm,
        ctx,
        { inputs: [logits!.values, labels!.values, max!.values, logSum!.values, dy!.values], outputs: [out.values], scratchBytes: EXP_CONSTANTS_BYTES },
        (wasm, p) => {
          wasm.expConstants(p.scratch);
          wasm.softmaxCrossEntropyGrad(p.inputs[0]!, p.inputs[1]!, p.inputs[2]!, p.inputs[3]!, p.inputs[4]!, rows, classes, ignoreIndex, p.outputs[0]!, p.scratch);
        },
      );
    }
    return [out];
  },
};

/** 1 where the label is a class in [0, C) other than ignoreIndex, else 0; float32 [R]. */
function validRows(labels: tf.Tensor, classes: number, ignoreIndex: number): tf.Tensor {
  const inRange = tf.logicalAnd(tf.greaterEqual(labels, 0), tf.less(labels, classes));
  return tf.cast(tf.logicalAnd(inRange, tf.notEqual(labels, ignoreIndex)), 'float32');
}

/** torch's arithmetic: shifted = x - max, logSum = log(sum(exp(shifted))), loss = logSum - shifted[label]. */
function forwardOps(logits: tf.Tensor, labels: tf.Tensor, ignoreIndex: number): tf.Tensor[] {
  const classes = logits.shape[logits.rank - 1] as number;
  const max = tf.max(logits, -1);
  const shifted = tf.sub(logits, tf.expandDims(max, -1));
  const logSum = tf.log(tf.sum(tf.exp(shifted), -1));
  const picked = tf.sum(tf.mul(shifted, tf.oneHot(labels, classes)), -1); // 0 for an out-of-range label
  return [tf.mul(tf.sub(logSum, picked), validRows(labels, classes, ignoreIndex)), max, logSum];
}

function backwardOps(logits: tf.Tensor, labels: tf.Tensor, max: tf.Tensor, logSum: tf.Tensor, dy: tf.Tensor, ignoreIndex: number): tf.Tensor {
  const classes = logits.shape[logits.rank - 1] as number;
  const g = tf.mul(dy, validRows(labels, classes, ignoreIndex));
  const probs = tf.exp(tf.sub(tf.sub(logits, tf.expandDims(max, -1)), tf.expandDims(logSum, -1)));
  return tf.mul(tf.sub(probs, tf.oneHot(labels, classes)), tf.expandDims(g, -1));
}

/**
 * Softmax cross-entropy per row of logits: loss[r] = logsumexp(logits[r]) - logits[r, labels[r]], computed
 * from the shifted row x - max(x) as torch does (so logits of any magnitude keep their digits), 0 for rows labelled
 * `ignoreIndex` (or, unchecked, outside [0, C)); the gradient is dy (softmax - onehot), as torch's
 * log_softmax + nll_loss give it. Inputs are checked by the caller.
 *
 * Any leading shape: the class axis is the last, and no reshape is needed (a reshape recorded on the
 * gradient tape copies its input on the wasm backend, 23 MB for an SSD batch's logits).
 *
 * @param logits - Tensor[..., C] float32.
 * @param labels - Tensor[...] int32 (not differentiated).
 * @param opsOnly - Use the op composition even on cpu and wasm (for the conformance tests).
 * @returns Tensor[...] float32.
 */
export function softmaxCrossEntropyRows(logits: tf.Tensor, labels: tf.Tensor, ignoreIndex: number, opsOnly = false): tf.Tensor {
  const fused = !opsOnly && hasTypedArrayPath();
  const op = tf.customGrad((...args) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const [loss, max, logSum] = fused ? runTypedArrayKernel(xentKernel, [x, labels], { ignoreIndex }) : forwardOps(x, labels, ignoreIndex);
    save([x, labels, max as tf.Tensor, logSum as tf.Tensor]);
    return {
      value: loss as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sl, smax, slog] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        return fused && hasTypedArrayPath()
          ? (runTypedArrayKernel(xentGradKernel, [sx, sl, smax, slog, dy], { ignoreIndex })[0] as tf.Tensor)
          : backwardOps(sx, sl, smax, slog, dy, ignoreIndex);
      },
    };
  });
  return op(logits);
}
