import { createRandom, integerOption, numberOption, runTypedArrayKernel, tf, type Random, type TensorInput, type TypedArrayKernel } from '@detkit/core';
import { labelsInput, optionsObject, sampledIndices, splitByLabel } from './internal';
import { drawSeed, type RandomOptions } from './rng';
import { BALANCED_SAMPLE_KERNEL } from './kernel-names';

/** How many elements a sampler keeps and what share of them may be positive. */
export interface SamplerBudget {
  /** Elements kept per image (positives plus negatives). */
  batchSize: number;
  /** Largest share of `batchSize` that positives may take, in [0, 1]: floor(batchSize * positiveFraction). */
  positiveFraction: number;
}

/** Options of {@link sampleBalanced}. */
export interface SampleBalancedOptions extends SamplerBudget, RandomOptions {}

/**
 * What a sampler returns: the kept elements, as labels over all N elements and as their indices.
 */
export interface SampleResult {
  /**
   * Int32 [N]: the input labels of the kept elements (positives keep their value, e.g. a class id;
   * negatives are 0), -1 for every element left out, which the losses then ignore.
   */
  labels: tf.Tensor1D;
  /** Int32 [S]: indices of the kept elements, ascending (torchvision's `torch.where(pos | neg)`). */
  indices: tf.Tensor1D;
}

/** The RPN's mini-batch: 256 anchors, up to half positive (Ren et al. 2015, section 3.1.3; torchvision). */
export const RPN_SAMPLER_OPTIONS: Readonly<SamplerBudget> = Object.freeze({ batchSize: 256, positiveFraction: 0.5 });

/**
 * Fast R-CNN's RoI mini-batch: 128 RoIs per image, up to 25% foreground (Girshick 2015; the walk-through,
 * py-faster-rcnn). torchvision's FasterRCNN defaults to 512 per image at the same 0.25.
 */
export const ROI_SAMPLER_OPTIONS: Readonly<SamplerBudget> = Object.freeze({ batchSize: 128, positiveFraction: 0.25 });

interface BalancedAttrs {
  batchSize: number;
  positiveFraction: number;
  seed: number;
}

/** Moves a uniformly random choice of `k` of a[0..n) to a[0..k) (partial Fisher-Yates). */
function chooseInPlace(a: Int32Array, n: number, k: number, random: Random): void {
  for (let i = 0; i < k; i++) {
    // A uniform integer in [i, n): 32 random bits scaled (bias below n / 2^32, immaterial here).
    const j = i + Math.floor(random() * (n - i));
    const t = a[i] as number;
    a[i] = a[j] as number;
    a[j] = t;
  }
}

const balancedKernel: TypedArrayKernel<BalancedAttrs> = {
  kernelName: BALANCED_SAMPLE_KERNEL,
  inputNames: ['labels'],
  compute([labelsIn], { batchSize, positiveFraction, seed }, ctx) {
    const labels = labelsIn!.values;
    const n = labels.length;
    const { positive, np, negative, nn } = splitByLabel(labels);
    // torchvision: int(batch_size_per_image * positive_fraction), then the rest of the batch is negatives.
    const takePositive = Math.min(np, Math.floor(batchSize * positiveFraction));
    const takeNegative = Math.min(nn, batchSize - takePositive);
    const random = createRandom(seed);
    chooseInPlace(positive, np, takePositive, random);
    chooseInPlace(negative, nn, takeNegative, random);
    const out = new Int32Array(n).fill(-1);
    for (let i = 0; i < takePositive; i++) out[positive[i] as number] = labels[positive[i] as number] as number;
    for (let i = 0; i < takeNegative; i++) out[negative[i] as number] = 0;
    const indices = sampledIndices(out);
    return [ctx.outputFrom(out, [n]), ctx.outputFrom(indices, [indices.length])];
  },
};

/** Checks a {@link SamplerBudget}. */
export function checkBudget(op: string, options: SamplerBudget): SamplerBudget {
  optionsObject(op, options);
  return {
    batchSize: integerOption(op, 'batchSize', options.batchSize, { min: 0 }),
    positiveFraction: numberOption(op, 'positiveFraction', options.positiveFraction, { min: 0, max: 1 }),
  };
}

/**
 * Samples a balanced mini-batch from labelled anchors or proposals; matches torchvision's
 * `BalancedPositiveNegativeSampler` (Ren et al. 2015, section 3.1.3): up to floor(batchSize *
 * positiveFraction) positives chosen at random, then negatives chosen at random to fill the batch (as many
 * as batchSize minus the positives taken; the walk-through's `n_neg = n_sample * n_pos` is a slip), the
 * rest left out.
 *
 * Parity with torchvision is by semantics, not by the draws: torchvision shuffles with `torch.randperm`
 * on torch's global generator; here the choice is a partial Fisher-Yates shuffle driven by
 * `@detkit/core`'s `createRandom` (mulberry32) from `seed` (or one draw of `rng`), so the same seed and
 * labels give the same sample on every backend.
 *
 * Runs as one typed-array kernel (`DetkitSamplersBalanced`) on cpu and wasm. Not differentiated: `labels`
 * is taken as a constant of the gradient tape (labels computed from trainable tensors may go in).
 *
 * @param labels - Int32 [N] (other dtypes are cast): > 0 positive (1, or a class id), 0 negative,
 *   < 0 ignored (never sampled) — a matcher's `labels`.
 * @returns {@link SampleResult}: labels [N] with the left-out elements at -1, and the kept indices.
 * @example
 * const { labels } = sampleBalanced(matcherLabels, { ...RPN_SAMPLER_OPTIONS, rng });
 */
export function sampleBalanced(labels: TensorInput, options: SampleBalancedOptions): SampleResult {
  const op = 'sampleBalanced';
  const budget = checkBudget(op, options);
  const seed = drawSeed(op, options);
  return tf.tidy(() => {
    const l = labelsInput(op, 'labels', labels);
    const [out, indices] = runTypedArrayKernel(balancedKernel, [l], { ...budget, seed }) as [tf.Tensor1D, tf.Tensor1D];
    return { labels: out, indices };
  });
}
