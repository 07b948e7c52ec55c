import { InvalidArgumentError, integerOption, type TensorInput, type tf } from '@detkit/core';
import type { HeadWeights } from './head-weights';
import { applyOverLevels, featureLevels } from './internal';
import { conv2dSame, flattenLevel } from './layers';
import { createVariables, headName, headWeights, xavierUniformInit, type HeadCommonOptions, type ParamSpec } from './weights';

/** Options of {@link createSsdHead}. */
export interface SsdHeadOptions extends HeadCommonOptions {
  /** Channels of each feature level: SSD300-VGG16's are [512, 1024, 512, 256, 256, 256]. */
  inChannels: readonly number[];
  /**
   * Default boxes per location of each level (same length as `inChannels`): SSD300's are
   * [4, 6, 6, 6, 4, 4] (2 + 2 per extra aspect ratio, as @detkit/anchors' `ssdDefaultBoxes` makes them).
   */
  numAnchors: readonly number[];
  /** Classes including background (class 0): 21 for VOC, 91 for COCO. */
  numClasses: number;
}

/** What an {@link SsdHead} predicts for a batch. */
export interface SsdHeadOutput {
  /**
   * Tensor[N, sum(H*W*A), numClasses], float32 class logits (class 0 = background), rows in the order of
   * @detkit/anchors' SSD default boxes: level, then location (row-major), then default box.
   */
  classLogits: tf.Tensor3D;
  /** Tensor[N, sum(H*W*A), 4], float32 deltas (dx, dy, dw, dh), weights (10, 10, 5, 5), same order. */
  boxDeltas: tf.Tensor3D;
  /** H*W*A of each level, in order. */
  anchorsPerLevel: number[];
}

/**
 * The SSD head (Liu et al. 2016): created by {@link createSsdHead}.
 *
 * Variables per level i (torchvision parameter in brackets): `classification/{i}/kernel`
 * [3, 3, in_i, A_i*numClasses] (`classification_head.module_list.{i}.weight`), `classification/{i}/bias`,
 * `regression/{i}/kernel` [3, 3, in_i, 4*A_i] (`regression_head.module_list.{i}.weight`),
 * `regression/{i}/bias`. Channel a*K + k of a level's output is default box a's value k.
 */
export interface SsdHead extends HeadWeights {
  readonly config: { inChannels: number[]; numAnchors: number[]; numClasses: number };
  /**
   * Runs the head on the feature levels. Differentiable with respect to the features and the variables.
   *
   * @param features - One Tensor[N, H_i, W_i, in_i] (NHWC) per level, in order, same N; float32. (One
   *   tensor alone when there is a single level.)
   */
  apply(features: TensorInput | readonly TensorInput[]): SsdHeadOutput;
}

/**
 * Creates an SSD head: per level, a 3x3 conv giving `numClasses` class logits per default box and a 3x3
 * conv giving 4 deltas per default box; matches torchvision's `SSDHead` (`SSDClassificationHead` +
 * `SSDRegressionHead`), including its output order ([N, A*K, H, W] → [N, H, W, A, K] → [N, HWA, K] per
 * level, levels concatenated) and its initialisation (xavier_uniform_ weights, zero biases).
 */
export function createSsdHead(options: SsdHeadOptions): SsdHead {
  const op = 'createSsdHead';
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(op, 'options', 'must be an object with inChannels, numAnchors and numClasses');
  const { inChannels, numAnchors } = options;
  if (!Array.isArray(inChannels) || inChannels.length === 0) {
    throw new InvalidArgumentError(op, 'inChannels', `must be a non-empty list of channel counts, got ${JSON.stringify(inChannels)}`);
  }
  if (!Array.isArray(numAnchors) || numAnchors.length !== inChannels.length) {
    throw new InvalidArgumentError(op, 'numAnchors', `must list one anchor count per level (${inChannels.length}), got ${JSON.stringify(numAnchors)}`);
  }
  inChannels.forEach((c, i) => integerOption(op, `inChannels[${i}]`, c, { min: 1 }));
  numAnchors.forEach((a, i) => integerOption(op, `numAnchors[${i}]`, a, { min: 1 }));
  const numClasses = integerOption(op, 'numClasses', options.numClasses, { min: 1 });
  const name = headName(op, 'ssd_head', options.name);
  const zeros = { kind: 'zeros' } as const;
  const specs: ParamSpec[] = [];
  inChannels.forEach((c, i) => {
    const cls = [3, 3, c, numAnchors[i]! * numClasses];
    specs.push({ key: `classification/${i}/kernel`, shape: cls, init: xavierUniformInit(cls) });
    specs.push({ key: `classification/${i}/bias`, shape: [cls[3]!], init: zeros });
  });
  inChannels.forEach((c, i) => {
    const reg = [3, 3, c, numAnchors[i]! * 4];
    specs.push({ key: `regression/${i}/kernel`, shape: reg, init: xavierUniformInit(reg) });
    specs.push({ key: `regression/${i}/bias`, shape: [reg[3]!], init: zeros });
  });
  const v = createVariables(op, name, specs, options.seed);
  const config = { inChannels: [...inChannels], numAnchors: [...numAnchors], numClasses };
  const k = (key: string) => v[key] as tf.Variable<tf.Rank.R4>;
  const b = (key: string) => v[key] as tf.Variable<tf.Rank.R1>;

  const apply = (features: TensorInput | readonly TensorInput[]): SsdHeadOutput => {
    const applyOp = 'SsdHead.apply';
    const levels = featureLevels(applyOp, features);
    if (levels.length !== inChannels.length) {
      throw new InvalidArgumentError(applyOp, 'features', `must hold ${inChannels.length} feature level(s), got ${levels.length}`);
    }
    const { outputs, anchorsPerLevel } = applyOverLevels(applyOp, levels, (i) => inChannels[i]!, (i) => numAnchors[i]!, (x, i) => [
      flattenLevel(conv2dSame(x, k(`classification/${i}/kernel`), b(`classification/${i}/bias`)), numClasses),
      flattenLevel(conv2dSame(x, k(`regression/${i}/kernel`), b(`regression/${i}/bias`)), 4),
    ]);
    const [classLogits, boxDeltas] = outputs;
    return { classLogits, boxDeltas, anchorsPerLevel };
  };

  return { ...headWeights('ssd', name, v, config), apply };
}
