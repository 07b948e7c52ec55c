/**
 * The typed-array kernels behind the target builders (not exported from the package): gathering what
 * the matcher and the sampler chose, in one pass each, so a builder is a handful of dispatches rather
 * than a chain of small tfjs ops.
 *
 * Outputs are allocated first and written in place (on the wasm backend, straight into tfjs's heap);
 * input views are taken after the last allocation, since growing the wasm memory detaches older views.
 */
import { encodeBoxes, type BoxCoderWeights } from '@detkit/boxes';
import { runTypedArrayKernel, tf, type KernelArray, type TypedArrayKernel } from '@detkit/core';
import { GATHER_MATCHED_KERNEL, GATHER_SAMPLED_KERNEL, MATCHED_CLASSES_KERNEL, SCATTER_ROWS_KERNEL } from './kernel-names';

interface ScatterAttrs {
  rows: number;
  fill: number;
}

/** out[indices[k]] = values[k] (rows of values), `fill` elsewhere: [rows, ...values.shape[1:]]. */
const scatterKernel: TypedArrayKernel<ScatterAttrs> = {
  kernelName: SCATTER_ROWS_KERNEL,
  inputNames: ['indices', 'values'],
  compute([indices, values], { rows, fill }, ctx) {
    const width = values!.shape.slice(1).reduce((a, b) => a * b, 1);
    const outT = ctx.output([rows, ...values!.shape.slice(1)], values!.dtype);
    const out = outT.values;
    const idx = indices!.values;
    const v = values!.values;
    out.fill(fill);
    for (let k = 0; k < idx.length; k++) {
      const r = (idx[k] as number) * width;
      for (let c = 0; c < width; c++) out[r + c] = v[k * width + c] as number;
    }
    return [outT];
  },
};

/**
 * For each of N boxes (anchors, priors) and its match (-1 for none): the matched ground-truth box (zeros
 * where none), and, compacted, the rows that have a match with their box and ground truth. Batched: with
 * matches [B, N], gt holds B groups of G boxes ([B * G, 4]) and image b's matches index its group; the
 * positives are flat indices b * N + i.
 * Outputs: matchedGt [...matches.shape, 4], positive Int32 [P], positiveBoxes [P, 4], positiveGt [P, 4].
 */
const matchedKernel: TypedArrayKernel<Record<string, never>> = {
  kernelName: GATHER_MATCHED_KERNEL,
  inputNames: ['boxes', 'gt', 'matches'],
  compute([boxes, gt, matches], _attrs, ctx) {
    const n = boxes!.shape[0] as number;
    const total = matches!.shape.reduce((a, b) => a * b, 1);
    const groups = n === 0 ? 1 : total / n;
    const perGroup = (gt!.shape[0] as number) / groups;
    let p = 0;
    const m0 = matches!.values;
    for (let r = 0; r < total; r++) if ((m0[r] as number) >= 0) p++;
    const outs = [ctx.output([...matches!.shape, 4], 'float32'), ctx.output([p], 'int32'), ctx.output([p, 4], 'float32'), ctx.output([p, 4], 'float32')];
    const [matchedGt, positive, posBoxes, posGt] = outs.map((o) => o.values) as [KernelArray, KernelArray, KernelArray, KernelArray];
    const b = boxes!.values, g = gt!.values, m = matches!.values;
    matchedGt.fill(0);
    for (let r = 0, k = 0; r < total; r++) {
      const j = m[r] as number;
      if (j < 0) continue;
      const group = Math.floor(r / n);
      const row = 4 * (group * perGroup + j);
      const i = r - group * n;
      positive[k] = r;
      for (let c = 0; c < 4; c++) {
        const v = g[row + c] as number;
        matchedGt[4 * r + c] = v;
        posGt[4 * k + c] = v;
        posBoxes[4 * k + c] = b[4 * i + c] as number;
      }
      k++;
    }
    return outs;
  },
};

/**
 * The sampled rows of N proposals (`indices`, Int32 [S]), with their matches, class labels (the matched
 * ground truth's class for positives, 0 otherwise) and matched ground-truth boxes, plus the compacted
 * positives as {@link matchedKernel} gives them (positions within the S sampled rows).
 * Outputs: boxes [S, 4], matches Int32 [S], classLabels Int32 [S], matchedGt [S, 4], positive Int32 [P],
 * positiveBoxes [P, 4], positiveGt [P, 4].
 */
const sampledKernel: TypedArrayKernel<Record<string, never>> = {
  kernelName: GATHER_SAMPLED_KERNEL,
  inputNames: ['boxes', 'gt', 'gtClasses', 'matches', 'indices'],
  compute([boxes, gt, gtClasses, matches, indices], _attrs, ctx) {
    const s = indices!.shape[0] as number;
    let p = 0;
    {
      const m = matches!.values, idx = indices!.values;
      for (let k = 0; k < s; k++) if ((m[idx[k] as number] as number) >= 0) p++;
    }
    const outs = [
      ctx.output([s, 4], 'float32'),
      ctx.output([s], 'int32'),
      ctx.output([s], 'int32'),
      ctx.output([s, 4], 'float32'),
      ctx.output([p], 'int32'),
      ctx.output([p, 4], 'float32'),
      ctx.output([p, 4], 'float32'),
    ];
    const [outBoxes, outMatches, outClasses, matchedGt, positive, posBoxes, posGt] = outs.map((o) => o.values) as KernelArray[];
    const b = boxes!.values, g = gt!.values, cls = gtClasses!.values, m = matches!.values, idx = indices!.values;
    outClasses!.fill(0);
    matchedGt!.fill(0);
    for (let k = 0, q = 0; k < s; k++) {
      const i = idx[k] as number;
      const j = m[i] as number;
      for (let c = 0; c < 4; c++) outBoxes![4 * k + c] = b[4 * i + c] as number;
      outMatches![k] = j;
      if (j < 0) continue;
      outClasses![k] = cls[j] as number;
      positive![q] = k;
      for (let c = 0; c < 4; c++) {
        const v = g[4 * j + c] as number;
        matchedGt![4 * k + c] = v;
        posGt![4 * q + c] = v;
        posBoxes![4 * q + c] = b[4 * i + c] as number;
      }
      q++;
    }
    return outs;
  },
};

/**
 * classLabels[i] = gtClasses[matches[i]] where matched, 0 (background) elsewhere, Int32 of the shape of
 * matches. Batched like {@link matchedKernel}: matches [B, N] index the B groups of gtClasses [B * G].
 */
const classKernel: TypedArrayKernel<Record<string, never>> = {
  kernelName: MATCHED_CLASSES_KERNEL,
  inputNames: ['gtClasses', 'matches'],
  compute([gtClasses, matches], _attrs, ctx) {
    const shape = matches!.shape;
    const n = shape[shape.length - 1] as number;
    const groups = shape.length === 2 ? (shape[0] as number) : 1;
    const perGroup = groups === 0 ? 0 : (gtClasses!.shape[0] as number) / groups;
    const outT = ctx.output(shape, 'int32');
    const out = outT.values;
    const cls = gtClasses!.values, m = matches!.values;
    for (let r = 0; r < m.length; r++) {
      const j = m[r] as number;
      out[r] = j >= 0 ? (cls[Math.floor(r / n) * perGroup + j] as number) : 0;
    }
    return [outT];
  },
};

/** Rows `values` placed at `indices` of a [rows, ...] tensor filled with `fill`. Call inside `tf.tidy`. */
export function scatterRows(indices: tf.Tensor, values: tf.Tensor, rows: number, fill: number): tf.Tensor {
  return runTypedArrayKernel(scatterKernel, [indices, values], { rows, fill })[0] as tf.Tensor;
}

/** Class labels of matched boxes (see {@link classKernel}). Call inside `tf.tidy`. */
export function matchedClasses(gtClasses: tf.Tensor, matches: tf.Tensor): tf.Tensor {
  return runTypedArrayKernel(classKernel, [gtClasses, matches], {})[0] as tf.Tensor;
}

/** Matched ground-truth boxes and regression targets (zeros where unmatched), one per box. */
export interface MatchedTargets {
  matchedGtBoxes: tf.Tensor;
  regressionTargets: tf.Tensor;
}

/**
 * Regression targets for rows `positive` of a [rows, 4] result: `encodeBoxes` of `@detkit/boxes` (the
 * one BoxCoder) over the P positives only, scattered into zeros.
 */
function encodePositives(positive: tf.Tensor, posBoxes: tf.Tensor, posGt: tf.Tensor, rows: number, weights: BoxCoderWeights): tf.Tensor2D {
  if (positive.size === 0) return tf.zeros([rows, 4]) as tf.Tensor2D;
  return scatterRows(positive, encodeBoxes(posGt, posBoxes, { weights }), rows, 0) as tf.Tensor2D;
}

/**
 * Targets of every box from its match (RPN, SSD); batched with matches [B, N] and gt [B * G, 4] (see
 * {@link matchedKernel}), giving [B, N, 4]. Call inside `tf.tidy`.
 */
export function matchedTargets(boxes: tf.Tensor, gt: tf.Tensor, matches: tf.Tensor, weights: BoxCoderWeights): MatchedTargets {
  const [matchedGtBoxes, positive, posBoxes, posGt] = runTypedArrayKernel(matchedKernel, [boxes, gt, matches], {}) as tf.Tensor[];
  const regression = encodePositives(positive!, posBoxes!, posGt!, matches.size, weights);
  return { matchedGtBoxes: matchedGtBoxes!, regressionTargets: matches.rank === 1 ? regression : tf.reshape(regression, [...matches.shape, 4]) };
}

/** Sampled proposals with their targets (RoI heads). Call inside `tf.tidy`. */
export interface SampledTargets {
  boxes: tf.Tensor2D;
  matches: tf.Tensor1D;
  classLabels: tf.Tensor1D;
  matchedGtBoxes: tf.Tensor2D;
  regressionTargets: tf.Tensor2D;
}

/** Targets of the sampled rows `indices` of `boxes` (see {@link sampledKernel}). Call inside `tf.tidy`. */
export function sampledTargets(boxes: tf.Tensor, gt: tf.Tensor, gtClasses: tf.Tensor, matches: tf.Tensor, indices: tf.Tensor, weights: BoxCoderWeights): SampledTargets {
  const [sampled, sampledMatches, classLabels, matchedGtBoxes, positive, posBoxes, posGt] = runTypedArrayKernel(sampledKernel, [boxes, gt, gtClasses, matches, indices], {}) as tf.Tensor[];
  return {
    boxes: sampled as tf.Tensor2D,
    matches: sampledMatches as tf.Tensor1D,
    classLabels: classLabels as tf.Tensor1D,
    matchedGtBoxes: matchedGtBoxes as tf.Tensor2D,
    regressionTargets: encodePositives(positive!, posBoxes!, posGt!, indices.size, weights),
  };
}
