import { DEFAULT_ANCHOR_RATIOS, generateAnchors } from '@detkit/anchors';
import { ROI_BOX_CODER_WEIGHTS, RPN_BOX_CODER_WEIGHTS, type BoxCoderWeights } from '@detkit/boxes';
import { InvalidArgumentError, integerOption, tf } from '@detkit/core';
import { createBoxHead, createRpnHead, PROPOSAL_PRESETS, proposalLayer, roiAlign, type ProposalLayerOptions } from '@detkit/heads';
import { FAST_RCNN_LOSS_WEIGHTS, fastRcnnLoss, RPN_LOSS_WEIGHTS, rpnLoss, type FastRcnnNormalization, type RpnNormalization } from '@detkit/losses';
import { createMaxIouMatcher, ROI_MATCHER_OPTIONS, RPN_MATCHER_OPTIONS, type MaxIouMatcherOptions } from '@detkit/matchers';
import { buildRoiTargets, buildRpnTargets, ROI_SAMPLER_OPTIONS, RPN_SAMPLER_OPTIONS, type SamplerBudget } from '@detkit/samplers';
import type { Backbone, ConvBackboneConfig } from './backbone';
import type { DetectOptions, Detector, DetectorLoss, DetectorLossOptions, ImageTargets } from './detector';
import { upgradeLegacyOptions } from './legacy-options';
import { imageSizeOption, prefixed, resolveBackbone, runDetections, targetTensors } from './internal';
import { FASTER_RCNN_DEFAULT_POSTPROCESS, postprocessGroup, type PostprocessConfig } from './postprocess';
import { booleanValue, boxCoderWeights, field, integerFrom, numberIn, oneOf, positiveList, rejectUnknownKeys, resolveGroup, underPath, type Group } from './recipe-fields';
import { componentSeed } from './variables';

/** @deprecated The proposal settings of one phase in the options' old `proposals: { train, test }`. */
export interface LegacyProposalConfig {
  /** Now `rpn.preNmsTopN.training` / `.testing`. */
  preNmsTopN?: number;
  /** Now `rpn.postNmsTopN.training` / `.testing`. */
  postNmsTopN?: number;
  /** Now `rpn.nmsThreshold` (one for both phases). */
  nmsThreshold?: number;
  /** Now `rpn.minSize` (one for both phases). */
  minSize?: number;
}

/** A value per phase: while training and at test time (torchvision's `*_train` / `*_test` pairs). */
export interface PerPhase {
  /** While training (`loss`). */
  training: number;
  /** At test time (`detect`). */
  testing: number;
}

/** The anchors of the RPN's one feature map (the options of @detkit/anchors' `generateAnchors` that are not the backbone's). */
export interface AnchorsRecipe {
  /** Anchor sizes in pixels (side of the ratio-1 anchor) at each location. */
  sizes: number[];
  /** Anchor aspect ratios (height / width) at each location; any number of them. */
  aspectRatios: number[];
  /** Where in its cell a location's anchors are centred, as a fraction of the stride, in [0, 1). */
  offset: number;
}

/** The region proposal network's training and proposal constants. */
export interface RpnRecipe {
  /** @detkit/matchers' `createMaxIouMatcher` options of the anchor targets. */
  matcher: MaxIouMatcherOptions;
  /** Anchors sampled per image and their largest positive share (@detkit/samplers' `SamplerBudget`). */
  sampler: SamplerBudget;
  /** Proposals kept per image before NMS, by objectness. */
  preNmsTopN: PerPhase;
  /** Proposals kept per image after NMS. */
  postNmsTopN: PerPhase;
  /** NMS IoU threshold of the proposals. */
  nmsThreshold: number;
  /** Proposals with a side below this (pixels) are dropped. */
  minSize: number;
  /** Proposals need an objectness probability >= this. */
  scoreThreshold: number;
  /** Box-coder weights (wx, wy, ww, wh) of the RPN's targets and of decoding its proposals. */
  boxCoderWeights: BoxCoderWeights;
  /** @detkit/losses' `rpnLoss`: its normalisation, the regression term's weight `lambda` and smooth L1 `beta`. */
  loss: { normalization: RpnNormalization; lambda: number; beta: number };
}

/** The box head's (RoI heads') training constants. */
export interface RoiHeadsRecipe {
  /**
   * @detkit/matchers' `createMaxIouMatcher` options of the RoI targets (foreground / background), without
   * the highest-IoU rule (the appended ground truth is each box's best match).
   */
  matcher: Omit<MaxIouMatcherOptions, 'allowLowQualityMatches' | 'minLowQualityIou'>;
  /** RoIs sampled per image and their largest foreground share. */
  sampler: SamplerBudget;
  /** Box-coder weights of the RoI targets and of decoding the detections. */
  boxCoderWeights: BoxCoderWeights;
  /** @detkit/losses' `fastRcnnLoss`: its normalisation, the regression term's weight `lambda` and smooth L1 `beta`. */
  loss: { normalization: FastRcnnNormalization; lambda: number; beta: number };
}

/**
 * The training and inference constants of a Faster R-CNN (its typed recipe): each group holds the options
 * of the detkit function it configures, under that function's names (see the README's table for
 * torchvision's keywords).
 */
export interface FasterRcnnRecipe {
  /** The anchors of the feature map (@detkit/anchors' `generateAnchors`). */
  anchors: AnchorsRecipe;
  /** The region proposal network: anchor targets, its loss and its proposals. */
  rpn: RpnRecipe;
  /** The box head: RoI targets and its loss. */
  roiHeads: RoiHeadsRecipe;
  /** Inference post-processing of the box head's outputs. */
  postprocess: PostprocessConfig;
}

/** The serialisable configuration of a Faster R-CNN detector ({@link createFasterRcnn}): architecture and {@link FasterRcnnRecipe}. */
export interface FasterRcnnConfig extends FasterRcnnRecipe {
  kind: 'faster-rcnn';
  /** Object classes, without background. */
  numClasses: number;
  /** Input `[height, width]`. */
  imageSize: [number, number];
  /** The conv backbone's configuration (one output level), or `'custom'`. */
  backbone: ConvBackboneConfig | 'custom';
  /** Channels of the RPN's 3x3 conv. */
  rpnChannels: number;
  /** RoIAlign output side. */
  poolSize: number;
  /** Width of the box head's two fully connected layers. */
  representationSize: number;
}

/** Makes every field of a recipe group optional, down to its leaves (lists stay whole). */
export type RecipeOptions<T> = { [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? RecipeOptions<T[K]> : T[K] };

/**
 * Options of {@link createFasterRcnn}: `numClasses`, the architecture, and any part of the
 * {@link FasterRcnnRecipe} (missing fields take their defaults; unknown keys are rejected with an
 * InvalidArgumentError naming them).
 */
export interface FasterRcnnOptions extends RecipeOptions<FasterRcnnRecipe> {
  /** Object classes, without background. */
  numClasses: number;
  /** Input size, one number or `[height, width]`. Default 128. */
  imageSize?: number | readonly [number, number];
  /**
   * A {@link Backbone} of your own with exactly one level, or the options of the built-in conv backbone
   * (default: channels [16, 32, 64], one output at stride 8).
   */
  backbone?: Backbone | Partial<ConvBackboneConfig>;
  /** Default: the backbone's channels. */
  rpnChannels?: number;
  /** Default 7. */
  poolSize?: number;
  /** Default 256. */
  representationSize?: number;
  /** Seed of the weight initialisation. */
  seed?: number;
  /** Prefix of the variables' tfjs names. */
  name?: string;
  /** @deprecated The old name of `anchors.sizes` (still read, as saved configurations hold it). */
  anchorSizes?: number[];
  /** @deprecated The old name of `anchors.aspectRatios`. */
  anchorRatios?: number[];
  /** @deprecated The old name of `rpn.sampler.batchSize`. */
  rpnBatchSize?: number;
  /** @deprecated The old name of `roiHeads.sampler.batchSize`. */
  roiBatchSize?: number;
  /** @deprecated The old form of `rpn.preNmsTopN`, `postNmsTopN`, `nmsThreshold` and `minSize` (one value for both phases). */
  proposals?: { train?: LegacyProposalConfig; test?: LegacyProposalConfig };
}

/** A Faster R-CNN detector: a {@link Detector} with its anchors. */
export interface FasterRcnn extends Detector<FasterRcnnConfig> {
  /** Tensor[A, 4] xyxy anchors in input pixels, in the RPN head's output order. */
  readonly anchors: tf.Tensor2D;
}

/** Default anchor sizes: 16, 32, 64 pixels (the synthetic set's 12-64 pixel objects; torchvision 32-512 over five levels). */
export const FASTER_RCNN_ANCHOR_SIZES: readonly number[] = Object.freeze([16, 32, 64]);

/** Default anchor offset: 0.5, centred in their cells (torchvision 0: on small images its corner-anchored grid loses half a stride). */
export const FASTER_RCNN_ANCHOR_OFFSET = 0.5;

/**
 * Default proposal counts per image: 600 -> 128 while training, 300 -> 64 at test time, for ~2,300 anchors
 * on a 128-pixel image (torchvision's FPN models: 2,000 -> 2,000 and 1,000 -> 1,000 per level,
 * `PROPOSAL_PRESETS.torchvisionTrain` / `Test`; the walk-through 12,000 -> 2,000 and 6,000 -> 300).
 */
export const FASTER_RCNN_PROPOSAL_COUNTS: Readonly<{ preNmsTopN: Readonly<PerPhase>; postNmsTopN: Readonly<PerPhase> }> = Object.freeze({
  preNmsTopN: Object.freeze({ training: 600, testing: 300 }),
  postNmsTopN: Object.freeze({ training: 128, testing: 64 }),
});

/** Default RoIs sampled per image: 64 (torchvision 512, `ROI_SAMPLER_OPTIONS` 128): 128 proposals per image while training. */
export const FASTER_RCNN_ROI_BATCH_SIZE = 64;

const TORCHVISION_RPN = PROPOSAL_PRESETS.torchvisionTrain;

/**
 * A max-IoU matcher's fields. The RoI matcher has no highest-IoU rule: the ground truth is appended to the
 * proposals, so each box's best match is itself (IoU 1) and the rule could change nothing.
 */
const matcherGroup = (d: Readonly<MaxIouMatcherOptions>, constant: string, tv: { high: string; low: string }, lowQuality: boolean): Group => ({
  highThreshold: field(numberIn(0, 1, 'min'), 'positive at best IoU >= this', `${d.highThreshold} (${constant})`, tv.high),
  lowThreshold: field(numberIn(0, 1), 'negative below this; ignored between it and highThreshold', `${d.lowThreshold} (${constant})`, tv.low),
  negativeMinIou: field(numberIn(0, 1), 'negatives need best IoU >= this (py-faster-rcnn: 0.1)', `${d.negativeMinIou ?? 0} (${d.negativeMinIou === undefined ? 'createMaxIouMatcher' : constant})`, '-'),
  ...(lowQuality
    ? {
        allowLowQualityMatches: field(booleanValue, "each box's highest-IoU anchors are positive too", `${d.allowLowQualityMatches ?? false} (${constant})`, 'Matcher(allow_low_quality_matches)'),
        minLowQualityIou: field(numberIn(0, 1), 'the highest-IoU rule needs IoU >= this (mmdetection min_pos_iou)', '0 (createMaxIouMatcher)', '-'),
      }
    : {}),
});

const samplerGroup = (d: Readonly<SamplerBudget>, constant: string, tv: string, batchConstant = constant): Group => ({
  batchSize: field(integerFrom(1), 'sampled per image (positives and negatives)', `${d.batchSize} (${batchConstant})`, `${tv}_batch_size_per_image`),
  positiveFraction: field(numberIn(0, 1), 'largest positive share of the sample', `${d.positiveFraction} (${constant})`, `${tv}_positive_fraction`),
});

const perPhase = (d: Readonly<PerPhase>, what: string, tv: string): Group => ({
  training: field(integerFrom(1), `${what} while training`, `${d.training} (FASTER_RCNN_PROPOSAL_COUNTS)`, `${tv}_train`),
  testing: field(integerFrom(1), `${what} at test time`, `${d.testing} (FASTER_RCNN_PROPOSAL_COUNTS)`, `${tv}_test`),
});

/** A loss group: the normalisation and, by default, its weights from the losses' table `constant`. */
const lossGroup = (normalizations: string[], constant: string, tv: string): Group => ({
  normalization: field(oneOf(normalizations), `how the loss is normalised (${normalizations.map((n) => `'${n}'`).join(', ')})`, "'torchvision'", `${tv} ('torchvision')`),
  lambda: field(numberIn(0, Number.MAX_VALUE), 'weight of the regression term', `the normalisation's (${constant}; torchvision 1)`, `${tv}: 1`),
  beta: field(numberIn(0, Number.MAX_VALUE), 'smooth L1 beta of the regression term', `the normalisation's (${constant}; torchvision 1/9)`, `${tv}: smooth_l1_loss(beta=1/9)`),
});

/** The weights of the normalisation `given` (when it is one of `table`'s), else of torchvision's. */
function lossDefaults<N extends string>(table: Readonly<Record<N, Readonly<{ lambda: number; beta: number }>>>, given: unknown) {
  const normalization = (typeof given === 'string' && given in table ? given : 'torchvision') as N;
  return { normalization: 'torchvision', ...table[normalization] };
}

/** The recipe's fields, defaults and torchvision names (for checking, `describeRecipe` and the README). */
export const FASTER_RCNN_RECIPE: Group = {
  anchors: {
    sizes: field(positiveList(), 'anchor sizes (pixels) at each location', `[${FASTER_RCNN_ANCHOR_SIZES.join(', ')}] (FASTER_RCNN_ANCHOR_SIZES)`, 'AnchorGenerator(sizes)'),
    aspectRatios: field(positiveList(), 'anchor aspect ratios (h / w) at each location', `[${DEFAULT_ANCHOR_RATIOS.join(', ')}] (DEFAULT_ANCHOR_RATIOS)`, 'AnchorGenerator(aspect_ratios)'),
    offset: field(numberIn(0, 1, 'max'), 'anchor centre within its cell, as a fraction of the stride', `${FASTER_RCNN_ANCHOR_OFFSET} (FASTER_RCNN_ANCHOR_OFFSET; torchvision 0)`, '- (AnchorGenerator: 0)'),
  },
  rpn: {
    matcher: matcherGroup(RPN_MATCHER_OPTIONS, 'RPN_MATCHER_OPTIONS', { high: 'rpn_fg_iou_thresh', low: 'rpn_bg_iou_thresh' }, true),
    sampler: samplerGroup(RPN_SAMPLER_OPTIONS, 'RPN_SAMPLER_OPTIONS', 'rpn'),
    preNmsTopN: perPhase(FASTER_RCNN_PROPOSAL_COUNTS.preNmsTopN, 'proposals kept per image before NMS', 'rpn_pre_nms_top_n'),
    postNmsTopN: perPhase(FASTER_RCNN_PROPOSAL_COUNTS.postNmsTopN, 'proposals kept per image after NMS', 'rpn_post_nms_top_n'),
    nmsThreshold: field(numberIn(0, 1), 'NMS IoU threshold of the proposals', `${TORCHVISION_RPN.nmsThreshold} (PROPOSAL_PRESETS.torchvisionTrain)`, 'rpn_nms_thresh'),
    minSize: field(numberIn(0, Number.MAX_VALUE), 'proposals with a side below this (pixels) are dropped', `${TORCHVISION_RPN.minSize} (PROPOSAL_PRESETS.torchvisionTrain)`, 'RegionProposalNetwork min_size (1e-3)'),
    scoreThreshold: field(numberIn(0, 1), 'proposals need objectness probability >= this', `${TORCHVISION_RPN.scoreThreshold} (PROPOSAL_PRESETS.torchvisionTrain)`, 'rpn_score_thresh'),
    boxCoderWeights: field(boxCoderWeights, 'box-coder weights of anchor targets and proposals', `[${RPN_BOX_CODER_WEIGHTS.join(', ')}] (RPN_BOX_CODER_WEIGHTS)`, 'RPN: BoxCoder(weights=(1, 1, 1, 1))'),
    loss: lossGroup(Object.keys(RPN_LOSS_WEIGHTS), 'RPN_LOSS_WEIGHTS', 'RegionProposalNetwork.compute_loss'),
  },
  roiHeads: {
    matcher: matcherGroup(ROI_MATCHER_OPTIONS, 'ROI_MATCHER_OPTIONS', { high: 'box_fg_iou_thresh', low: 'box_bg_iou_thresh' }, false),
    sampler: samplerGroup({ ...ROI_SAMPLER_OPTIONS, batchSize: FASTER_RCNN_ROI_BATCH_SIZE }, 'ROI_SAMPLER_OPTIONS', 'box', 'FASTER_RCNN_ROI_BATCH_SIZE; torchvision 512'),
    boxCoderWeights: field(boxCoderWeights, 'box-coder weights of RoI targets and detections', `[${ROI_BOX_CODER_WEIGHTS.join(', ')}] (ROI_BOX_CODER_WEIGHTS)`, 'bbox_reg_weights'),
    loss: lossGroup(Object.keys(FAST_RCNN_LOSS_WEIGHTS), 'FAST_RCNN_LOSS_WEIGHTS', 'fastrcnn_loss'),
  },
  postprocess: postprocessGroup('faster-rcnn'),
};

/** The recipe's defaults: the packages' named constants (the losses' weights follow the normalisations given). */
const recipeDefaults = (rpnNormalization: unknown, roiNormalization: unknown) => ({
  anchors: { sizes: FASTER_RCNN_ANCHOR_SIZES, aspectRatios: DEFAULT_ANCHOR_RATIOS, offset: FASTER_RCNN_ANCHOR_OFFSET },
  rpn: {
    matcher: RPN_MATCHER_OPTIONS,
    sampler: RPN_SAMPLER_OPTIONS,
    ...FASTER_RCNN_PROPOSAL_COUNTS,
    nmsThreshold: TORCHVISION_RPN.nmsThreshold,
    minSize: TORCHVISION_RPN.minSize,
    scoreThreshold: TORCHVISION_RPN.scoreThreshold,
    boxCoderWeights: RPN_BOX_CODER_WEIGHTS,
    loss: lossDefaults(RPN_LOSS_WEIGHTS, rpnNormalization),
  },
  roiHeads: {
    matcher: ROI_MATCHER_OPTIONS,
    sampler: { ...ROI_SAMPLER_OPTIONS, batchSize: FASTER_RCNN_ROI_BATCH_SIZE },
    boxCoderWeights: ROI_BOX_CODER_WEIGHTS,
    loss: lossDefaults(FAST_RCNN_LOSS_WEIGHTS, roiNormalization),
  },
  postprocess: FASTER_RCNN_DEFAULT_POSTPROCESS,
});

const ARCHITECTURE_KEYS = ['numClasses', 'imageSize', 'backbone', 'rpnChannels', 'poolSize', 'representationSize', 'seed', 'name'] as const;

/**
 * Faster R-CNN (Ren et al. 2015) assembled from detkit's packages and trained jointly, as torchvision does:
 * a backbone with one feature map; @detkit/anchors' anchors; @detkit/heads' RPN head; @detkit/samplers' RPN
 * targets (0.7 / 0.3 with the highest-IoU rule, 1:1 sampling) and @detkit/losses' RPN loss; @detkit/heads'
 * proposal layer (no gradient through the proposals); RoI targets (ground truth appended, IoU 0.5, 1:3
 * sampling); RoIAlign; the two-layer box head; the Fast R-CNN loss; and @detkit/heads' post-processing.
 * The training loss is the sum of the four terms. Every constant of training and inference is a field of
 * the {@link FasterRcnnRecipe} (`options.anchors`, `rpn`, `roiHeads`, `postprocess`), resolved into `config`;
 * the two matchers are made once, here.
 *
 * ```ts
 * const frcnn = createFasterRcnn({ numClasses: 3, imageSize: 256, anchors: { sizes: [24, 48, 96], aspectRatios: [0.5, 1, 2, 3] },
 *   rpn: { matcher: { highThreshold: 0.6 }, preNmsTopN: { training: 1000 } } });
 * ```
 *
 * @throws InvalidArgumentError naming the option's key path (`rpn.matcher.lowThreshold`) when one is invalid or unknown.
 */
export function createFasterRcnn(given: FasterRcnnOptions): FasterRcnn {
  const op = 'createFasterRcnn';
  if (given === null || typeof given !== 'object') throw new InvalidArgumentError(op, 'options', 'must be an object with numClasses');
  const options = upgradeLegacyOptions(op, 'faster-rcnn', given);
  const numClasses = integerOption(op, 'numClasses', options.numClasses, { min: 1 });
  const imageSize = imageSizeOption(op, options.imageSize ?? 128);
  const seed = options.seed === undefined ? undefined : integerOption(op, 'seed', options.seed);
  rejectUnknownKeys(op, '', options, [...ARCHITECTURE_KEYS, ...Object.keys(FASTER_RCNN_RECIPE)]);
  const { anchors: a, rpn: r, roiHeads: h, postprocess: p } = options;
  const defaults = recipeDefaults(r?.loss?.normalization, h?.loss?.normalization);
  const recipe = resolveGroup(op, FASTER_RCNN_RECIPE, defaults, { anchors: a, rpn: r, roiHeads: h, postprocess: p }, '') as unknown as FasterRcnnRecipe;
  // Made once: every training step matches with the same matchers.
  const rpnMatcher = underPath(op, 'rpn.matcher', () => createMaxIouMatcher(recipe.rpn.matcher));
  const roiMatcher = underPath(op, 'roiHeads.matcher', () => createMaxIouMatcher(recipe.roiHeads.matcher));
  const givenBackbone = options.backbone;
  const custom = givenBackbone !== undefined && typeof (givenBackbone as Backbone).apply === 'function';
  const conv = custom ? undefined : { channels: [16, 32, 64], ...(givenBackbone as Partial<ConvBackboneConfig> | undefined) };
  // One output level: the last stage's, unless said otherwise.
  const backboneOption = custom ? (givenBackbone as Backbone) : { ...conv, outputStrides: conv!.outputStrides ?? [2 ** conv!.channels.length] };
  const { backbone, config: backboneConfig } = resolveBackbone(backboneOption, seed, options.name);
  if (backbone.levels.length !== 1) {
    throw new InvalidArgumentError(op, 'backbone', `must produce exactly one feature map, got ${backbone.levels.length}`);
  }
  const level = backbone.levels[0]!;
  const rpnChannels = integerOption(op, 'rpnChannels', options.rpnChannels ?? level.channels, { min: 1 });
  const poolSize = integerOption(op, 'poolSize', options.poolSize ?? 7, { min: 1 });
  const representationSize = integerOption(op, 'representationSize', options.representationSize ?? 256, { min: 1 });
  const [height, width] = imageSize;
  const featureSize: [number, number] = [Math.ceil(height / level.stride), Math.ceil(width / level.stride)];
  const { sizes, aspectRatios, offset } = recipe.anchors;
  const anchors = generateAnchors({ featureSize, stride: level.stride, sizes, ratios: aspectRatios, offset, round: false }) as tf.Tensor2D;
  const numAnchors = sizes.length * aspectRatios.length;
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
    rpnChannels,
    poolSize,
    representationSize,
    // A copy: the detector runs on `recipe`, fixed here; changing `config` later changes nothing.
    ...structuredClone(recipe),
  };
  const roiOptions = { outputSize: poolSize, spatialScale: 1 / level.stride, samplingRatio: 2, aligned: true };
  const { rpn: rpnRecipe, roiHeads } = recipe;
  const proposalOptions = (phase: keyof PerPhase): ProposalLayerOptions => ({
    preNmsTopN: rpnRecipe.preNmsTopN[phase],
    postNmsTopN: rpnRecipe.postNmsTopN[phase],
    nmsThreshold: rpnRecipe.nmsThreshold,
    minSize: rpnRecipe.minSize,
    scoreThreshold: rpnRecipe.scoreThreshold,
    weights: rpnRecipe.boxCoderWeights,
    order: 'topk-first',
  });
  const proposalPhases = { training: proposalOptions('training'), testing: proposalOptions('testing') };
  // The paper's normalisation divides by the anchor locations: anchors / anchors per location.
  const rpnLossOptions = { ...rpnRecipe.loss, anchorsPerLocation: numAnchors };

  /** Backbone and RPN. */
  const stageOne = (images: tf.Tensor4D, phase: keyof PerPhase) => {
    const [feature] = backbone.apply(images, { training: phase === 'training' }) as [tf.Tensor4D];
    return { feature, ...rpn.apply(feature) };
  };
  /** Proposals per image (constants) from stage one's outputs. */
  const proposalsOf = (one: ReturnType<typeof stageOne>, phase: keyof PerPhase) =>
    proposalLayer({ objectness: one.objectness, deltas: one.deltas, anchors, imageSizes: imageSize }, proposalPhases[phase]).boxes;

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
        const gt = targets.map(targetTensors);
        // RPN: anchor targets per image, sampled, one loss over the batch. They depend on the anchors and the
        // ground truth only, so they are built first: on wasm's kernel threads this runs while the helpers
        // finish the step before's queued backward pass (the same targets and samples: the proposal layer
        // draws no random numbers).
        const rpnTargets = gt.map((g) => buildRpnTargets(anchors, g.boxes, { rng, matcher: rpnMatcher, sampler: rpnRecipe.sampler, weights: rpnRecipe.boxCoderWeights }));
        const one = stageOne(images, 'training');
        const rpnParts = rpnLoss(
          tf.reshape(one.objectness, [b, -1]),
          one.deltas,
          tf.stack(rpnTargets.map((t) => t.labels)),
          tf.stack(rpnTargets.map((t) => t.regressionTargets)),
          rpnLossOptions,
        );
        // Proposals after the RPN loss is queued: on wasm's kernel threads the helpers compute it while
        // this thread picks the proposals (the proposal layer reads the RPN's outputs, detached).
        const proposals = proposalsOf(one, 'training');
        // RoI heads: proposals + ground truth, matched and sampled.
        const roi = gt.map((g, i) =>
          buildRoiTargets(proposals[i]!, g.boxes, g.classes, { rng, matcher: roiMatcher, sampler: roiHeads.sampler, weights: roiHeads.boxCoderWeights }),
        );
        const two = stageTwo(one.feature, roi.map((r) => r.proposals));
        const roiParts = fastRcnnLoss(
          two.classLogits,
          two.boxDeltas,
          tf.concat(roi.map((r) => r.classLabels)),
          tf.concat(roi.map((r) => r.regressionTargets)),
          roiHeads.loss,
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
          const one = stageOne(images, 'testing');
          const proposals = proposalsOf(one, 'testing');
          const two = stageTwo(one.feature, proposals);
          const boxesPerImage = proposals.map((p) => p.shape[0]);
          return { classLogits: two.classLogits, boxDeltas: two.boxDeltas, referenceBoxes: two.rois, imageSizes: imageSize, boxesPerImage };
        },
        recipe.postprocess,
        roiHeads.boxCoderWeights,
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
