import { SSDLITE320, ssdBoxesPerLocation, ssdDefaultBoxes } from '@detkit/anchors';
import { ROI_BOX_CODER_WEIGHTS } from '@detkit/boxes';
import { postprocessDetections, type Detections } from '@detkit/heads';
import { InvalidArgumentError, ShapeError, integerOption, numberOption, tf, toTensor, type TensorInput } from '@detkit/core';
import { multiboxLoss } from '@detkit/losses';
import { createSsdMatcher } from '@detkit/matchers';
import { buildSsdTargetsBatch } from '@detkit/samplers';
import { channelTriple, imageList, targetTensors, type TargetInput } from './internal';
import { conv2d, conv2dNormActivation, sequential, type BuildContext, type Layer, type ModelMode } from './layers';
import { mobilenetV3LargeConfig, mobilenetV3LargeFeatures, runBlock } from './mobilenet-v3';
import { TorchParameters, type LoadStateDictOptions, type LoadStateDictReport } from './state-dict';
import type { SafetensorsFile } from './safetensors';

/** SSDlite's batch norm: `partial(nn.BatchNorm2d, eps=0.001, momentum=0.03)` (torchvision's default `norm_layer`). */
export const SSDLITE_BATCH_NORM_EPS = 0.001;
/** SSDlite's batch-norm momentum (train mode), see {@link SSDLITE_BATCH_NORM_EPS}. */
export const SSDLITE_BATCH_NORM_MOMENTUM = 0.03;

/** `SSD(iou_thresh=0.5)`: a default box matches a ground-truth box at IoU >= this (besides each box's best). */
const SSD_TRAINING_IOU_THRESH = 0.5;

/**
 * torchvision `SSD`'s training defaults: `SSDMatcher(iou_thresh=0.5)`, `neg_to_pos_ratio=3` (from
 * `positive_fraction=0.25`), `BoxCoder((10, 10, 5, 5))`. The factory takes the first two as `iouThresh` and
 * `positiveFraction`; the box coder weights are fixed in torchvision too.
 */
export const SSD_TRAINING = Object.freeze({
  iouThresh: SSD_TRAINING_IOU_THRESH,
  negToPosRatio: 3,
  boxCoderWeights: ROI_BOX_CODER_WEIGHTS,
});

/** One image's ground truth for {@link Ssdlite320MobilenetV3Large.loss}: torchvision's target dict. */
export type SsdliteTarget = TargetInput;

/** {@link Ssdlite320MobilenetV3Large.loss}'s result: torchvision's loss dict, plus their sum. */
export interface SsdliteLoss {
  /** `losses['bbox_regression']`: smooth L1 (beta 1) over the positives' encoded boxes, / max(1, positives). */
  bboxRegression: tf.Scalar;
  /** `losses['classification']`: cross-entropy over positives and 3:1 hard negatives, / max(1, positives). */
  classification: tf.Scalar;
  /** `bboxRegression + classification`, what torchvision's reference script minimises. */
  total: tf.Scalar;
}

/** torchvision `ssdlite320_mobilenet_v3_large`'s postprocessing and transform defaults. */
export const SSDLITE320_DEFAULTS = Object.freeze({
  scoreThresh: 0.001,
  nmsThresh: 0.55,
  detectionsPerImg: 300,
  topkCandidates: 300,
  iouThresh: SSD_TRAINING_IOU_THRESH,
  positiveFraction: 0.25,
  imageMean: Object.freeze([0.5, 0.5, 0.5]) as readonly number[],
  imageStd: Object.freeze([0.5, 0.5, 0.5]) as readonly number[],
});

/** Options of {@link ssdlite320MobilenetV3Large}: torchvision's keyword arguments, camel-cased. */
export interface Ssdlite320Options {
  /** Classes including the background (class 0). Default 91 (COCO, as torchvision). */
  numClasses?: number;
  /** MobileNetV3's `width_mult` (the extra layers and head keep their widths, as in torchvision). Default 1. */
  widthMult?: number;
  /**
   * MobileNetV3's `reduced_tail`. Default true: torchvision reduces the tail whenever `weights_backbone` is
   * None, which is also the case for the COCO weights.
   */
  reducedTail?: boolean;
  /**
   * Backbone stages left trainable, 0-6, counting from the last (`trainable_backbone_layers`); the others'
   * parameters are frozen. Default 6 (all), torchvision's.
   */
  trainableBackboneLayers?: number;
  /** Keep detections with a class probability above this (`score_thresh`), in [0, 1]. Default 0.001. */
  scoreThresh?: number;
  /** Class-aware NMS IoU threshold (`nms_thresh`), in [0, 1]. Default 0.55. */
  nmsThresh?: number;
  /** Detections kept per image (`detections_per_img`), integer >= 0. Default 300. */
  detectionsPerImg?: number;
  /** Candidates kept per class before NMS (`topk_candidates`), integer >= 0. Default 300. */
  topkCandidates?: number;
  /**
   * Training: a default box is positive for a ground-truth box at IoU >= this, besides each box's best
   * default box (`iou_thresh`, `SSDMatcher`'s threshold), in (0, 1]. Default 0.5.
   */
  iouThresh?: number;
  /**
   * Training: share of positives among the classification loss's priors (`positive_fraction`): hard negatives
   * are kept at (1 - positiveFraction) / positiveFraction per positive (torchvision's `neg_to_pos_ratio`), in
   * (0, 1]. Default 0.25 (3 negatives per positive).
   */
  positiveFraction?: number;
  /** Per-channel mean subtracted from [0, 1] images (`image_mean`). Default [0.5, 0.5, 0.5]. */
  imageMean?: readonly number[];
  /** Per-channel divisor (`image_std`), each > 0. Default [0.5, 0.5, 0.5]. */
  imageStd?: readonly number[];
  /** Seed of the initial weights (normal, std 0.03, as torchvision's `_normal_init`). Default 0. */
  seed?: number;
}

/** Per-call overrides of {@link Ssdlite320MobilenetV3Large.detect}'s postprocessing (the model's config otherwise). */
export interface SsdliteDetectOptions {
  /** Keep detections with a class probability above this. */
  scoreThresh?: number;
  /** Detections kept per image. */
  detectionsPerImg?: number;
}

/** What {@link Ssdlite320MobilenetV3Large.forward} returns: torchvision's `backbone` and `head` outputs. */
export interface SsdliteForward {
  /** The six feature maps (`backbone(x)['0']` … `['5']`), NHWC: Tensor[N, H_k, W_k, C_k]. */
  features: tf.Tensor4D[];
  /** Tensor[N, A, numClasses] class logits (`head(...)['cls_logits']`), A = 3,234 at 320 x 320. */
  clsLogits: tf.Tensor3D;
  /** Tensor[N, A, 4] deltas (dx, dy, dw, dh), box-coder weights (10, 10, 5, 5) (`['bbox_regression']`). */
  bboxRegression: tf.Tensor3D;
}

/**
 * torchvision 0.14's `ssdlite320_mobilenet_v3_large` (Liu et al. 2016's SSD with Sandler et al. 2018's
 * SSDlite head on Howard et al. 2019's MobileNetV3-Large), module for module; made by
 * {@link ssdlite320MobilenetV3Large}. The batch norms always use their running statistics (torchvision's
 * eval mode).
 */
export interface Ssdlite320MobilenetV3Large {
  readonly config: Required<Omit<Ssdlite320Options, 'seed'>>;
  /** Parameters and buffers under torchvision's names. */
  readonly parameters: TorchParameters;
  /**
   * torchvision's `GeneralizedRCNNTransform` with `fixed_size=(320, 320)`: normalise with `imageMean` /
   * `imageStd`, then bilinear resize (half-pixel centres, torch's `align_corners=False`) to 320 x 320.
   *
   * @param images - Tensor[H, W, 3] images in [0, 1] (float32, RGB), or a Tensor[N, H, W, 3] batch.
   * @returns Tensor[N, 320, 320, 3].
   */
  transform(images: TensorInput | readonly TensorInput[]): tf.Tensor4D;
  /** Backbone and head on a transformed batch Tensor[N, 320, 320, 3] (any size works; anchors follow it). */
  forward(batch: TensorInput): SsdliteForward;
  /**
   * Detections as torchvision's model returns them in eval mode: transform, forward, default boxes,
   * `SSD.postprocess_detections` (softmax, per class score > scoreThresh, top topkCandidates, decode and clip,
   * class-aware NMS, top detectionsPerImg), boxes scaled back to each input image.
   *
   * @param images - As {@link Ssdlite320MobilenetV3Large.transform}.
   * @returns Per image: boxes Tensor[D, 4] xyxy in the input image's pixels, scores Tensor[D], labels
   *   Tensor[D] int32 (1..numClasses-1), by descending score.
   */
  detect(images: TensorInput | readonly TensorInput[], options?: SsdliteDetectOptions): Detections[];
  /**
   * The training losses, as torchvision's model returns them in train mode (`model.train(); model(images,
   * targets)`): transform (targets' boxes scaled by the float32 ratios 320 / side), backbone and head with the
   * batch norms in train mode (batch statistics; the running statistics move by momentum 0.03 and
   * `num_batches_tracked` counts the call), `SSDMatcher(iouThresh)` (each box's best default box, then IoU >=
   * iouThresh, default 0.5), `SSD.compute_loss` (@detkit/losses' `multiboxLoss` with (1 - positiveFraction) /
   * positiveFraction hard negatives per positive, default 3; its documented tie order
   * differences apply). Differentiable with respect to the trainable parameters: call it inside
   * `optimizer.minimize` or `tf.variableGrads`. The model stays in eval mode for every other call.
   *
   * @param images - As {@link Ssdlite320MobilenetV3Large.transform}; more than one value per batch-norm
   *   channel is needed (a batch of 2 images or more: the last extra block is 1 x 1), else a ShapeError.
   * @param targets - One {@link SsdliteTarget} per image.
   */
  loss(images: TensorInput | readonly TensorInput[], targets: readonly SsdliteTarget[]): SsdliteLoss;
  /** Loads a torchvision state dict (safetensors), see {@link TorchParameters.loadStateDict}. */
  loadStateDict(source: Uint8Array | SafetensorsFile, options?: LoadStateDictOptions): LoadStateDictReport;
  /** The state dict as safetensors, which torchvision's `load_state_dict(strict=True)` takes. */
  saveStateDict(metadata?: Readonly<Record<string, string>>): Uint8Array;
  /** Frees the variables. */
  dispose(): void;
}

/** `_extra_block(in, out)`: 1x1 to out / 2, 3x3 depthwise stride 2, 1x1 to out, each with BN and ReLU6. */
function extraBlock(ctx: BuildContext, name: string, cin: number, cout: number): Layer {
  const mid = Math.floor(cout / 2);
  const eps = SSDLITE_BATCH_NORM_EPS;
  return sequential([
    conv2dNormActivation(ctx, `${name}.0`, { inChannels: cin, outChannels: mid, kernel: 1, eps, activation: 'relu6' }),
    conv2dNormActivation(ctx, `${name}.1`, { inChannels: mid, outChannels: mid, kernel: 3, stride: 2, groups: mid, eps, activation: 'relu6' }),
    conv2dNormActivation(ctx, `${name}.2`, { inChannels: mid, outChannels: cout, kernel: 1, eps, activation: 'relu6' }),
  ]);
}

/** `_prediction_block(in, out, 3)`: 3x3 depthwise conv + BN + ReLU6 (`.0`), then a 1x1 conv with bias (`.1`). */
function predictionBlock(ctx: BuildContext, name: string, cin: number, cout: number, classDependent: boolean): Layer {
  const dw = conv2dNormActivation(ctx, `${name}.0`, { inChannels: cin, outChannels: cin, kernel: 3, groups: cin, eps: SSDLITE_BATCH_NORM_EPS, activation: 'relu6' });
  const pw = conv2d(ctx, `${name}.1`, { inChannels: cin, outChannels: cout, kernel: 1, bias: true, classDependent });
  return (x) => pw(dw(x));
}

/**
 * Creates torchvision 0.14's `ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, ...)`:
 * MobileNetV3-Large (reduced tail) cut at C4's expansion layer, four extra blocks (512, 256, 256, 128), the
 * SSDlite head (depthwise-separable 3x3 prediction blocks, six default boxes per location), 320 x 320 input.
 * Parameter names are torchvision's (`backbone.features.0.0.0.weight`, `head.classification_head.module_list.0.1.weight`,
 * ...): load published or converted weights with `loadStateDict`.
 *
 * @example
 * const model = ssdlite320MobilenetV3Large({ numClasses: 91 });
 * model.loadStateDict(readFileSync('ssdlite320_mobilenet_v3_large_coco.safetensors'));
 * const [det] = model.detect(image); // image: Tensor[H, W, 3] in [0, 1]
 */
export function ssdlite320MobilenetV3Large(options: Ssdlite320Options = {}): Ssdlite320MobilenetV3Large {
  const op = 'ssdlite320MobilenetV3Large';
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(op, 'options', 'must be an object');
  const d = SSDLITE320_DEFAULTS;
  const config = {
    numClasses: integerOption(op, 'numClasses', options.numClasses ?? 91, { min: 1 }),
    widthMult: options.widthMult ?? 1,
    reducedTail: options.reducedTail ?? true,
    trainableBackboneLayers: integerOption(op, 'trainableBackboneLayers', options.trainableBackboneLayers ?? 6, { min: 0, max: 6 }),
    scoreThresh: numberOption(op, 'scoreThresh', options.scoreThresh ?? d.scoreThresh, { min: 0, max: 1 }),
    nmsThresh: numberOption(op, 'nmsThresh', options.nmsThresh ?? d.nmsThresh, { min: 0, max: 1 }),
    detectionsPerImg: integerOption(op, 'detectionsPerImg', options.detectionsPerImg ?? d.detectionsPerImg, { min: 0 }),
    topkCandidates: integerOption(op, 'topkCandidates', options.topkCandidates ?? d.topkCandidates, { min: 0 }),
    iouThresh: numberOption(op, 'iouThresh', options.iouThresh ?? d.iouThresh, { min: 0, max: 1, minExclusive: true }),
    positiveFraction: numberOption(op, 'positiveFraction', options.positiveFraction ?? d.positiveFraction, { min: 0, max: 1, minExclusive: true }),
    imageMean: channelTriple(op, 'imageMean', options.imageMean ?? d.imageMean, false),
    imageStd: channelTriple(op, 'imageStd', options.imageStd ?? d.imageStd, true),
  };
  const params = new TorchParameters();
  const mode: ModelMode = { training: false };
  const ctx: BuildContext = { params, convStd: 0.03, seed: options.seed ?? 0, mode, batchNormMomentum: SSDLITE_BATCH_NORM_MOMENTUM };
  const { blocks: confs } = mobilenetV3LargeConfig(config);
  // torchvision's `_mobilenet_extractor`: stage_indices[-2] is the last block that reduces resolution (C4).
  const c4 = confs.reduce((last, c, b) => (c.stride > 1 ? b + 1 : last), 0);
  const name = (i: number, j: number): string => {
    if (i < c4) return j < 0 ? `backbone.features.0.${i}` : `backbone.features.0.${i}.block.${j}`;
    if (i === c4) return j === 0 ? `backbone.features.0.${i}` : `backbone.features.1.0.${j}`; // Sequential slicing keeps the keys
    return j < 0 ? `backbone.features.1.${i - c4}` : `backbone.features.1.${i - c4}.block.${j}`;
  };
  const net = mobilenetV3LargeFeatures(ctx, { ...config, eps: SSDLITE_BATCH_NORM_EPS, name });
  const c4Block = net.blocks[c4 - 1]!;
  if (c4Block.residual || c4Block.parts.length < 2) throw new InvalidArgumentError(op, 'widthMult', 'gives a C4 block without an expansion layer');
  const extraChannels = [512, 256, 256, 128];
  const extras = extraChannels.map((c, k) => extraBlock(ctx, `backbone.extra.${k}`, k === 0 ? net.lastChannels : (extraChannels[k - 1] as number), c));
  const outChannels = [confs[c4 - 1]!.expandedChannels, net.lastChannels, ...extraChannels];
  const anchorsPerLocation = ssdBoxesPerLocation(SSDLITE320);
  const cls = outChannels.map((c, k) => predictionBlock(ctx, `head.classification_head.module_list.${k}`, c, config.numClasses * anchorsPerLocation[k]!, true));
  const reg = outChannels.map((c, k) => predictionBlock(ctx, `head.regression_head.module_list.${k}`, c, 4 * anchorsPerLocation[k]!, false));
  // trainable_backbone_layers: freeze features[:stage_indices[6 - t]] (all of them for t = 0).
  const freezeBefore = config.trainableBackboneLayers === 0 ? net.stageIndices[net.stageIndices.length - 1]! + 1 : net.stageIndices[net.stageIndices.length - config.trainableBackboneLayers]!;
  const frozen = new Set<string>();
  for (let i = 0; i < freezeBefore; i++) {
    const parts = i === 0 || i === confs.length + 1 ? [-1] : net.blocks[i - 1]!.parts.map((_, j) => j);
    for (const j of parts) frozen.add(name(i, j));
  }
  params.setTrainable((n) => [...frozen].some((p) => n.startsWith(`${p}.`)), false);

  const forward = (batchIn: TensorInput): SsdliteForward =>
    tf.tidy(() => {
      const batch = toTensor('forward', 'batch', batchIn) as tf.Tensor4D;
      if (batch.rank !== 4 || batch.shape[3] !== 3) throw new ShapeError('forward', 'batch', '[N, H, W, 3]', batch.shape);
      let x = net.stem(batch);
      for (let b = 0; b < c4 - 1; b++) x = runBlock(net.blocks[b]!, x);
      const parts = c4Block.parts;
      const f0 = parts[0]!(x);
      x = parts.slice(1).reduce((h, layer) => layer(h), f0);
      for (let b = c4; b < net.blocks.length; b++) x = runBlock(net.blocks[b]!, x);
      const features = [f0, net.last(x)];
      for (const extra of extras) features.push(extra(features[features.length - 1]!));
      const n = batch.shape[0];
      const head = (layers: Layer[], columns: number) => tf.concat(features.map((f, k) => tf.reshape(layers[k]!(f), [n, -1, columns])), 1) as tf.Tensor3D;
      return { features, clsLogits: head(cls, config.numClasses), bboxRegression: head(reg, 4) };
    });

  const transform = (images: TensorInput | readonly TensorInput[]): tf.Tensor4D =>
    tf.tidy(() => {
      const list = imageList('transform', images);
      const mean = tf.tensor1d(config.imageMean);
      const std = tf.tensor1d(config.imageStd);
      return tf.stack(list.map((im) => tf.image.resizeBilinear(tf.div(tf.sub(tf.cast(im, 'float32'), mean), std) as tf.Tensor3D, [320, 320], false, true))) as tf.Tensor4D;
    });

  const detect = (images: TensorInput | readonly TensorInput[], overrides: SsdliteDetectOptions = {}): Detections[] =>
    tf.tidy(() => {
      const list = imageList('detect', images);
      const out = forward(transform(list));
      const anchors = ssdDefaultBoxes({ ...SSDLITE320, featureMapSizes: out.features.map((f) => [f.shape[1], f.shape[2]] as [number, number]) });
      const dets = postprocessDetections(
        { classLogits: out.clsLogits, boxDeltas: out.bboxRegression, referenceBoxes: anchors, imageSizes: [320, 320] },
        {
          scoreThreshold: overrides.scoreThresh ?? config.scoreThresh,
          nmsThreshold: config.nmsThresh,
          detectionsPerImage: overrides.detectionsPerImg ?? config.detectionsPerImg,
          topkCandidates: config.topkCandidates,
          minSize: 0,
        },
      );
      // transform.postprocess: resize_boxes by float32 original / 320 ratios.
      return dets.map((det, i) => {
        const [h, w] = list[i]!.shape;
        const rh = Math.fround(h / 320);
        const rw = Math.fround(w / 320);
        return { boxes: tf.mul(det.boxes, tf.tensor1d([rw, rh, rw, rh])) as tf.Tensor2D, scores: det.scores, labels: det.labels };
      }) as unknown as tf.TensorContainer;
    }) as unknown as Detections[];

  const matcher = createSsdMatcher({ threshold: config.iouThresh });
  // SSD.__init__: neg_to_pos_ratio = (1 - positive_fraction) / positive_fraction, a Python float that
  // compute_loss multiplies with an integer tensor in float32.
  const negPosRatio = Math.fround((1 - config.positiveFraction) / config.positiveFraction);
  const loss = (images: TensorInput | readonly TensorInput[], targets: readonly SsdliteTarget[]): SsdliteLoss =>
    tf.tidy(() => {
      const list = imageList('loss', images);
      const gt = targetTensors('loss', targets, list.length);
      // transform.resize's resize_boxes: float32 ratios new / original.
      const gtBoxes = gt.boxes.map((boxes, i) => {
        const [h, w] = list[i]!.shape;
        const rw = Math.fround(320 / w);
        const rh = Math.fround(320 / h);
        return tf.mul(boxes, tf.tensor1d([rw, rh, rw, rh])) as tf.Tensor2D;
      });
      const gtLabels = gt.labels;
      const batch = transform(list);
      mode.training = true;
      let out: SsdliteForward;
      try {
        out = forward(batch);
      } finally {
        mode.training = false;
      }
      const anchors = ssdDefaultBoxes({ ...SSDLITE320, featureMapSizes: out.features.map((f) => [f.shape[1], f.shape[2]] as [number, number]) });
      const t = buildSsdTargetsBatch(anchors, gtBoxes, gtLabels, { matcher, weights: SSD_TRAINING.boxCoderWeights });
      const l = multiboxLoss(out.clsLogits, out.bboxRegression, t.classLabels, t.regressionTargets, { negPosRatio, alpha: 1, beta: 1 });
      return { bboxRegression: l.regression as tf.Scalar, classification: l.classification as tf.Scalar, total: l.total as tf.Scalar };
    }) as SsdliteLoss;

  return {
    config,
    parameters: params,
    transform,
    forward,
    detect,
    loss,
    loadStateDict: (source, o) => params.loadStateDict(source, o),
    saveStateDict: (metadata) => params.saveStateDict({ model: 'torchvision.models.detection.ssdlite320_mobilenet_v3_large', ...metadata }),
    dispose: () => params.dispose(),
  };
}
