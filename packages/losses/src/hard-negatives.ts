/**
 * Hard negative mining for the SSD MultiBox loss (internal).
 *
 * TODO(@detkit/samplers): replace with `mineHardNegatives` from @detkit/samplers once that package lands.
 * This implements its contract, `mineHardNegatives(lossPerPrior, labels, { negPosRatio: 3, minNegatives
 * })`: per image, the negatives (label 0) ranked by loss, the top min(#negatives, max(ceil(negPosRatio *
 * #positives), minNegatives)) selected, equal losses lower index first. ceil, as torchvision's
 * `rank < negPosRatio * positives` selects. The samplers version returns int32 labels (-1 = left out)
 * rather than this float mask, and its kernel has no gradient: call it inside a customGrad as below.
 */
import { callWasmKernel, runTypedArrayKernel, tf, type TypedArrayKernel } from '@detkit/core';
import { lossesWasm } from './wasm';

/** Options of {@link mineHardNegatives}. */
export interface MineHardNegativesOptions {
  /** Negatives kept per positive of the same image. Default 3 (SSD: positives : negatives = 1 : 3). */
  negPosRatio?: number;
  /** Negatives kept at least, per image (e.g. for images without positives). Default 0, as torchvision. */
  minNegatives?: number;
}

interface MiningAttrs {
  negPosRatio: number;
  minNegatives: number;
}

/** The selection, per image, in the wasm module's `hardNegativeMask` (assembly/index.ts). */
const miningKernel: TypedArrayKernel<MiningAttrs> = {
  kernelName: 'DetkitLossesMineHardNegatives',
  inputNames: ['loss', 'labels'],
  compute([loss, labels], { negPosRatio, minNegatives }, ctx) {
    const images = loss!.shape.length === 2 ? (loss!.shape[0] as number) : 1;
    const priors = loss!.shape[loss!.shape.length - 1] as number;
    const out = ctx.output(loss!.shape, 'float32');
    if (images * priors > 0) {
      callWasmKernel(lossesWasm, ctx, { inputs: [loss!.values, labels!.values], outputs: [out.values], scratchBytes: 4 * priors }, (wasm, p) =>
        wasm.hardNegativeMask(p.inputs[0]!, p.inputs[1]!, images, priors, negPosRatio, minNegatives, p.outputs[0]!, p.scratch),
      );
    }
    return [out];
  },
};

/**
 * Selects the hard negatives of each image: among the priors labelled 0 (background; labels < 0 are
 * ignored, > 0 are positives), those with the largest loss, min(#negatives, max(ceil(negPosRatio *
 * #positives), minNegatives)) of them. Equal losses keep the lower prior index first (torch's sort leaves
 * their order unspecified). Not differentiated: the mask has a zero gradient.
 *
 * @param lossPerPrior - Tensor[B, P] float32 (e.g. the classification loss of every prior), finite.
 * @param labels - Tensor[B, P] int32.
 * @returns Tensor[B, P] float32, 1 for the selected negatives, else 0.
 */
export function mineHardNegatives(lossPerPrior: tf.Tensor, labels: tf.Tensor, options: MineHardNegativesOptions = {}): tf.Tensor2D {
  const attrs: MiningAttrs = { negPosRatio: options.negPosRatio ?? 3, minNegatives: options.minNegatives ?? 0 };
  // customGrad keeps the kernel off the gradient tape (it has no gradient to register).
  const op = tf.customGrad((...args) => {
    const x = args[0] as tf.Tensor;
    return {
      value: runTypedArrayKernel(miningKernel, [x, labels], attrs)[0] as tf.Tensor,
      gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
    };
  });
  return op(lossPerPrior) as tf.Tensor2D;
}
