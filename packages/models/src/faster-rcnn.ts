import { generateAnchors } from '@detkit/anchors';
import { InvalidArgumentError, tf } from '@detkit/core';
import { createBoxHead, createRpnHead, proposalLayer, roiAlign, type ProposalLayerOptions } from '@detkit/heads';
import { fastRcnnLoss, rpnLoss } from '@detkit/losses';
import { buildRoiTargets, buildRpnTargets } from '@detkit/samplers';
import type { Backbone, ConvBackboneConfig } from './backbone';
import type { DetectOptions, Detector, DetectorLoss, DetectorLossOptions, ImageTargets } from './detector';
import { imageSizeOption, prefixed, resolveBackbone, runDetections, targetTensors } from './internal';
import type { PostprocessConfig } from './ssd';
import { componentSeed, positiveInteger, seedOption } from './variables';

/** Proposal-layer settings of one phase (see @detkit/heads' `proposalLayer`). */
export interface ProposalConfig {
  preNmsTopN: number;
  postNmsTopN: number;
  nmsThreshold: number;
  minSize: number;
}

/** The serialisable configuration of a Faster R-CNN detector ({@link createFasterRcnn}). */
export interface FasterRcnnConfig {
  kind: 'faster-rcnn';
  /** Object classes, without background. */
  numClasses: number;
  /** Input `[height, width]`. */
  imageSize: [number, number];
  /** The conv backbone's configuration (one output level), or `'custom'`. */
  backbone: ConvBackboneConfig | 'custom';
  /** Anchor sizes in pixels (side of the square anchor) at each location. */
  anchorSizes: number[];
  /** Anchor aspect ratios (height / width). */
  anchorRatios: number[];
  /** Channels of the RPN's 3x3 conv. */
  rpnChannels: number;
  /** RPN mini-batch per image (1:1 positives to negatives at most). */
  rpnBatchSize: number;
  /** RoI mini-batch per image (1:3 foreground to background at most). */
  roiBatchSize: number;
  /** RoIAlign output side. */
  poolSize: number;
  /** Width of the box head's two fully connected layers. */
  representationSize: number;
  /** Proposals while training and at test time. */
  proposals: { train: ProposalConfig; test: ProposalConfig };
  postprocess: PostprocessConfig;
}

/** Options of {@link createFasterRcnn}. Everything but `numClasses` has a default tuned for the synthetic 'quick' set. */
export interface FasterRcnnOptions {
  /** Object classes, without background. */
  numClasses: number;
  /** Input size, one number or `[height, width]`. Default 128. */
  imageSize?: number | readonly [number, number];
  /**
   * A {@link Backbone} of your own with exactly one level, or the options of the built-in conv backbone
   * (default: channels [16, 32, 64], one output at stride 8).
   */
  backbone?: Backbone | Partial<ConvBackboneConfig>;
  /** Default [16, 32, 64] (the synthetic set's 12 to 64 pixel objects). */
  anchorSizes?: number[];
  /** Default [0.5, 1, 2]. */
  anchorRatios?: number[];
  /** Default: the backbone's channels. */
  rpnChannels?: number;
  /** Default 256 (Ren et al. 2015). */
  rpnBatchSize?: number;
  /** Default 64 (torchvision: 512; fewer proposals on small images). */
  roiBatchSize?: number;
  /** Default 7. */
  poolSize?: number;
  /** Default 256. */
  representationSize?: number;
  /** Default train 600 → 128, test 300 → 64, NMS 0.7, min size 1e-3 (torchvision's order: top-N first). */
  proposals?: { train?: Partial<ProposalConfig>; test?: Partial<ProposalConfig> };
  /** Default torchvision's Faster R-CNN settings (score 0.05, NMS 0.5, 100 per image). */
  postprocess?: Partial<PostprocessConfig>;
  /** Seed of the weight initialisation. */
  seed?: number;
  /** Prefix of the variables' tfjs names. */
  name?: string;
}

/** A Faster R-CNN detector: a {@link Detector} with its anchors. */
export interface FasterRcnn extends Detector<FasterRcnnConfig> {
  /** Tensor[A, 4] xyxy anchors in input pixels, in the RPN head's output order. */
  readonly anchors: tf.Tensor2D;
}

/** Default proposal settings of {@link createFasterRcnn}. */
export const FASTER_RCNN_DEFAULT_PROPOSALS: { train: ProposalConfig; test: ProposalConfig } = {
  train: { preNmsTopN: 600, postNmsTopN: 128, nmsThreshold: 0.7, minSize: 1e-3 },
  test: { preNmsTopN: 300, postNmsTopN: 64, nmsThreshold: 0.7, minSize: 1e-3 },
};

/** Default post-processing of Faster R-CNN: torchvision's RoIHeads settings. */
export const FASTER_RCNN_DEFAULT_POSTPROCESS: PostprocessConfig = { scoreThreshold: 0.05, nmsThreshold: 0.5, detectionsPerImage: 100, topkCandidates: 1000 };

/**
 * Faster R-CNN (Ren et al. 2015) assembled from detkit's packages and trained jointly, as torchvision does:
 * a backbone with one feature map; @detkit/anchors' anchors; @detkit/heads' RPN head; @detkit/samplers' RPN
 * targets (0.7 / 0.3 with the highest-IoU rule, 1:1 sampling) and @detkit/losses' RPN loss; @detkit/heads'
 * proposal layer (no gradient through the proposals); RoI targets (ground truth appended, IoU 0.5, 1:3
 * sampling); RoIAlign; the two-layer box head; the Fast R-CNN loss; and @detkit/heads' post-processing.
 * The training loss is the sum of the four terms.
 */
export function createFasterRcnn(options: FasterRcnnOptions): FasterRcnn {
  const op = 'createFasterRcnn';
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(op, 'options', 'must be an object with numClasses');
  const numClasses = positiveInteger(op, 'numClasses', options.numClasses);
  const imageSize = imageSizeOption(op, options.imageSize ?? 128);
  const seed = seedOption(op, options.seed);
  const given = options.backbone;
  const custom = given !== undefined && typeof (given as Backbone).apply === 'function';
  const conv = custom ? undefined : { channels: [16, 32, 64], ...(given as Partial<ConvBackboneConfig> | undefined) };
  // One output level: the last stage's, unless said otherwise.
  const backboneOption = custom ? (given as Backbone) : { ...conv, outputStrides: conv!.outputStrides ?? [2 ** conv!.channels.length] };
  const { backbone, config: backboneConfig } = resolveBackbone(backboneOption, seed, options.name);
  if (backbone.levels.length !== 1) {
    throw new InvalidArgumentError(op, 'backbone', `must produce exactly one feature map, got ${backbone.levels.length}`);
  }
  const level = backbone.levels[0]!;
  const anchorSizes = options.anchorSizes ?? [16, 32, 64];
  const anchorRatios = options.anchorRatios ?? [0.5, 1, 2];
  const rpnChannels = positiveInteger(op, 'rpnChannels', options.rpnChannels ?? level.channels);
  const rpnBatchSize = positiveInteger(op, 'rpnBatchSize', options.rpnBatchSize ?? 256);
  const roiBatchSize = positiveInteger(op, 'roiBatchSize', options.roiBatchSize ?? 64);
  const poolSize = positiveInteger(op, 'poolSize', options.poolSize ?? 7);
  const representationSize = positiveInteger(op, 'representationSize', options.representationSize ?? 256);
  const proposals = {
    train: { ...FASTER_RCNN_DEFAULT_PROPOSALS.train, ...options.proposals?.train },
    test: { ...FASTER_RCNN_DEFAULT_PROPOSALS.test, ...options.proposals?.test },
  };
  const postprocess = { ...FASTER_RCNN_DEFAULT_POSTPROCESS, ...options.postprocess };
  const [h, w] = imageSize;
  const featureSize: [number, number] = [Math.ceil(h / level.stride), Math.ceil(w / level.stride)];
  // Centred anchors (offset 0.5): on small images torchvision's corner-anchored grid loses half a stride.
  const anchors = generateAnchors({ featureSize, stride: level.stride, sizes: anchorSizes, ratios: anchorRatios, offset: 0.5, round: false }) as tf.Tensor2D;
  const numAnchors = anchorSizes.length * anchorRatios.length;
  const sub = (part: string) => (options.name === undefined ? undefined : `${options.name}_${part}`);
  const rpn = createRpnHead({ inChannels: level.channels, midChannels: rpnChannels, numAnchors, objectnessLogits: 1, seed: componentSeed(seed, 1000), name: sub('rpn') });
  const boxHead = createBoxHead({
    inChannels: level.channels,
    numClasses: numClasses + 1,
    poolSize,
    representationSize,
    seed: componentSeed(seed, 2000),
    name: sub('box_head'),
  });
  const variables = { ...prefixed('backbone', backbone.variables), ...prefixed('rpn', rpn.variables), ...prefixed('box_head', boxHead.variables) };
  const config: FasterRcnnConfig = {
    kind: 'faster-rcnn',
    numClasses,
    imageSize,
    backbone: backboneConfig,
    anchorSizes: [...anchorSizes],
    anchorRatios: [...anchorRatios],
    rpnChannels,
    rpnBatchSize,
    roiBatchSize,
    poolSize,
    representationSize,
    proposals,
    postprocess,
  };
  const roiOptions = { outputSize: poolSize, spatialScale: 1 / level.stride, samplingRatio: 2, aligned: true };
  const proposalOptions = (p: ProposalConfig): ProposalLayerOptions => ({ ...p, scoreThreshold: 0, order: 'topk-first' });

  /** Backbone and RPN; proposals per image (constants). */
  const stageOne = (images: tf.Tensor4D, phase: 'train' | 'test') => {
    const [feature] = backbone.apply(images, { training: phase === 'train' }) as [tf.Tensor4D];
    const { objectness, deltas } = rpn.apply(feature);
    const props = proposalLayer({ objectness, deltas, anchors, imageSizes: imageSize }, proposalOptions(proposals[phase]));
    return { feature, objectness, deltas, proposals: props.boxes };
  };

  /** RoIAlign over every image's boxes, then the box head. */
  const stageTwo = (feature: tf.Tensor4D, boxes: tf.Tensor2D[]) => {
    const rois = tf.concat(boxes, 0) as tf.Tensor2D;
    const index = tf.tensor1d(
      boxes.flatMap((b, i) => Array<number>(b.shape[0]).fill(i)),
      'int32',
    );
    return { rois, ...boxHead.apply(roiAlign(feature, rois, index, roiOptions)) };
  };

  return {
    kind: 'faster-rcnn',
    config,
    variables,
    anchors,
    loss(images: tf.Tensor4D, targets: readonly ImageTargets[], lossOptions: DetectorLossOptions = {}): DetectorLoss {
      const b = images.shape[0];
      if (targets.length !== b) throw new InvalidArgumentError('FasterRcnn.loss', 'targets', `must hold one entry per image (${b}), got ${targets.length}`);
      const rng = lossOptions.rng ?? Math.random;
      return tf.tidy(() => {
        const one = stageOne(images, 'train');
        const gt = targets.map(targetTensors);
        // RPN: anchor targets per image, 1:1 sampling, one loss over the batch.
        const rpnTargets = gt.map((g) => buildRpnTargets(anchors, g.boxes, { rng, sampler: { batchSize: rpnBatchSize, positiveFraction: 0.5 } }));
        const rpnParts = rpnLoss(
          tf.reshape(one.objectness, [b, -1]),
          one.deltas,
          tf.stack(rpnTargets.map((t) => t.labels)),
          tf.stack(rpnTargets.map((t) => t.regressionTargets)),
        );
        // RoI heads: proposals + ground truth, IoU 0.5, 1:3 sampling.
        const roi = gt.map((g, i) =>
          buildRoiTargets(one.proposals[i]!, g.boxes, g.classes, { rng, sampler: { batchSize: roiBatchSize, positiveFraction: 0.25 } }),
        );
        const two = stageTwo(one.feature, roi.map((r) => r.proposals));
        const roiParts = fastRcnnLoss(
          two.classLogits,
          two.boxDeltas,
          tf.concat(roi.map((r) => r.classLabels)),
          tf.concat(roi.map((r) => r.regressionTargets)),
        );
        const parts = {
          rpn_objectness: rpnParts.classification as tf.Scalar,
          rpn_box: rpnParts.regression as tf.Scalar,
          classifier: roiParts.classification as tf.Scalar,
          box_reg: roiParts.regression as tf.Scalar,
        };
        return { total: tf.add(rpnParts.total, roiParts.total) as tf.Scalar, parts };
      });
    },
    detect(images: tf.Tensor4D, detectOptions: DetectOptions = {}) {
      return runDetections(
        () => {
          const one = stageOne(images, 'test');
          const two = stageTwo(one.feature, one.proposals);
          const boxesPerImage = one.proposals.map((p) => p.shape[0]);
          return { classLogits: two.classLogits, boxDeltas: two.boxDeltas, referenceBoxes: two.rois, imageSizes: imageSize, boxesPerImage };
        },
        postprocess,
        detectOptions,
      );
    },
    dispose() {
      backbone.dispose();
      rpn.dispose();
      boxHead.dispose();
      anchors.dispose();
    },
  };
}
