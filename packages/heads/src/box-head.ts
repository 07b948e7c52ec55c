import { InvalidArgumentError, ShapeError, integerOption, tf, toTensor, type TensorInput } from '@detkit/core';
import type { HeadWeights } from './head-weights';
import { gridSize } from './internal';
import { dense } from './layers';
import { createVariables, headName, headWeights, torchLinearInit, type HeadCommonOptions, type ParamSpec } from './weights';

/** Options of {@link createBoxHead}. */
export interface BoxHeadOptions extends HeadCommonOptions {
  /** Channels of the pooled RoI features (512 for VGG16, 256 for an FPN). */
  inChannels: number;
  /** Classes including background (class 0), as torchvision's `num_classes`: 21 for VOC, 91 for COCO. */
  numClasses: number;
  /** Spatial size of the pooled features, `[height, width]` or one number. Default `[7, 7]`. */
  poolSize?: number | readonly [number, number];
  /**
   * Width of the two fully connected layers. Default 1024 (torchvision's `TwoMLPHead` for FPN models);
   * VGG16's fc6 / fc7 and the walk-through use 4096.
   */
  representationSize?: number;
}

/** What a {@link BoxHead} predicts for K RoIs. */
export interface BoxHeadOutput {
  /** Tensor[K, numClasses], float32 class logits (class 0 = background). */
  classLogits: tf.Tensor2D;
  /**
   * Tensor[K, 4 * numClasses], float32 class-specific deltas: columns 4c..4c+3 are (dx, dy, dw, dh) of
   * class c, to be decoded with weights (10, 10, 5, 5) (`ROI_BOX_CODER_WEIGHTS`).
   */
  boxDeltas: tf.Tensor2D;
}

/**
 * The Fast R-CNN box head (Girshick 2015): created by {@link createBoxHead}.
 *
 * Variables (torchvision parameter in brackets, dense kernels are torch's weights transposed):
 * `fc6/kernel` [PH*PW*C, R] (`box_head.fc6.weight`; rows in NHWC flatten order (h, w, c), torchvision's
 * are (c, h, w)), `fc6/bias` [R], `fc7/kernel` [R, R], `fc7/bias` [R], `cls_score/kernel` [R, numClasses]
 * (`box_predictor.cls_score.weight`), `cls_score/bias`, `bbox_pred/kernel` [R, 4*numClasses]
 * (`box_predictor.bbox_pred.weight`), `bbox_pred/bias`.
 */
export interface BoxHead extends HeadWeights {
  readonly config: { inChannels: number; numClasses: number; poolSize: [number, number]; representationSize: number };
  /**
   * Runs the head. Differentiable with respect to the features and the variables.
   *
   * @param pooled - Tensor[K, PH, PW, C] (NHWC RoI features, e.g. {@link roiAlign}'s output) or
   *   Tensor[K, PH*PW*C] already flattened in that order; float32. K = 0 gives empty outputs.
   */
  apply(pooled: TensorInput): BoxHeadOutput;
}

/**
 * Creates the Fast R-CNN box head: flatten, fc6 + ReLU, fc7 + ReLU (torchvision `TwoMLPHead`), then the
 * sibling class-score and per-class box-delta layers (torchvision `FastRCNNPredictor`). Initialised as
 * torchvision does: torch.nn.Linear's default, U(±1/sqrt(fan_in)) for weights and biases. (The
 * walk-through's head has no ReLU between fc6 and fc7 and draws its delta layer from N(0, 0.01); torchvision
 * and VGG16 have the ReLUs.)
 *
 * The walk-through's 128 RoIs pooled to `[128, 7, 7, 512]` give class logits `[128, 21]` and deltas
 * `[128, 84]` with `numClasses: 21`.
 */
export function createBoxHead(options: BoxHeadOptions): BoxHead {
  const op = 'createBoxHead';
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(op, 'options', 'must be an object with inChannels and numClasses');
  const inChannels = integerOption(op, 'inChannels', options.inChannels, { min: 1 });
  const numClasses = integerOption(op, 'numClasses', options.numClasses, { min: 1 });
  const poolSize = gridSize(op, 'poolSize', options.poolSize ?? [7, 7]);
  const representationSize = integerOption(op, 'representationSize', options.representationSize ?? 1024, { min: 1 });
  const name = headName(op, 'box_head', options.name);
  const inFeatures = poolSize[0] * poolSize[1] * inChannels;
  const r = representationSize;
  const specs: ParamSpec[] = [
    { key: 'fc6/kernel', shape: [inFeatures, r], init: torchLinearInit(inFeatures) },
    { key: 'fc6/bias', shape: [r], init: torchLinearInit(inFeatures) },
    { key: 'fc7/kernel', shape: [r, r], init: torchLinearInit(r) },
    { key: 'fc7/bias', shape: [r], init: torchLinearInit(r) },
    { key: 'cls_score/kernel', shape: [r, numClasses], init: torchLinearInit(r) },
    { key: 'cls_score/bias', shape: [numClasses], init: torchLinearInit(r) },
    { key: 'bbox_pred/kernel', shape: [r, 4 * numClasses], init: torchLinearInit(r) },
    { key: 'bbox_pred/bias', shape: [4 * numClasses], init: torchLinearInit(r) },
  ];
  const v = createVariables(op, name, specs, options.seed);
  const config = { inChannels, numClasses, poolSize, representationSize };
  const k = (key: string) => v[key] as tf.Variable<tf.Rank.R2>;
  const b = (key: string) => v[key] as tf.Variable<tf.Rank.R1>;

  const apply = (pooled: TensorInput): BoxHeadOutput => {
    const applyOp = 'BoxHead.apply';
    const [classLogits, boxDeltas] = tf.tidy(() => {
      const x = toTensor(applyOp, 'pooled', pooled);
      const ok = (x.rank === 4 && x.shape[1] === poolSize[0] && x.shape[2] === poolSize[1] && x.shape[3] === inChannels) || (x.rank === 2 && x.shape[1] === inFeatures);
      if (!ok) throw new ShapeError(applyOp, 'pooled', `[K, ${poolSize[0]}, ${poolSize[1]}, ${inChannels}] or [K, ${inFeatures}]`, x.shape);
      const flat = tf.reshape(x, [x.shape[0] as number, inFeatures]) as tf.Tensor2D;
      const h6 = dense(flat, k('fc6/kernel'), b('fc6/bias'), 'relu');
      const h7 = dense(h6, k('fc7/kernel'), b('fc7/bias'), 'relu');
      return [dense(h7, k('cls_score/kernel'), b('cls_score/bias')), dense(h7, k('bbox_pred/kernel'), b('bbox_pred/bias'))];
    });
    return { classLogits, boxDeltas };
  };

  return { ...headWeights('box', name, v, config), apply };
}
