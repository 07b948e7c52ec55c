import { assignBestPriors, numberOption, runTypedArrayKernel, tf, valueChecksEnabled, type TensorInput, type TypedArrayKernel } from '@detkit/core';
import { POSITIVE_THRESHOLD, matrixShape, matchEachImage, optionsObject, qualityInput } from './internal';
import type { Matcher } from './max-iou-matcher';
import { SSD_MATCH_KERNEL } from './kernel-names';

/** Options of {@link createSsdMatcher}. */
export interface SsdMatcherOptions {
  /** A prior whose best IoU is >= this is positive (matched to that box), in (0, 1]. Default 0.5 (Liu et al. 2016). */
  threshold?: number;
}

/** SSD's matching threshold (Liu et al. 2016, section 2.2; torchvision `SSD(iou_thresh=0.5)`). */
export const SSD_MATCH_THRESHOLD = 0.5;

interface SsdAttrs {
  threshold: number;
  /** Whether to reject non-finite values (`valueChecksEnabled()` at the call). */
  checkValues: boolean;
}

const OP = 'ssdMatcher';

/**
 * SSD matching: the threshold half in one SIMD pass (`ssdMatch` in assembly/index.ts), which also
 * returns each box's best prior; then each box is given a prior of its own (@detkit/core's
 * `assignBestPriors`, greedy as the original SSD's bipartite matching).
 */
const ssdMatchKernel: TypedArrayKernel<SsdAttrs> = {
  kernelName: SSD_MATCH_KERNEL,
  inputNames: ['iou'],
  compute([iou], { threshold: t, checkValues }, ctx) {
    const { batch, m, n, outShape } = matrixShape(iou!.shape);
    const matches = new Int32Array(batch * n);
    const labels = new Int32Array(batch * n);
    if (m === 0) {
      matches.fill(-1);
    } else if (n > 0 && batch > 0) {
      const rowMax = new Float32Array(batch * m);
      const rowArg = new Int32Array(batch * m);
      matchEachImage(OP, ctx, iou!, { outputs: [matches, labels, rowMax, rowArg], scratchBytes: 4 * (n + 8) }, checkValues, (wasm, p, b, q) => {
        const out = 4 * b * n, rows = 4 * b * m;
        wasm.ssdMatch(q, m, n, t, p.outputs[0]! + out, p.outputs[1]! + out, p.outputs[2]! + rows, p.outputs[3]! + rows, p.scratch);
      });
      // A fresh view of the input: the call may have grown (and detached) backend memory.
      const q = iou!.values;
      const assigned = new Int32Array(m);
      for (let b = 0; b < batch; b++) {
        const start = b * m * n;
        assignBestPriors(rowMax.subarray(b * m, (b + 1) * m), rowArg.subarray(b * m, (b + 1) * m), n, (i) => q.subarray(start + i * n, start + (i + 1) * n), assigned);
        for (let i = 0; i < m; i++) {
          const prior = assigned[i] as number;
          if (prior < 0) continue;
          matches[b * n + prior] = i;
          labels[b * n + prior] = 1;
        }
      }
    }
    return [ctx.outputFrom(matches, outShape), ctx.outputFrom(labels, outShape)];
  },
};

/**
 * Creates SSD's matcher (Liu et al. 2016, section 2.2 "Matching strategy"); matches torchvision's
 * `det_utils.SSDMatcher`: each ground-truth box first takes its best prior (default box), then every prior
 * whose best IoU is >= `threshold` takes its best ground truth (the lowest index on ties). Labels are 1
 * (positive) and 0 (negative); SSD ignores nothing (hard negative mining chooses among the negatives later).
 *
 * Differences from torchvision, on purpose:
 * - When two boxes share the same best prior, neither is left without a prior: the one with the higher IoU
 *   keeps it and the other takes its best unclaimed prior (the original SSD's bipartite matching).
 *   torchvision's scatter lets the later box overwrite the earlier, which then has no prior at all
 *   (ssd.pytorch issue #193).
 * - A ground-truth box that overlaps no prior (IoU 0 everywhere) takes none; torchvision hands it prior 0.
 * - No ground truth (M = 0) gives all priors negative; labels and matches are separate tensors.
 *
 * Runs as one fused kernel (`DetkitMatchersSsd`, WebAssembly SIMD) on cpu and wasm. Not differentiable.
 *
 * @example
 * const match = createSsdMatcher({ threshold: 0.5 });
 * const { matches, labels } = match(boxIou(gtBoxes, priors)); // Int32 [8732] each for SSD300
 * // A batch: iou [B, M, N] (images padded with zero rows) gives [B, 8732] each.
 */
export function createSsdMatcher(options: SsdMatcherOptions = {}): Matcher {
  const op = 'createSsdMatcher';
  optionsObject(op, options);
  const t = Math.fround(numberOption(op, 'threshold', options.threshold ?? SSD_MATCH_THRESHOLD, POSITIVE_THRESHOLD));
  return ((iou: TensorInput) =>
    tf.tidy(() => {
      const q = qualityInput(OP, iou);
      const [matches, labels] = runTypedArrayKernel(ssdMatchKernel, [q], { threshold: t, checkValues: valueChecksEnabled() }) as [tf.Tensor, tf.Tensor];
      return { matches, labels };
    })) as Matcher;
}
