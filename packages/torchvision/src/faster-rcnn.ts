import type { MultiLevelAnchors } from '@detkit/anchors';
import { ROI_BOX_CODER_WEIGHTS, RPN_BOX_CODER_WEIGHTS, type BoxCoderWeights } from '@detkit/boxes';
import { FASTER_RCNN_POSTPROCESS, PROPOSAL_PRESETS, postprocessDetections, proposalLayer, type Detections, type Proposals } from '@detkit/heads';
import { InvalidArgumentError, ShapeError, createRandom, integerOption, numberOption, tf, toTensor, type Random, type TensorInput } from '@detkit/core';
import { fastRcnnLoss, rpnLoss } from '@detkit/losses';
import { createMaxIouMatcher, ROI_MATCHER_OPTIONS, RPN_MATCHER_OPTIONS } from '@detkit/matchers';
import { buildRoiTargets, buildRpnTargets, RPN_SAMPLER_OPTIONS } from '@detkit/samplers';
import { featurePyramidNetwork } from './fpn';
import { channelTriple, imageList, targetTensors, type TargetInput } from './internal';
import type { BuildContext, ModelMode } from './layers';
import { mobilenetV3LargeFeatures, runBlock } from './mobilenet-v3';
import { resnet50Body, resnetTrainableLayers } from './resnet';
import { generalizedRcnnTransform, type RcnnImageList } from './rcnn-transform';
import { boxRoiPool, fastRcnnPredictor, twoMlpHead } from './roi-heads';
import { flattenRpnLevels, rpnAnchors, rpnHead, type RpnHeadLevels } from './rpn';
import type { SafetensorsFile } from './safetensors';
import { TorchParameters, type LoadStateDictOptions, type LoadStateDictReport } from './state-dict';

/**
 * Batch-norm epsilon of torchvision's Faster R-CNN MobileNetV3 backbone: it passes `norm_layer=nn.BatchNorm2d`
 * (or `FrozenBatchNorm2d`) to `mobilenet_v3_large`, so torch's default 1e-5 replaces MobileNetV3's own 0.001.
 */
export const FASTER_RCNN_MOBILENET_BATCH_NORM_EPS = 1e-5;

/** torchvision's anchors for the MobileNetV3 FPN models: sizes 32 … 512 and ratios 0.5, 1, 2 on each of the 3 levels. */
export const MOBILENET_FPN_ANCHORS = Object.freeze({
  sizes: Object.freeze([32, 64, 128, 256, 512]) as readonly number[],
  aspectRatios: Object.freeze([0.5, 1, 2]) as readonly number[],
});

/**
 * torchvision `FasterRCNN`'s default anchors (`_default_anchorgen`), which `fasterrcnn_resnet50_fpn` uses: one
 * size per FPN level ('0', '1', '2', '3', 'pool': 32, 64, 128, 256, 512) and ratios 0.5, 1, 2 (3 anchors per location).
 */
export const RESNET_FPN_ANCHORS = Object.freeze({
  sizes: Object.freeze([[32], [64], [128], [256], [512]].map((s) => Object.freeze(s))) as ReadonlyArray<readonly number[]>,
  aspectRatios: Object.freeze([0.5, 1, 2]) as readonly number[],
});

/**
 * torchvision `FasterRCNN`'s keyword defaults, camel-cased (`box_score_thresh=0.05` is `boxScoreThresh: 0.05`,
 * `bbox_reg_weights=None` is the box coder's (10, 10, 5, 5); RoIAlign 7 x 7, 2 samples per bin).
 */
export const FASTER_RCNN_DEFAULTS = Object.freeze({
  minSize: 800,
  maxSize: 1333,
  imageMean: Object.freeze([0.485, 0.456, 0.406]) as readonly number[],
  imageStd: Object.freeze([0.229, 0.224, 0.225]) as readonly number[],
  rpnPreNmsTopNTrain: 2000,
  rpnPreNmsTopNTest: 1000,
  rpnPostNmsTopNTrain: 2000,
  rpnPostNmsTopNTest: 1000,
  rpnNmsThresh: 0.7,
  rpnFgIouThresh: RPN_MATCHER_OPTIONS.highThreshold,
  rpnBgIouThresh: RPN_MATCHER_OPTIONS.lowThreshold,
  rpnBatchSizePerImage: RPN_SAMPLER_OPTIONS.batchSize,
  rpnPositiveFraction: RPN_SAMPLER_OPTIONS.positiveFraction,
  rpnScoreThresh: 0,
  boxScoreThresh: FASTER_RCNN_POSTPROCESS.scoreThreshold,
  boxNmsThresh: FASTER_RCNN_POSTPROCESS.nmsThreshold,
  boxDetectionsPerImg: FASTER_RCNN_POSTPROCESS.detectionsPerImage,
  boxFgIouThresh: ROI_MATCHER_OPTIONS.highThreshold,
  boxBgIouThresh: ROI_MATCHER_OPTIONS.lowThreshold,
  boxBatchSizePerImage: 512,
  boxPositiveFraction: 0.25,
  bboxRegWeights: ROI_BOX_CODER_WEIGHTS as readonly [number, number, number, number],
  representationSize: 1024,
  fpnOutChannels: 256,
});

/** `RegionProposalNetwork.min_size`: proposals narrower or lower than this (pixels) are dropped. */
const RPN_MIN_SIZE = 1e-3;
/** `RoIHeads.postprocess_detections`' remove_small_boxes(min_size=1e-2). */
const BOX_MIN_SIZE = 1e-2;
/** `MultiScaleRoIAlign(output_size=7, sampling_ratio=2)` as `FasterRCNN` builds it. */
const ROI_OUTPUT_SIZE = 7;
const ROI_SAMPLING_RATIO = 2;

/**
 * torchvision `FasterRCNN`'s training defaults (its keyword arguments `rpn_fg_iou_thresh=0.7`,
 * `rpn_bg_iou_thresh=0.3`, `rpn_batch_size_per_image=256`, `rpn_positive_fraction=0.5`,
 * `box_fg_iou_thresh=0.5`, `box_bg_iou_thresh=0.5`, `box_batch_size_per_image=512`,
 * `box_positive_fraction=0.25`; the RPN's box coder weights (1, 1, 1, 1), the box head's (10, 10, 5, 5)), as
 * matcher and sampler options. The factories start from these and take each as an option
 * ({@link FasterRcnnOptions}: `rpnFgIouThresh`, ..., `bboxRegWeights`); the RPN's box coder weights are fixed
 * in torchvision too.
 */
export const FASTER_RCNN_TRAINING = Object.freeze({
  /** `Matcher(0.7, 0.3, allow_low_quality_matches=True)` over every anchor (none dropped at the border). */
  rpnMatcher: RPN_MATCHER_OPTIONS,
  /** `BalancedPositiveNegativeSampler(256, 0.5)`. */
  rpnSampler: RPN_SAMPLER_OPTIONS,
  rpnBoxCoderWeights: RPN_BOX_CODER_WEIGHTS,
  /** `Matcher(0.5, 0.5, allow_low_quality_matches=False)` over the proposals with the ground truth appended. */
  roiMatcher: ROI_MATCHER_OPTIONS,
  /** `BalancedPositiveNegativeSampler(512, 0.25)`. */
  roiSampler: Object.freeze({ batchSize: 512, positiveFraction: 0.25 }),
  roiBoxCoderWeights: ROI_BOX_CODER_WEIGHTS,
});

/** One image's ground truth for {@link FasterRcnn.loss}: torchvision's target dict (boxes xyxy in input pixels, labels >= 1). */
export type FasterRcnnTarget = TargetInput;

/**
 * Mini-batches for {@link FasterRcnn.loss} to use instead of drawing them: what another framework's samplers
 * drew, to reproduce its loss exactly (torchvision's `BalancedPositiveNegativeSampler` shuffles with
 * `torch.randperm`, which no other generator reproduces). One entry per image, Int32 [S] indices in any order.
 */
export interface FasterRcnnSampled {
  /**
   * The RPN's mini-batch: indices into the image's anchors, in {@link FasterRcnn.anchors}' order (torchvision's:
   * level, then location row by row, then anchor). Each must be an anchor the matcher labels positive or
   * negative (IoU >= 0.7, or < 0.3, or a box's best); whether it is a positive comes from the matcher.
   */
  rpn: readonly TensorInput[];
  /**
   * The box head's mini-batch: indices into the image's training proposals (`proposals(..., { training: true })`,
   * by descending objectness) followed by its ground-truth boxes (torchvision's `add_gt_proposals`).
   */
  roi: readonly TensorInput[];
  /**
   * The training proposals that `roi` indexes, per image Tensor[P_i, 4] xyxy in transformed-image pixels (the
   * other framework's: torchvision's `model.rpn(...)[0]`), used instead of the RPN's own. Optional, but an
   * index into another implementation's proposals names the same box only if both ordered them alike, and
   * NMS over thousands of objectness scores orders near-ties (1e-7 apart) by rounding. Proposals are
   * constants of the loss in torchvision too (decoded from detached deltas), so this changes no gradient.
   */
  proposals?: readonly TensorInput[];
}

/** Options of {@link FasterRcnn.loss}. */
export interface FasterRcnnLossOptions {
  /**
   * Random source of the two samplers (uniform in [0, 1), e.g. `createRandom(seed)` of @detkit/core): a seeded
   * one makes a training run reproducible. Default `Math.random`. Not with `seed`.
   */
  rng?: Random;
  /** Seed of this call's draws (a fresh `createRandom(seed)`), for tests and one-off calls. Not with `rng`. */
  seed?: number;
  /**
   * The mini-batches, given instead of drawn: for reproducing another framework's draw (see
   * {@link FasterRcnnSampled}); `rng` and `seed` are then unused.
   */
  sampled?: FasterRcnnSampled;
}

/** {@link FasterRcnn.loss}'s result: torchvision's loss dict (camel-cased), plus their sum. All scalars. */
export interface FasterRcnnLoss {
  /** `loss_objectness`: binary cross-entropy of the objectness logits over the RPN's sampled anchors (mean). */
  lossObjectness: tf.Scalar;
  /** `loss_rpn_box_reg`: smooth L1 (beta 1/9) over the positive anchors' deltas, / the sampled anchors. */
  lossRpnBoxReg: tf.Scalar;
  /** `loss_classifier`: cross-entropy of the box head's class logits over the sampled RoIs (mean). */
  lossClassifier: tf.Scalar;
  /** `loss_box_reg`: smooth L1 (beta 1/9) of the true class's deltas over the foreground RoIs, / the sampled RoIs. */
  lossBoxReg: tf.Scalar;
  /** The sum of the four, what torchvision's reference script minimises. */
  total: tf.Scalar;
}

/**
 * Options every Faster R-CNN factory takes: torchvision's keyword arguments (of the factory and of
 * `FasterRCNN`), camel-cased, and two architecture sizes torchvision's factories do not expose (for reduced
 * models built from torchvision's own modules).
 */
export interface FasterRcnnOptions {
  /** Classes including the background (class 0). Default 91 (COCO). */
  numClasses?: number;
  /**
   * Batch norms are `FrozenBatchNorm2d`, as torchvision builds them when `weights` or `weights_backbone` is
   * given (published checkpoints); default false (`weights=None, weights_backbone=None`: `nn.BatchNorm2d`).
   */
  frozenBatchNorm?: boolean;
  /**
   * Backbone stages left trainable, counting from the last (`trainable_backbone_layers`): 0-6 for MobileNetV3
   * (default 6), 0-5 for ResNet-50 (`layer4` … `conv1`, default 5); 3 with `frozenBatchNorm`, as torchvision.
   */
  trainableBackboneLayers?: number;
  /** Shorter side after resizing (`min_size`, one value). Default 800 (320 for the MobileNet 320 variant). */
  minSize?: number;
  /** Longest side after resizing (`max_size`). Default 1333 (640). */
  maxSize?: number;
  /** Per-channel mean subtracted from [0, 1] images (`image_mean`). Default ImageNet's [0.485, 0.456, 0.406]. */
  imageMean?: readonly number[];
  /** Per-channel divisor (`image_std`), each > 0. Default ImageNet's [0.229, 0.224, 0.225]. */
  imageStd?: readonly number[];
  /** Proposals per level kept before NMS while training (`rpn_pre_nms_top_n_train`), integer >= 0. Default 2000. */
  rpnPreNmsTopNTrain?: number;
  /** Proposals per level kept before NMS at test time (`rpn_pre_nms_top_n_test`). Default 1000 (150). */
  rpnPreNmsTopNTest?: number;
  /** Proposals per image kept after NMS while training (`rpn_post_nms_top_n_train`). Default 2000. */
  rpnPostNmsTopNTrain?: number;
  /** Proposals per image kept after NMS at test time (`rpn_post_nms_top_n_test`). Default 1000 (150). */
  rpnPostNmsTopNTest?: number;
  /** IoU threshold of the RPN's per-level NMS (`rpn_nms_thresh`), in [0, 1]. Default 0.7. */
  rpnNmsThresh?: number;
  /**
   * Anchors whose best IoU with a ground-truth box is >= this are the RPN's positives (`rpn_fg_iou_thresh`,
   * `Matcher`'s high threshold), in (0, 1]. Default 0.7.
   */
  rpnFgIouThresh?: number;
  /**
   * Anchors whose best IoU is < this are the RPN's negatives; between it and `rpnFgIouThresh` they are ignored
   * (`rpn_bg_iou_thresh`), in [0, rpnFgIouThresh]. Default 0.3.
   */
  rpnBgIouThresh?: number;
  /** Anchors per image in the RPN's mini-batch, which its losses average over (`rpn_batch_size_per_image`), integer >= 1. Default 256. */
  rpnBatchSizePerImage?: number;
  /** Largest share of positives in the RPN's mini-batch (`rpn_positive_fraction`), in [0, 1]. Default 0.5. */
  rpnPositiveFraction?: number;
  /** Proposals need objectness probability >= this (`rpn_score_thresh`), in [0, 1]. Default 0 (`FasterRCNN`); 0.05 for the MobileNet variants. */
  rpnScoreThresh?: number;
  /** Detections need a class probability > this (`box_score_thresh`), in [0, 1]. Default 0.05. */
  boxScoreThresh?: number;
  /** Class-aware NMS IoU threshold of the detections (`box_nms_thresh`), in [0, 1]. Default 0.5. */
  boxNmsThresh?: number;
  /** Detections kept per image (`box_detections_per_img`), integer >= 0. Default 100. */
  boxDetectionsPerImg?: number;
  /**
   * Proposals whose best IoU with a ground-truth box is >= this are the box head's foreground
   * (`box_fg_iou_thresh`), in (0, 1]. Default 0.5.
   */
  boxFgIouThresh?: number;
  /**
   * Proposals whose best IoU is < this are background; between it and `boxFgIouThresh` they are ignored
   * (`box_bg_iou_thresh`), in [0, boxFgIouThresh]. Default 0.5.
   */
  boxBgIouThresh?: number;
  /** Proposals per image in the box head's mini-batch (`box_batch_size_per_image`), integer >= 1. Default 512. */
  boxBatchSizePerImage?: number;
  /** Largest share of foreground in the box head's mini-batch (`box_positive_fraction`), in [0, 1]. Default 0.25. */
  boxPositiveFraction?: number;
  /**
   * Box-coder weights (wx, wy, ww, wh) of the box head's deltas: its regression targets in training and the
   * decoding of `postprocess` (`bbox_reg_weights`), four finite numbers > 0. Default (10, 10, 5, 5).
   */
  bboxRegWeights?: readonly number[];
  /** Not a torchvision keyword: the FPN's `out_channels` (256 in torchvision's extractors). Default 256. */
  fpnOutChannels?: number;
  /** Not a torchvision keyword: `TwoMLPHead`'s representation size (`FasterRCNN`'s 1024). Default 1024. */
  representationSize?: number;
  /** Seed of the initial weights. Default 0. */
  seed?: number;
}

/** Options of {@link fasterrcnnMobilenetV3LargeFpn} and {@link fasterrcnnMobilenetV3Large320Fpn}. */
export interface FasterRcnnMobilenetOptions extends FasterRcnnOptions {
  /** Not a torchvision keyword: MobileNetV3's `width_mult`. Default 1. */
  widthMult?: number;
}

/** Options of {@link fasterrcnnResnet50Fpn}. */
export interface FasterRcnnResnet50FpnOptions extends FasterRcnnOptions {
  /**
   * Epsilon of the ResNet's batch norms. Default 1e-5 (torch's, which `fasterrcnn_resnet50_fpn` builds);
   * torchvision's COCO_V1 weights (`fasterrcnn_resnet50_fpn_coco-258fb6c6.pth`) run with 0, as torchvision
   * sets it after loading them (`overwrite_eps(model, 0.0)`).
   */
  batchNormEps?: number;
}

/** What {@link FasterRcnn.roiHeads} computes for a batch's proposals. */
export interface FasterRcnnBoxOutputs {
  /** Tensor[K, 7, 7, C] pooled proposals (`box_roi_pool`, NHWC), K = all images' proposals in order. */
  boxFeatures: tf.Tensor4D;
  /** Tensor[K, representationSize] (`box_head`). */
  boxHead: tf.Tensor2D;
  /** Tensor[K, numClasses] (`box_predictor`'s class logits). */
  classLogits: tf.Tensor2D;
  /** Tensor[K, 4 · numClasses] deltas per class, weights (10, 10, 5, 5). */
  boxRegression: tf.Tensor2D;
}

/**
 * torchvision 0.14's `FasterRCNN` (Ren et al. 2015's Faster R-CNN with Lin et al. 2017's FPN), module for module,
 * in eval mode (and train mode for {@link FasterRcnn.loss}), each stage exposed as torchvision's module is; made by {@link fasterrcnnResnet50Fpn},
 * {@link fasterrcnnMobilenetV3LargeFpn} and {@link fasterrcnnMobilenetV3Large320Fpn}.
 */
export interface FasterRcnn<Config extends object = Required<Omit<FasterRcnnOptions, 'seed'>>> {
  readonly config: Config;
  /** Parameters and buffers under torchvision's names. */
  readonly parameters: TorchParameters;
  /** `model.transform`: see {@link generalizedRcnnTransform}. Images Tensor[H, W, 3] RGB in [0, 1]. */
  transform(images: TensorInput | readonly TensorInput[]): RcnnImageList;
  /**
   * `model.backbone` on a transformed batch Tensor[N, H, W, 3] (NHWC): `body` is `backbone.body(x)`'s values in
   * order (ResNet-50: '0' … '3' = `layer1` … `layer4`, strides 4 … 32, 256 … 2048 channels; MobileNetV3: '0' =
   * `features[13]` and '1' = `features[16]`, both stride 32); `features` the FPN's levels in order, then 'pool'
   * (Tensor[N, H_l, W_l, fpnOutChannels]).
   */
  backbone(batch: TensorInput): { body: tf.Tensor4D[]; features: tf.Tensor4D[] };
  /** `model.rpn.head` on the FPN levels. */
  rpnHead(features: readonly tf.Tensor4D[]): RpnHeadLevels;
  /** `model.rpn.anchor_generator` for a padded batch `[height, width]` and its levels. */
  anchors(batchSize: readonly [number, number], features: readonly tf.Tensor4D[]): MultiLevelAnchors;
  /**
   * `model.rpn.filter_proposals` after decoding: per level the top `rpnPreNmsTopN*` by objectness, clip,
   * drop boxes under 1e-3 px and below `rpnScoreThresh`, NMS (`rpnNmsThresh`) per level, the top `rpnPostNmsTopN*`.
   * `training` picks the train counts (default false: test).
   * @returns Per image: boxes Tensor[P_i, 4] xyxy in transformed-image pixels and objectness probabilities Tensor[P_i].
   */
  proposals(head: RpnHeadLevels, anchors: MultiLevelAnchors, imageSizes: ReadonlyArray<readonly [number, number]>, options?: { training?: boolean }): Proposals;
  /**
   * `model.roi_heads`' box_roi_pool (`MultiScaleRoIAlign` over the levels '0' … '3' the backbone has, 7 x 7,
   * sampling ratio 2), box_head and box_predictor on the proposals (Tensor[P_i, 4] xyxy per image).
   */
  roiHeads(features: readonly tf.Tensor4D[], proposals: readonly tf.Tensor2D[], imageSizes: ReadonlyArray<readonly [number, number]>): FasterRcnnBoxOutputs;
  /**
   * `RoIHeads.postprocess_detections`: deltas decoded with `bboxRegWeights`, class probability >
   * `boxScoreThresh`, class-aware NMS at `boxNmsThresh`, the top `boxDetectionsPerImg`; boxes in
   * transformed-image pixels.
   */
  postprocess(outputs: Pick<FasterRcnnBoxOutputs, 'classLogits' | 'boxRegression'>, proposals: readonly tf.Tensor2D[], imageSizes: ReadonlyArray<readonly [number, number]>): Detections[];
  /**
   * Detections as torchvision's `model(images)` returns them in eval mode.
   * @returns Per image: boxes Tensor[D, 4] xyxy in the input image's pixels, scores Tensor[D], labels Tensor[D]
   *   int32 (1..numClasses-1), by descending score, D <= boxDetectionsPerImg.
   */
  detect(images: TensorInput | readonly TensorInput[]): Detections[];
  /**
   * The training losses, as torchvision's model returns them in train mode (`model.train(); model(images,
   * targets)`, `GeneralizedRCNN.forward`): the transform (targets' boxes scaled by the float32 ratios resized /
   * original side), the backbone with its `nn.BatchNorm2d` layers in train mode (batch statistics; the running
   * ones move by momentum 0.1, `num_batches_tracked` counts the call; `frozenBatchNorm` models stay frozen),
   * the RPN in training (proposals from the `rpnPreNmsTopNTrain` / `rpnPostNmsTopNTrain` counts, detached;
   * every anchor matched by `Matcher(rpnFgIouThresh, rpnBgIouThresh, allow_low_quality_matches=True)`, a
   * `BalancedPositiveNegativeSampler(rpnBatchSizePerImage, rpnPositiveFraction)` mini-batch (defaults 0.7,
   * 0.3, 256, 0.5), @detkit/losses' `rpnLoss`), then the RoI heads in training (ground-truth boxes appended to
   * the proposals, `Matcher(boxFgIouThresh, boxBgIouThresh)`, a (boxBatchSizePerImage, boxPositiveFraction)
   * mini-batch (defaults 0.5, 0.5, 512, 0.25), targets encoded with `bboxRegWeights` (10, 10, 5, 5),
   * `fastRcnnLoss`); see {@link FASTER_RCNN_TRAINING}. The matcher's
   * and samplers' documented differences from torchvision's apply (@detkit/matchers, @detkit/samplers): the
   * draws are detkit's own unless `options.sampled` gives them. Differentiable with respect to the trainable
   * parameters: call it inside `optimizer.minimize` or `tf.variableGrads`. The model stays in eval mode for
   * every other call.
   *
   * @param images - As {@link FasterRcnn.detect}; with `nn.BatchNorm2d` (not `frozenBatchNorm`), more than one
   *   value per channel is needed at every batch norm, else a ShapeError.
   * @param targets - One {@link FasterRcnnTarget} per image: boxes with x2 > x1 and y2 > y1, labels in
   *   [1, numClasses) (InvalidArgumentError naming `targets[i].boxes` / `.labels` otherwise); no boxes is an
   *   image of background.
   */
  loss(images: TensorInput | readonly TensorInput[], targets: readonly FasterRcnnTarget[], options?: FasterRcnnLossOptions): FasterRcnnLoss;
  /** Loads a torchvision state dict (safetensors), see {@link TorchParameters.loadStateDict}. */
  loadStateDict(source: Uint8Array | SafetensorsFile, options?: LoadStateDictOptions): LoadStateDictReport;
  /** The state dict as safetensors, which torchvision's `load_state_dict(strict=True)` takes. */
  saveStateDict(metadata?: Readonly<Record<string, string>>): Uint8Array;
  /** Frees the variables. */
  dispose(): void;
}

/** {@link fasterrcnnMobilenetV3LargeFpn}'s and {@link fasterrcnnMobilenetV3Large320Fpn}'s model. */
export type FasterRcnnMobilenetV3LargeFpn = FasterRcnn<Required<Omit<FasterRcnnMobilenetOptions, 'seed'>>>;

/** {@link fasterrcnnResnet50Fpn}'s model. */
export type FasterRcnnResnet50Fpn = FasterRcnn<Required<Omit<FasterRcnnResnet50FpnOptions, 'seed'>>>;

type FasterRcnnDefaults = Partial<Record<'minSize' | 'maxSize' | 'rpnPreNmsTopNTest' | 'rpnPostNmsTopNTest' | 'rpnScoreThresh', number>>;

/** The options every factory shares, checked, with torchvision's defaults (`maxTrainable`: the backbone's stages). */
function fasterRcnnConfig(op: string, options: FasterRcnnOptions, defaults: FasterRcnnDefaults, maxTrainable: number): Required<Omit<FasterRcnnOptions, 'seed'>> {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(op, 'options', 'must be an object');
  const d = { ...FASTER_RCNN_DEFAULTS, ...defaults };
  const frozenBatchNorm = options.frozenBatchNorm ?? false;
  if (typeof frozenBatchNorm !== 'boolean') throw new InvalidArgumentError(op, 'frozenBatchNorm', `must be a boolean, got ${String(frozenBatchNorm)}`);
  type Name = keyof FasterRcnnOptions & keyof typeof d;
  const value = (name: Name) => (options[name] as number | undefined) ?? (d[name] as number);
  const topN = (name: Name) => integerOption(op, name, value(name), { min: 0 });
  const batch = (name: Name) => integerOption(op, name, value(name), { min: 1 });
  const unit = (name: Name) => numberOption(op, name, value(name), { min: 0, max: 1 });
  // torchvision's Matcher(high, low) asserts low <= high; a positive at IoU 0 would take every anchor.
  const thresholds = (fg: Name, bg: Name) => {
    const high = numberOption(op, fg, value(fg), { min: 0, max: 1, minExclusive: true });
    const low = unit(bg);
    if (low > high) throw new InvalidArgumentError(op, bg, `must be <= ${fg} (${high}), got ${low}`);
    return [high, low] as const;
  };
  const [rpnFgIouThresh, rpnBgIouThresh] = thresholds('rpnFgIouThresh', 'rpnBgIouThresh');
  const [boxFgIouThresh, boxBgIouThresh] = thresholds('boxFgIouThresh', 'boxBgIouThresh');
  return {
    numClasses: integerOption(op, 'numClasses', options.numClasses ?? 91, { min: 1 }),
    frozenBatchNorm,
    trainableBackboneLayers: integerOption(op, 'trainableBackboneLayers', options.trainableBackboneLayers ?? (frozenBatchNorm ? 3 : maxTrainable), { min: 0, max: maxTrainable }),
    minSize: numberOption(op, 'minSize', options.minSize ?? d.minSize, { min: 1 }),
    maxSize: numberOption(op, 'maxSize', options.maxSize ?? d.maxSize, { min: 1 }),
    imageMean: channelTriple(op, 'imageMean', options.imageMean ?? d.imageMean, false),
    imageStd: channelTriple(op, 'imageStd', options.imageStd ?? d.imageStd, true),
    rpnPreNmsTopNTrain: topN('rpnPreNmsTopNTrain'),
    rpnPreNmsTopNTest: topN('rpnPreNmsTopNTest'),
    rpnPostNmsTopNTrain: topN('rpnPostNmsTopNTrain'),
    rpnPostNmsTopNTest: topN('rpnPostNmsTopNTest'),
    rpnNmsThresh: unit('rpnNmsThresh'),
    rpnFgIouThresh,
    rpnBgIouThresh,
    rpnBatchSizePerImage: batch('rpnBatchSizePerImage'),
    rpnPositiveFraction: unit('rpnPositiveFraction'),
    rpnScoreThresh: unit('rpnScoreThresh'),
    boxScoreThresh: unit('boxScoreThresh'),
    boxNmsThresh: unit('boxNmsThresh'),
    boxDetectionsPerImg: topN('boxDetectionsPerImg'),
    boxFgIouThresh,
    boxBgIouThresh,
    boxBatchSizePerImage: batch('boxBatchSizePerImage'),
    boxPositiveFraction: unit('boxPositiveFraction'),
    bboxRegWeights: boxCoderWeights(op, 'bboxRegWeights', options.bboxRegWeights ?? d.bboxRegWeights),
    fpnOutChannels: integerOption(op, 'fpnOutChannels', options.fpnOutChannels ?? d.fpnOutChannels, { min: 1 }),
    representationSize: integerOption(op, 'representationSize', options.representationSize ?? d.representationSize, { min: 1 }),
  };
}

/** Four box-coder weights, each finite and > 0 (torchvision's BoxCoder divides the deltas by them). */
function boxCoderWeights(op: string, name: string, v: readonly number[]): BoxCoderWeights {
  if (!Array.isArray(v) || v.length !== 4) throw new InvalidArgumentError(op, name, `must be four numbers (wx, wy, ww, wh), got ${JSON.stringify(v)}`);
  return Object.freeze(v.map((w) => numberOption(op, name, w, { min: 0, minExclusive: true }))) as unknown as BoxCoderWeights;
}

/**
 * torchvision's `backbone.body` as {@link buildFasterRcnn} needs it: built (and its frozen stages frozen) by
 * the factory, first, so that the state dict keeps torchvision's order.
 */
interface RcnnBody {
  /** `backbone.body(x)`'s values in order (NHWC). */
  run(batch: tf.Tensor4D): tf.Tensor4D[];
  /** Channels of each returned map: the FPN's `in_channels_list`. */
  outChannels: readonly number[];
  /** `AnchorGenerator`'s sizes, one tuple per FPN level (with 'pool'), and its aspect ratios (the same on every level). */
  anchors: { sizes: ReadonlyArray<readonly number[]>; aspectRatios: readonly number[] };
}

/** {@link FasterRcnnLossOptions}, checked: the injected draws, or the random source of the samplers. */
function lossOptions(op: string, options: FasterRcnnLossOptions): { sampled: FasterRcnnSampled | undefined; random: Random } {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(op, 'options', 'must be an object');
  const { rng, seed, sampled } = options;
  if (rng !== undefined && seed !== undefined) throw new InvalidArgumentError(op, 'options.seed', 'and options.rng are exclusive: pass one of them');
  if (rng !== undefined && typeof rng !== 'function') throw new InvalidArgumentError(op, 'options.rng', `must be a function returning numbers in [0, 1), got ${String(rng)}`);
  if (sampled !== undefined && (sampled === null || typeof sampled !== 'object')) throw new InvalidArgumentError(op, 'options.sampled', 'must be an object { rpn, roi }');
  const random = rng ?? (seed !== undefined ? createRandom(integerOption(op, 'options.seed', seed)) : Math.random);
  return { sampled, random };
}

/**
 * GeneralizedRCNN.forward's check of the targets (torchvision raises a ValueError for "boxes ... positive
 * height and width"), and labels in [1, numClasses), which torchvision leaves to an index error.
 */
function checkTargetValues(op: string, t: { boxes: tf.Tensor2D[]; labels: tf.Tensor1D[] }, numClasses: number): void {
  t.boxes.forEach((b, i) => {
    const v = b.dataSync();
    for (let r = 0; r < v.length; r += 4) {
      if (!(v[r + 2]! > v[r]! && v[r + 3]! > v[r + 1]!)) {
        throw new InvalidArgumentError(op, `targets[${i}].boxes`, `must have positive width and height (x2 > x1, y2 > y1), got [${Array.from(v.subarray(r, r + 4)).join(', ')}] in row ${r / 4}`);
      }
    }
    const l = t.labels[i]!.dataSync();
    const bad = l.findIndex((c) => !(c >= 1 && c < numClasses));
    if (bad >= 0) throw new InvalidArgumentError(op, `targets[${i}].labels`, `must be class ids in [1, ${numClasses}) (0 is the background), got ${l[bad]} at ${bad}`);
  });
}

/** `options.sampled.proposals`, checked: one Tensor[P_i, 4] per image. */
function givenProposals(op: string, input: readonly TensorInput[], images: number): { boxes: tf.Tensor2D[] } {
  if (!Array.isArray(input) || input.length !== images) {
    throw new InvalidArgumentError(op, 'options.sampled.proposals', `must be an array with one Tensor[P, 4] per image (${images}), got ${Array.isArray(input) ? input.length : typeof input}`);
  }
  return {
    boxes: input.map((p, i) => {
      const t = toTensor(op, `options.sampled.proposals[${i}]`, p, 'float32');
      if (t.rank !== 2 || t.shape[1] !== 4) throw new ShapeError(op, `options.sampled.proposals[${i}]`, '[P, 4]', t.shape);
      return t as tf.Tensor2D;
    }),
  };
}

/** Indices given as a list or Tensor[S], checked to lie in [0, n), without repeats. */
function indexList(op: string, argument: string, input: TensorInput, n: number, what: string): Int32Array {
  // Called inside the loss's tidy, which frees the tensor.
  const t = toTensor(op, argument, input, 'int32');
  if (t.rank !== 1) throw new ShapeError(op, argument, '[S]', t.shape);
  const values = t.dataSync() as Int32Array;
  const seen = new Uint8Array(n);
  for (const k of values) {
    if (!(k >= 0 && k < n)) throw new InvalidArgumentError(op, argument, `must hold ${what} indices in [0, ${n}), got ${k}`);
    if (seen[k]) throw new InvalidArgumentError(op, argument, `holds ${what} ${k} twice`);
    seen[k] = 1;
  }
  return values;
}

/** The matcher's labels (Int32 [N]: 1, 0, -1) kept at the given indices, -1 elsewhere (the mini-batch as the loss reads it). */
function pickSampled(op: string, argument: string, labels: tf.Tensor1D, input: TensorInput, what: string): tf.Tensor1D {
  const all = labels.dataSync();
  const out = new Int32Array(all.length).fill(-1);
  for (const k of indexList(op, argument, input, all.length, what)) {
    if (all[k]! < 0) throw new InvalidArgumentError(op, argument, `picks ${what} ${k}, which the matcher ignores (its best IoU is between the thresholds)`);
    out[k] = all[k]!;
  }
  return tf.tensor1d(out, 'int32');
}

/** Rows of buildRoiTargets' unsampled result (`indices`, ascending, of n) that hold the given indices. */
function sampledRows(op: string, argument: string, indices: tf.Tensor1D, n: number, input: TensorInput): tf.Tensor1D {
  const row = new Int32Array(n).fill(-1);
  indices.dataSync().forEach((k, r) => (row[k] = r));
  const wanted = indexList(op, argument, input, n, 'proposal');
  return tf.tensor1d(
    Int32Array.from(wanted, (k) => {
      if (row[k]! < 0) throw new InvalidArgumentError(op, argument, `picks proposal ${k}, which the matcher ignores`);
      return row[k]!;
    }),
    'int32',
  );
}

/**
 * torchvision's `FasterRCNN(BackboneWithFPN(body, ...), num_classes, ...)` around the body
 * `makeBody` builds under `backbone.body`: FPN with LastLevelMaxPool, RPNHead, MultiScaleRoIAlign, TwoMLPHead,
 * FastRCNNPredictor, GeneralizedRCNNTransform.
 */
function buildFasterRcnn<C extends Required<Omit<FasterRcnnOptions, 'seed'>>>(model: string, config: C, seed: number, makeBody: (ctx: BuildContext) => RcnnBody): FasterRcnn<C> {
  const params = new TorchParameters();
  const mode: ModelMode = { training: false };
  const ctx: BuildContext = { params, convStd: 0.01, seed, frozenBatchNorm: config.frozenBatchNorm, mode };
  const transform = generalizedRcnnTransform(config);
  const body = makeBody(ctx);
  const fpn = featurePyramidNetwork(ctx, 'backbone.fpn', { inChannelsList: body.outChannels, outChannels: config.fpnOutChannels, extraBlocks: 'lastLevelMaxPool' });
  const numAnchors = body.anchors.sizes[0]!.length * body.anchors.aspectRatios.length;
  const rpn = rpnHead(ctx, 'rpn.head', config.fpnOutChannels, numAnchors);
  const boxHead = twoMlpHead(ctx, 'roi_heads.box_head', config.fpnOutChannels, ROI_OUTPUT_SIZE, config.representationSize);
  const predictor = fastRcnnPredictor(ctx, 'roi_heads.box_predictor', config.representationSize, config.numClasses);

  const backbone = (batchIn: TensorInput) =>
    tf.tidy(() => {
      const batch = toTensor('backbone', 'batch', batchIn) as tf.Tensor4D;
      if (batch.rank !== 4 || batch.shape[3] !== 3) throw new ShapeError('backbone', 'batch', '[N, H, W, 3]', batch.shape);
      const maps = body.run(batch);
      return { body: maps, features: fpn(maps) };
    });

  const anchors = (batchSize: readonly [number, number], features: readonly tf.Tensor4D[]) =>
    rpnAnchors(
      batchSize,
      features.map((f) => [f.shape[1], f.shape[2]] as [number, number]),
      body.anchors.sizes,
      features.map(() => body.anchors.aspectRatios),
    );

  const proposals = (head: RpnHeadLevels, a: MultiLevelAnchors, imageSizes: ReadonlyArray<readonly [number, number]>, o: { training?: boolean } = {}): Proposals =>
    tf.tidy(() => {
      const flat = flattenRpnLevels(head);
      return proposalLayer(
        { objectness: flat.objectness, deltas: flat.deltas, anchors: a.anchors, imageSizes: imageSizes as Array<[number, number]>, anchorsPerLevel: a.counts },
        {
          ...PROPOSAL_PRESETS.torchvisionTest,
          preNmsTopN: o.training ? config.rpnPreNmsTopNTrain : config.rpnPreNmsTopNTest,
          postNmsTopN: o.training ? config.rpnPostNmsTopNTrain : config.rpnPostNmsTopNTest,
          nmsThreshold: config.rpnNmsThresh,
          scoreThreshold: config.rpnScoreThresh,
          minSize: RPN_MIN_SIZE,
        },
      ) as unknown as tf.TensorContainer;
    }) as unknown as Proposals;

  const roiHeads = (features: readonly tf.Tensor4D[], props: readonly tf.Tensor2D[], imageSizes: ReadonlyArray<readonly [number, number]>): FasterRcnnBoxOutputs =>
    tf.tidy(() => {
      // FasterRCNN's MultiScaleRoIAlign(featmap_names=['0', '1', '2', '3']): the 'pool' level is never pooled from.
      const boxFeatures = boxRoiPool(features.slice(0, Math.min(4, features.length - 1)), props, imageSizes, ROI_OUTPUT_SIZE, ROI_SAMPLING_RATIO);
      const hidden = boxHead(boxFeatures);
      return { boxFeatures, boxHead: hidden, ...predictor(hidden) };
    });

  const postprocess = (outputs: Pick<FasterRcnnBoxOutputs, 'classLogits' | 'boxRegression'>, props: readonly tf.Tensor2D[], imageSizes: ReadonlyArray<readonly [number, number]>): Detections[] =>
    tf.tidy(
      () =>
        postprocessDetections(
          {
            classLogits: outputs.classLogits,
            boxDeltas: outputs.boxRegression,
            referenceBoxes: tf.concat(props.map((p) => tf.reshape(p, [-1, 4])), 0),
            imageSizes: imageSizes as Array<[number, number]>,
            boxesPerImage: props.map((p) => p.shape[0]),
          },
          { scoreThreshold: config.boxScoreThresh, nmsThreshold: config.boxNmsThresh, detectionsPerImage: config.boxDetectionsPerImg, minSize: BOX_MIN_SIZE, weights: config.bboxRegWeights as BoxCoderWeights },
        ) as unknown as tf.TensorContainer,
    ) as unknown as Detections[];

  const detect = (images: TensorInput | readonly TensorInput[]): Detections[] =>
    tf.tidy(() => {
      const list = imageList('detect', images);
      const { batch, imageSizes, originalSizes } = transform.apply(list);
      const { features } = backbone(batch);
      const head = rpn(features);
      const props = proposals(head, anchors([batch.shape[1], batch.shape[2]], features), imageSizes);
      const dets = postprocess(roiHeads(features, props.boxes, imageSizes), props.boxes, imageSizes);
      return dets.map((det, i) => ({ boxes: transform.postprocessBoxes(det.boxes, imageSizes[i]!, originalSizes[i]!), scores: det.scores, labels: det.labels })) as unknown as tf.TensorContainer;
    }) as unknown as Detections[];

  // RegionProposalNetwork's and RoIHeads' Matcher and BalancedPositiveNegativeSampler, from the keyword options.
  const rpnMatcher = createMaxIouMatcher({ ...FASTER_RCNN_TRAINING.rpnMatcher, highThreshold: config.rpnFgIouThresh, lowThreshold: config.rpnBgIouThresh });
  const roiMatcher = createMaxIouMatcher({ ...FASTER_RCNN_TRAINING.roiMatcher, highThreshold: config.boxFgIouThresh, lowThreshold: config.boxBgIouThresh });
  const rpnSampler = { batchSize: config.rpnBatchSizePerImage, positiveFraction: config.rpnPositiveFraction };
  const roiSampler = { batchSize: config.boxBatchSizePerImage, positiveFraction: config.boxPositiveFraction };
  const loss = (images: TensorInput | readonly TensorInput[], targets: readonly FasterRcnnTarget[], options: FasterRcnnLossOptions = {}): FasterRcnnLoss => {
    const op = 'loss';
    const { sampled, random } = lossOptions(op, options);
    return tf.tidy(() => {
      const list = imageList(op, images);
      const t = targetTensors(op, targets, list.length);
      checkTargetValues(op, t, config.numClasses);
      if (sampled !== undefined) {
        for (const stage of ['rpn', 'roi'] as const) {
          if (!Array.isArray(sampled[stage]) || sampled[stage].length !== list.length) {
            throw new InvalidArgumentError(op, `options.sampled.${stage}`, `must be an array with one index list per image (${list.length}), got ${Array.isArray(sampled[stage]) ? sampled[stage].length : typeof sampled[stage]}`);
          }
        }
      }
      const { batch, imageSizes, originalSizes } = transform.apply(list);
      // transform.resize's resize_boxes: x by float32(width) / float32(original width), y likewise.
      const gtBoxes = t.boxes.map((b, i) => {
        const rh = Math.fround(imageSizes[i]![0] / originalSizes[i]![0]);
        const rw = Math.fround(imageSizes[i]![1] / originalSizes[i]![1]);
        return tf.mul(b, tf.tensor1d([rw, rh, rw, rh])) as tf.Tensor2D;
      });
      mode.training = true;
      let features: tf.Tensor4D[];
      try {
        features = backbone(batch).features;
      } finally {
        mode.training = false;
      }
      // RegionProposalNetwork.forward in training: proposals from the detached head outputs, then its loss.
      const head = rpn(features);
      const a = anchors([batch.shape[1], batch.shape[2]], features);
      const props = sampled?.proposals !== undefined ? givenProposals(op, sampled.proposals, list.length) : proposals(head, a, imageSizes, { training: true });
      const flat = flattenRpnLevels(head);
      const rpnTargets = gtBoxes.map((g, i) => {
        const r = buildRpnTargets(a.anchors, g, { matcher: rpnMatcher, sampler: sampled ? false : rpnSampler, weights: FASTER_RCNN_TRAINING.rpnBoxCoderWeights, rng: random });
        return { labels: sampled ? pickSampled(op, `options.sampled.rpn[${i}]`, r.labels, sampled.rpn[i]!, 'anchor') : r.labels, regressionTargets: r.regressionTargets };
      });
      const rpnParts = rpnLoss(
        flat.objectness,
        flat.deltas,
        tf.stack(rpnTargets.map((r) => r.labels)),
        tf.stack(rpnTargets.map((r) => r.regressionTargets)),
        { normalization: 'torchvision' },
      );
      // RoIHeads.select_training_samples, box head, fastrcnn_loss.
      const roi = props.boxes.map((p, i) => {
        const r = buildRoiTargets(p, gtBoxes[i]!, t.labels[i]!, {
          matcher: roiMatcher,
          sampler: sampled ? false : roiSampler,
          weights: config.bboxRegWeights as BoxCoderWeights,
          appendGtBoxes: true,
          rng: random,
        });
        if (!sampled) return r;
        const rows = sampledRows(op, `options.sampled.roi[${i}]`, r.indices, p.shape[0] + gtBoxes[i]!.shape[0], sampled.roi[i]!);
        return { proposals: tf.gather(r.proposals, rows), classLabels: tf.gather(r.classLabels, rows), regressionTargets: tf.gather(r.regressionTargets, rows) };
      });
      const box = roiHeads(
        features,
        roi.map((r) => r.proposals as tf.Tensor2D),
        imageSizes,
      );
      const boxParts = fastRcnnLoss(
        box.classLogits,
        box.boxRegression,
        tf.concat(roi.map((r) => r.classLabels as tf.Tensor1D)),
        tf.concat(roi.map((r) => r.regressionTargets as tf.Tensor2D)),
        { normalization: 'torchvision' },
      );
      const parts = { lossObjectness: rpnParts.classification, lossRpnBoxReg: rpnParts.regression, lossClassifier: boxParts.classification, lossBoxReg: boxParts.regression };
      return { ...parts, total: tf.addN(Object.values(parts)) } as unknown as tf.TensorContainer;
    }) as unknown as FasterRcnnLoss;
  };

  return {
    config,
    parameters: params,
    transform: (images) => transform.apply(images),
    backbone,
    rpnHead: (features) => tf.tidy(() => rpn(features) as unknown as tf.TensorContainer) as unknown as RpnHeadLevels,
    anchors,
    proposals,
    roiHeads,
    postprocess,
    detect,
    loss,
    loadStateDict: (source, o) => params.loadStateDict(source, o),
    saveStateDict: (metadata) => params.saveStateDict({ model: `torchvision.models.detection.${model}`, ...metadata }),
    dispose: () => params.dispose(),
  };
}

/** `_fasterrcnn_mobilenet_v3_large_fpn`: MobileNetV3-Large's features under `_mobilenet_extractor(fpn=True)`. */
function buildFasterRcnnMobilenet(op: string, model: string, defaults: FasterRcnnDefaults, options: FasterRcnnMobilenetOptions): FasterRcnnMobilenetV3LargeFpn {
  const config = {
    ...fasterRcnnConfig(op, options, { rpnScoreThresh: 0.05, ...defaults }, 6),
    widthMult: numberOption(op, 'widthMult', options.widthMult ?? 1, { min: Number.MIN_VALUE, max: 1e3 }),
  };
  return buildFasterRcnn(model, config, options.seed ?? 0, (ctx) => {
    // mobilenet_v3_large(norm_layer=...).features, then _mobilenet_extractor(backbone, fpn=True, trainable_layers).
    const name = (i: number, j: number) => (j < 0 ? `backbone.body.${i}` : `backbone.body.${i}.block.${j}`);
    const net = mobilenetV3LargeFeatures(ctx, { widthMult: config.widthMult, eps: FASTER_RCNN_MOBILENET_BATCH_NORM_EPS, name });
    const stages = net.stageIndices;
    const returned = [stages[stages.length - 2]!, stages[stages.length - 1]!];
    const channelsAt = (i: number) => (i === net.blocks.length + 1 ? net.lastChannels : net.blocks[i - 1]!.outChannels);
    const freezeBefore = config.trainableBackboneLayers === 0 ? net.blocks.length + 2 : stages[stages.length - config.trainableBackboneLayers]!;
    ctx.params.setTrainable((n) => {
      const m = /^backbone\.body\.(\d+)\./.exec(n);
      return m !== null && Number(m[1]) < freezeBefore;
    }, false);
    return {
      outChannels: returned.map(channelsAt),
      anchors: { sizes: returned.concat(0).map(() => MOBILENET_FPN_ANCHORS.sizes), aspectRatios: MOBILENET_FPN_ANCHORS.aspectRatios },
      run: (batch) => {
        const body: tf.Tensor4D[] = [];
        let x = net.stem(batch);
        for (let i = 1; i <= net.blocks.length + 1; i++) {
          x = i <= net.blocks.length ? runBlock(net.blocks[i - 1]!, x) : net.last(x);
          if (returned.includes(i)) body.push(x);
        }
        return body;
      },
    };
  });
}

/**
 * Creates torchvision 0.14's `fasterrcnn_mobilenet_v3_large_fpn(weights=None, weights_backbone=None, ...)`:
 * MobileNetV3-Large (full tail, batch-norm eps 1e-5) whose last two stages (both stride 32) feed a 256-channel
 * FPN with a max-pool level, an RPN with 15 anchors per location (sizes 32 … 512 x ratios 0.5, 1, 2 on each
 * level), RoIAlign 7 x 7 from level '0', TwoMLPHead (1024) and FastRCNNPredictor. Images are resized to a
 * shorter side of 800 (longest at most 1333); RPN score threshold 0.05, 1000 proposals per level and image
 * at test time. Parameter names are torchvision's: load published or converted weights with `loadStateDict`
 * (`frozenBatchNorm: true` for a pretrained model's state dict, which torchvision builds with FrozenBatchNorm2d).
 *
 * @example
 * const model = fasterrcnnMobilenetV3LargeFpn({ numClasses: 91, frozenBatchNorm: true });
 * model.loadStateDict(readFileSync('fasterrcnn_mobilenet_v3_large_fpn.safetensors'));
 * const [det] = model.detect(image); // image: Tensor[H, W, 3] in [0, 1]
 */
export function fasterrcnnMobilenetV3LargeFpn(options: FasterRcnnMobilenetOptions = {}): FasterRcnnMobilenetV3LargeFpn {
  return buildFasterRcnnMobilenet('fasterrcnnMobilenetV3LargeFpn', 'fasterrcnn_mobilenet_v3_large_fpn', {}, options);
}

/**
 * torchvision 0.14's `fasterrcnn_mobilenet_v3_large_320_fpn`: {@link fasterrcnnMobilenetV3LargeFpn} for
 * low-resolution inputs, with torchvision's defaults `min_size=320, max_size=640, rpn_pre_nms_top_n_test=150,
 * rpn_post_nms_top_n_test=150, rpn_score_thresh=0.05`.
 *
 * @example
 * const model = fasterrcnnMobilenetV3Large320Fpn({ numClasses: 91 });
 * const [det] = model.detect(tf.randomUniform([240, 320, 3]));
 */
export function fasterrcnnMobilenetV3Large320Fpn(options: FasterRcnnMobilenetOptions = {}): FasterRcnnMobilenetV3LargeFpn {
  return buildFasterRcnnMobilenet('fasterrcnnMobilenetV3Large320Fpn', 'fasterrcnn_mobilenet_v3_large_320_fpn', { minSize: 320, maxSize: 640, rpnPreNmsTopNTest: 150, rpnPostNmsTopNTest: 150 }, options);
}

/** Batch-norm epsilon of `fasterrcnn_resnet50_fpn`'s ResNet-50: torch's default (FrozenBatchNorm2d's too). */
export const FASTER_RCNN_RESNET_BATCH_NORM_EPS = 1e-5;

/**
 * Creates torchvision 0.14's `fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None, ...)` (Ren et al.
 * 2015's Faster R-CNN, Lin et al. 2017's FPN, He et al. 2016's ResNet-50): `backbone.body` is ResNet-50 up to
 * `layer4` (Bottleneck v1.5, see {@link resnet50Body}), `backbone.fpn` a 256-channel FPN on `layer1` …
 * `layer4` (in_channels [256, 512, 1024, 2048]) with LastLevelMaxPool, so 5 levels '0' … '3' and 'pool'
 * (strides 4 … 64); `rpn.head` an RPNHead with 3 anchors per location ({@link RESNET_FPN_ANCHORS}: size 32 on
 * '0' … 512 on 'pool', ratios 0.5, 1, 2); `roi_heads` MultiScaleRoIAlign over '0' … '3' (7 x 7, sampling
 * ratio 2), TwoMLPHead (256 · 7 · 7 → 1024 → 1024) and FastRCNNPredictor. torchvision's defaults: images
 * resized to a shorter side of 800 (longest at most 1333), ImageNet normalisation, batches padded to 32; RPN
 * score threshold 0, 1000 proposals per level before NMS (0.7) and 1000 per image after at test time;
 * detections with a class probability > 0.05, NMS 0.5, at most 100 per image.
 *
 * `frozenBatchNorm: true` builds what torchvision builds for pretrained weights (`FrozenBatchNorm2d`,
 * `trainableBackboneLayers` default 3: `conv1`, `bn1` and `layer1` frozen); torchvision's COCO_V1 checkpoint
 * also needs `batchNormEps: 0`. Parameter names are torchvision's (`backbone.body.layer1.0.conv1.weight`, …).
 *
 * @example
 * // python3 scripts/pth_to_safetensors.py fasterrcnn_resnet50_fpn_coco-258fb6c6.pth frcnn-r50.safetensors
 * const model = fasterrcnnResnet50Fpn({ numClasses: 91, frozenBatchNorm: true, batchNormEps: 0 });
 * model.loadStateDict(readFileSync('frcnn-r50.safetensors'));
 * const [det] = model.detect(image); // image: Tensor[H, W, 3] RGB in [0, 1]; boxes xyxy in its pixels
 */
export function fasterrcnnResnet50Fpn(options: FasterRcnnResnet50FpnOptions = {}): FasterRcnnResnet50Fpn {
  const op = 'fasterrcnnResnet50Fpn';
  const common = fasterRcnnConfig(op, options, {}, 5);
  const config = { ...common, batchNormEps: numberOption(op, 'batchNormEps', options.batchNormEps ?? FASTER_RCNN_RESNET_BATCH_NORM_EPS, { min: 0, max: 1 }) };
  return buildFasterRcnn('fasterrcnn_resnet50_fpn', config, options.seed ?? 0, (ctx) => {
    // resnet50(norm_layer=...), then _resnet_fpn_extractor(backbone, trainable_layers): returned layers 1-4.
    const net = resnet50Body(ctx, 'backbone.body', { eps: config.batchNormEps });
    const trainable = resnetTrainableLayers(config.trainableBackboneLayers);
    ctx.params.setTrainable((n) => n.startsWith('backbone.body.') && !trainable(n.slice('backbone.body.'.length)), false);
    return {
      outChannels: net.outChannels,
      anchors: RESNET_FPN_ANCHORS,
      run: (batch) => {
        let x = net.stem(batch);
        return net.layers.map((layer) => (x = layer(x)));
      },
    };
  });
}
