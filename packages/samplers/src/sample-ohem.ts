import { callWasmKernel, numberOption, runTypedArrayKernel, tf, type TensorInput, type TypedArrayKernel } from '@detkit/core';
import { labelsInput, lossInput, sampledIndices } from './internal';
import { checkBudget, type SampleResult, type SamplerBudget } from './sample-balanced';
import { OHEM_KERNEL } from './kernel-names';
import { samplersWasm } from './wasm';

/** Options of {@link sampleOhem}. */
export interface SampleOhemOptions extends SamplerBudget {
  /**
   * Upper bound on negatives per positive: at most floor(negPosUpperBound * max(1, positives taken))
   * negatives. Default -1, no bound (mmdetection's `neg_pos_ub`).
   */
  negPosUpperBound?: number;
}

interface OhemAttrs {
  batchSize: number;
  positiveFraction: number;
  negPosUpperBound: number;
}

/** The selection in the wasm module's `sampleOhem` (assembly/index.ts, which mining shares). */
const ohemKernel: TypedArrayKernel<OhemAttrs> = {
  kernelName: OHEM_KERNEL,
  inputNames: ['loss', 'labels'],
  compute([lossIn, labelsIn], { batchSize, positiveFraction, negPosUpperBound }, ctx) {
    const n = labelsIn!.values.length;
    const out = new Int32Array(n);
    if (n > 0) {
      callWasmKernel(samplersWasm, ctx, { inputs: [lossIn!.values, labelsIn!.values], outputs: [out], scratchBytes: 4 * n }, (wasm, p) =>
        wasm.sampleOhem(p.inputs[0]!, p.inputs[1]!, n, batchSize, positiveFraction, negPosUpperBound, p.outputs[0]!, p.scratch),
      );
    }
    const indices = sampledIndices(out);
    return [ctx.outputFrom(out, [n]), ctx.outputFrom(indices, [indices.length])];
  },
};

/**
 * Online hard example mining over candidate RoIs (Shrivastava et al. 2016); mmdetection's `OHEMSampler`
 * semantics: up to floor(batchSize * positiveFraction) positives, the ones with the highest loss when
 * there are more; then batchSize minus the positives taken of the negatives, again the hardest first
 * (optionally at most `negPosUpperBound` per positive). Nothing is random. Equal losses are taken in index
 * order.
 *
 * The losses are the caller's: mmdetection runs the box head without gradient on every candidate and
 * takes its classification loss against the candidate's label (background for negatives). detkit keeps
 * the network out of the sampler: compute that loss (e.g. `crossEntropyLoss(logits, classLabels,
 * { reduction: 'none' })` from `@detkit/losses`) and pass it here.
 *
 * Runs as one kernel (`DetkitSamplersOhem`, WebAssembly, with the quickselect that hard negative mining
 * uses) on cpu and wasm. Not differentiated: `lossPerRoi`
 * is taken as a constant of the gradient tape, so a loss being trained may go in; the gradient reaches
 * the RoIs the caller keeps with `indices`.
 *
 * @param lossPerRoi - Float32 [N]: each candidate's loss, finite.
 * @param labels - Int32 [N]: > 0 positive (1 or a class id), 0 negative, < 0 ignored.
 * @returns {@link SampleResult}: labels [N] with the left-out RoIs at -1, and the kept indices ascending.
 */
export function sampleOhem(lossPerRoi: TensorInput, labels: TensorInput, options: SampleOhemOptions): SampleResult {
  const op = 'sampleOhem';
  const budget = checkBudget(op, options);
  const negPosUpperBound = numberOption(op, 'negPosUpperBound', options.negPosUpperBound ?? -1, { min: -1, max: Number.MAX_SAFE_INTEGER });
  return tf.tidy(() => {
    const l = labelsInput(op, 'labels', labels);
    const loss = lossInput(op, 'lossPerRoi', lossPerRoi, l.shape);
    const [out, indices] = runTypedArrayKernel(ohemKernel, [loss, l], { ...budget, negPosUpperBound }) as [tf.Tensor1D, tf.Tensor1D];
    return { labels: out, indices };
  });
}
