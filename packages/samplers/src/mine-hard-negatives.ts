import { callWasmKernel, hasFusedKernel, integerOption, numberOption, runTypedArrayKernel, tf, type TensorInput, type TypedArrayKernel } from '@detkit/core';
import { labelsInput, lossInput } from './internal';
import { samplersWasm } from './wasm';
import { MINE_HARD_NEGATIVES_KERNEL } from './kernel-names';

/** Options of {@link mineHardNegatives}. */
export interface MineHardNegativesOptions {
  /**
   * Negatives kept per positive of the same image: ceil(negPosRatio * positives), the product taken in
   * float32 as torchvision's `idx_rank < neg_to_pos_ratio * num_foreground` does. Default 3 (Liu et al.
   * 2016).
   */
  negPosRatio?: number;
  /**
   * Fewest negatives kept per image, for images with few or no positives (where the ratio alone keeps
   * none). Default 0, as torchvision (whose ssd.py has the same idea commented out with a minimum of 3).
   */
  minNegatives?: number;
}

/** SSD's ratio of hard negatives to positives (Liu et al. 2016, section 2.2 "Hard negative mining"). */
export const SSD_NEG_POS_RATIO = 3;

interface MiningAttrs {
  negPosRatio: number;
  minNegatives: number;
}

/** The selection, per row, in the wasm module's `mineHardNegatives` (assembly/index.ts). */
const miningKernel: TypedArrayKernel<MiningAttrs> = {
  kernelName: MINE_HARD_NEGATIVES_KERNEL,
  inputNames: ['loss', 'labels'],
  compute([loss, labels], { negPosRatio, minNegatives }, ctx) {
    const shape = labels!.shape;
    const n = shape[shape.length - 1] as number;
    const rows = n === 0 ? 0 : labels!.values.length / n;
    const out = ctx.output(shape, 'int32');
    if (rows > 0) {
      callWasmKernel(samplersWasm, ctx, { inputs: [loss!.values, labels!.values], outputs: [out.values], scratchBytes: 4 * n }, (wasm, p) =>
        wasm.mineHardNegatives(p.inputs[0]!, p.inputs[1]!, rows, n, negPosRatio, minNegatives, p.outputs[0]!, p.scratch),
      );
    }
    return [out];
  },
};

/**
 * Hard negative mining (Liu et al. 2016, section 2.2); matches the mining in torchvision's
 * `SSD.compute_loss`: per image, the ceil(negPosRatio x positives) negatives with the highest loss are
 * kept (negPosRatio 3 by default), the rest are left out. One quickselect pass per image (O(N) on
 * average) instead of torchvision's two sorts.
 *
 * Differences from torchvision, on purpose: equal losses are taken in index order (torch's sort leaves
 * their order unspecified); when an image has fewer negatives than the ratio asks for, all of them are
 * kept and no positive is counted a second time (torchvision's ranking then reaches into the positives,
 * whose loss it set to -inf, and adds them to the background term); `minNegatives` (default 0).
 *
 * Runs as one kernel (`DetkitSamplersMineHardNegatives`, WebAssembly, in tfjs-backend-wasm's heap
 * without copies) on cpu and wasm; elsewhere (webgpu, webgl) as two `tf.topk` ranks on the device, with
 * the same result and no read back. Not differentiated: `lossPerPrior` is taken as a constant of the
 * gradient tape (the selection is a constant of the loss, as in torchvision), so the loss being trained
 * may go in.
 *
 * @param lossPerPrior - Float32 [N] or [B, N]: each prior's classification loss (e.g. softmax
 *   cross-entropy against its target class), finite.
 * @param labels - Int32 [N] or [B, N], the shape of `lossPerPrior`: > 0 positive (1 or a class id),
 *   0 negative, < 0 ignored (never mined).
 * @returns Int32, the shape of `labels`: positives keep their label, mined negatives are 0, every other
 *   element is -1 (left out of the loss).
 */
export function mineHardNegatives(lossPerPrior: TensorInput, labels: TensorInput, options: MineHardNegativesOptions = {}): tf.Tensor {
  const op = 'mineHardNegatives';
  const negPosRatio = numberOption(op, 'negPosRatio', options.negPosRatio ?? SSD_NEG_POS_RATIO, { min: 0, max: Number.MAX_SAFE_INTEGER });
  const minNegatives = integerOption(op, 'minNegatives', options.minNegatives ?? 0, { min: 0 });
  return tf.tidy(() => {
    const l = labelsInput(op, 'labels', labels, true);
    const loss = lossInput(op, 'lossPerPrior', lossPerPrior, l.shape);
    if (hasFusedKernel(miningKernel)) return runTypedArrayKernel(miningKernel, [loss, l], { negPosRatio, minNegatives })[0] as tf.Tensor;
    return mineByRank(loss, l, negPosRatio, minNegatives);
  });
}

/**
 * The selection of {@link mineHardNegatives} in tfjs ops, for backends without its kernel (webgpu,
 * webgl): torchvision's two sorts (`idx = loss.sort(descending)`, `rank = idx.sort()`) as two `tf.topk`s,
 * and `rank < negPosRatio * positives` in float32. It stays on the device (no read back: webgpu's topk is
 * a bitonic sort on the GPU). Positives and ignored elements rank last (their loss set to -inf) and are
 * never kept as negatives, so the result equals the kernel's, ties included (topk takes the lower index
 * first, as the kernel). Call inside `tf.tidy`.
 *
 * @param loss - Float32 [N] or [B, N], detached.
 * @param labels - Int32, the shape of `loss`, detached.
 */
export function mineByRank(loss: tf.Tensor, labels: tf.Tensor, negPosRatio: number, minNegatives: number): tf.Tensor {
  const shape = labels.shape;
  const n = shape[shape.length - 1] as number;
  if (labels.size === 0) return tf.clone(labels);
  const rows = labels.size / n;
  const y = tf.reshape(labels, [rows, n]);
  const positive = tf.greater(y, 0);
  const negative = tf.equal(y, 0);
  const ranked = tf.where(negative, tf.reshape(loss, [rows, n]), tf.fill([rows, n], -Infinity));
  const order = tf.topk(ranked, n).indices; // order[r, p]: the element at rank p
  const rank = tf.topk(tf.neg(tf.cast(order, 'float32')), n).indices; // rank[r, j]: the rank of element j
  const wanted = tf.maximum(tf.mul(tf.sum(tf.cast(positive, 'float32'), 1, true), negPosRatio), minNegatives); // [rows, 1]
  const kept = tf.logicalAnd(negative, tf.less(tf.cast(rank, 'float32'), wanted));
  const out = tf.where(positive, y, tf.where(kept, tf.zerosLike(y), tf.fill([rows, n], -1, 'int32')));
  return tf.reshape(out, shape);
}
