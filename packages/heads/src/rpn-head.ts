import { InvalidArgumentError, integerOption, type tf, type TensorInput } from '@detkit/core';
import type { HeadWeights } from './head-weights';
import { applyOverLevels, featureLevels } from './internal';
import { conv2dSame, flattenLevel } from './layers';
import { createVariables, headName, headWeights, type HeadCommonOptions, type ParamSpec } from './weights';

/** Options of {@link createRpnHead}. */
export interface RpnHeadOptions extends HeadCommonOptions {
  /** Channels of the feature map(s) (512 for VGG16's conv5_3, 256 for an FPN). */
  inChannels: number;
  /**
   * Channels of the 3x3 "sliding window" conv. Default 512 (the paper with VGG16 and the walk-through).
   * torchvision's `RPNHead` uses `inChannels` here.
   */
  midChannels?: number;
  /** Anchors per feature-map location, A. Default 9 (3 sizes x 3 ratios). */
  numAnchors?: number;
  /**
   * Objectness logits per anchor: 1 (torchvision's RPNHead: one logit, sigmoid / binary cross-entropy;
   * the default) or 2 (the paper and the walk-through: background and object logits, softmax).
   */
  objectnessLogits?: 1 | 2;
}

/** What an {@link RpnHead} predicts for a batch. */
export interface RpnHeadOutput {
  /**
   * Tensor[N, sum(H*W*A), L], float32 objectness logits, L = `objectnessLogits` (with 2: [background,
   * object]). Rows in @detkit/anchors' order: level, then location (row-major), then anchor.
   */
  objectness: tf.Tensor3D;
  /** Tensor[N, sum(H*W*A), 4], float32 box deltas (dx, dy, dw, dh) relative to each anchor, same order. */
  deltas: tf.Tensor3D;
  /** H*W*A of each level, in order (what {@link proposalLayer}'s `anchorsPerLevel` takes). */
  anchorsPerLevel: number[];
}

/**
 * The region proposal network's head (Ren et al. 2015, §3.1): created by {@link createRpnHead}.
 *
 * Variables (torchvision `RPNHead` parameter in brackets): `conv/kernel` [3, 3, in, mid]
 * (`conv.0.0.weight`), `conv/bias` [mid], `cls_logits/kernel` [1, 1, mid, A*L] (`cls_logits.weight`),
 * `cls_logits/bias` [A*L], `bbox_pred/kernel` [1, 1, mid, 4A] (`bbox_pred.weight`), `bbox_pred/bias` [4A].
 * Output channel a*L + l of cls_logits is anchor a's logit l; channel 4a + j of bbox_pred its delta j.
 */
export interface RpnHead extends HeadWeights {
  readonly config: Required<Pick<RpnHeadOptions, 'inChannels' | 'midChannels' | 'numAnchors' | 'objectnessLogits'>>;
  /**
   * Runs the head on one feature map or a list of levels (one shared head, as torchvision's FPN RPN).
   * Differentiable with respect to the features and the variables.
   *
   * @param features - Tensor[N, H, W, inChannels] (NHWC) or a list of them (same N), float32.
   */
  apply(features: TensorInput | readonly TensorInput[]): RpnHeadOutput;
}

/**
 * Creates an RPN head: a 3x3 conv (`midChannels`) with ReLU, then two sibling 1x1 convs giving
 * `objectnessLogits` objectness logits and 4 box deltas per anchor; matches torchvision's `RPNHead` +
 * `concat_box_prediction_layers` (with `midChannels` = `inChannels` and one logit) and the walk-through's
 * RPN (512 channels, 2 logits). Weights ~ N(0, 0.01), biases 0, as both initialise them.
 *
 * Outputs are reshaped into @detkit/anchors' order: torchvision's [N, A*C, H, W] → [N, H, W, A, C] →
 * [N, H*W*A, C] permute, which for NHWC maps is a reshape. The walk-through's `[1, 512, 50, 50]` VGG16 map
 * (NHWC `[1, 50, 50, 512]`) gives deltas `[1, 22500, 4]` and (two logits) objectness `[1, 22500, 2]`.
 */
export function createRpnHead(options: RpnHeadOptions): RpnHead {
  const op = 'createRpnHead';
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(op, 'options', 'must be an object with inChannels');
  const inChannels = integerOption(op, 'inChannels', options.inChannels, { min: 1 });
  const midChannels = integerOption(op, 'midChannels', options.midChannels ?? 512, { min: 1 });
  const numAnchors = integerOption(op, 'numAnchors', options.numAnchors ?? 9, { min: 1 });
  const objectnessLogits = options.objectnessLogits ?? 1;
  if (objectnessLogits !== 1 && objectnessLogits !== 2) {
    throw new InvalidArgumentError(op, 'objectnessLogits', `must be 1 (sigmoid) or 2 (softmax), got ${String(objectnessLogits)}`);
  }
  const name = headName(op, 'rpn_head', options.name);
  const normal = { kind: 'normal', std: 0.01 } as const;
  const zeros = { kind: 'zeros' } as const;
  const specs: ParamSpec[] = [
    { key: 'conv/kernel', shape: [3, 3, inChannels, midChannels], init: normal },
    { key: 'conv/bias', shape: [midChannels], init: zeros },
    { key: 'cls_logits/kernel', shape: [1, 1, midChannels, numAnchors * objectnessLogits], init: normal },
    { key: 'cls_logits/bias', shape: [numAnchors * objectnessLogits], init: zeros },
    { key: 'bbox_pred/kernel', shape: [1, 1, midChannels, numAnchors * 4], init: normal },
    { key: 'bbox_pred/bias', shape: [numAnchors * 4], init: zeros },
  ];
  const v = createVariables(op, name, specs, options.seed);
  const config = { inChannels, midChannels, numAnchors, objectnessLogits };

  const apply = (features: TensorInput | readonly TensorInput[]): RpnHeadOutput => {
    const applyOp = 'RpnHead.apply';
    const { outputs, anchorsPerLevel } = applyOverLevels(applyOp, featureLevels(applyOp, features), () => inChannels, () => numAnchors, (x) => {
      const t = conv2dSame(x, v['conv/kernel'] as tf.Variable<tf.Rank.R4>, v['conv/bias'] as tf.Variable<tf.Rank.R1>, 'relu');
      return [
        flattenLevel(conv2dSame(t, v['cls_logits/kernel'] as tf.Variable<tf.Rank.R4>, v['cls_logits/bias'] as tf.Variable<tf.Rank.R1>), objectnessLogits),
        flattenLevel(conv2dSame(t, v['bbox_pred/kernel'] as tf.Variable<tf.Rank.R4>, v['bbox_pred/bias'] as tf.Variable<tf.Rank.R1>), 4),
      ];
    });
    const [objectness, deltas] = outputs;
    return { objectness, deltas, anchorsPerLevel };
  };

  return { ...headWeights('rpn', name, v, config), apply };
}
