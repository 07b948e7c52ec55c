import { SSD_MAX_RATIO, SSD_MIN_RATIO, ssdBoxesPerLocation, ssdDefaultBoxes } from '@detkit/anchors';
import { ROI_BOX_CODER_WEIGHTS, type BoxCoderWeights } from '@detkit/boxes';
import { InvalidArgumentError, hasTypedArrayPath, integerOption, onHost, tf } from '@detkit/core';
import { createSsdHead } from '@detkit/heads';
import { MULTIBOX_LOSS_WEIGHTS, multiboxLoss } from '@detkit/losses';
import { createSsdMatcher, SSD_MATCH_THRESHOLD } from '@detkit/matchers';
import { buildSsdTargetsBatch, SSD_NEG_POS_RATIO } from '@detkit/samplers';
import type { Backbone, ConvBackboneConfig } from './backbone';
import type { DetectOptions, Detector, DetectorLoss, ImageTargets } from './detector';
import { upgradeLegacyOptions } from './legacy-options';
import { imageSizeOption, prefixed, resolveBackbone, runDetections, targetTensors } from './internal';
import { postprocessGroup, SSD_DEFAULT_POSTPROCESS, type PostprocessConfig } from './postprocess';
import { booleanValue, boxCoderWeights, field, numberIn, positiveList, rejectUnknownKeys, resolveGroup, underPath, type Field, type Group } from './recipe-fields';
import { componentSeed } from './variables';

/** SSD's default boxes: the options of @detkit/anchors' `ssdDefaultBoxes` that are not the backbone's. */
export interface SsdDefaultBoxesRecipe {
  /**
   * Extra aspect ratios (width / height) per backbone level; each adds two boxes per location to the two
   * square ones, so any number per level works (`2 + 2 * ratios` boxes per location).
   */
  aspectRatios: number[][];
  /** Box scales as fractions of the image, one per level plus one. Exclusive with `minRatio` / `maxRatio`. */
  scales?: number[];
  /** With `maxRatio` instead of `scales`: scales linear from `minRatio` to `maxRatio`, then 1 (torchvision). */
  minRatio?: number;
  /** See `minRatio`. */
  maxRatio?: number;
  /** Pixels per cell of each level (the box centres' spacing). */
  steps: number[];
  /** Clamp the boxes' normalised sides to [0, 1]. */
  clip: boolean;
}

/**
 * The training and inference constants of an SSD (its typed recipe): every group is the options object of
 * the detkit function it configures, under that function's names.
 */
export interface SsdRecipe {
  /** @detkit/anchors' `ssdDefaultBoxes`. */
  defaultBoxes: SsdDefaultBoxesRecipe;
  /** @detkit/matchers' `createSsdMatcher`: a prior is positive at IoU >= `threshold` with its best box. */
  matcher: { threshold: number };
  /**
   * @detkit/losses' `multiboxLoss`: `negPosRatio` hard negatives per positive, `alpha` the weight of the
   * localisation term, `beta` its smooth L1 beta.
   */
  loss: { negPosRatio: number; alpha: number; beta: number };
  /** Box-coder weights (wx, wy, ww, wh) of the regression targets and of decoding: SSD's variances 0.1 / 0.2. */
  boxCoderWeights: BoxCoderWeights;
  /** Inference post-processing. */
  postprocess: PostprocessConfig;
}

/** The serialisable configuration of an SSD detector ({@link createSsd}): architecture and {@link SsdRecipe}. */
export interface SsdConfig extends SsdRecipe {
  kind: 'ssd';
  /** Object classes, without background. */
  numClasses: number;
  /** Input `[height, width]`. */
  imageSize: [number, number];
  /** The conv backbone's configuration, or `'custom'` for a user's backbone (which must be passed again). */
  backbone: ConvBackboneConfig | 'custom';
}

/**
 * Options of {@link createSsd}: `numClasses`, the architecture, and any part of the {@link SsdRecipe}
 * (missing fields take their defaults; unknown keys are rejected with an InvalidArgumentError naming them).
 */
export interface SsdOptions {
  /** Object classes, without background (4 for the synthetic 'quick' set). */
  numClasses: number;
  /** Input size, one number or `[height, width]`. Default 128. */
  imageSize?: number | readonly [number, number];
  /**
   * A {@link Backbone} of your own (its levels must be in ascending stride), or the options of the built-in
   * conv backbone ({@link createConvBackbone}; default its defaults: strides 8, 16, 32).
   */
  backbone?: Backbone | Partial<ConvBackboneConfig>;
  /**
   * Default boxes. `aspectRatios` may be one list for every level. Defaults: {@link SSD_ASPECT_RATIOS} on
   * every level; {@link SSD_SCALES} for three levels, else scales linear from 0.1 to 0.9, then 1 (unless
   * `minRatio` / `maxRatio` are given: @detkit/anchors' `SSD_MIN_RATIO` / `SSD_MAX_RATIO` fill the other);
   * steps = the backbone's strides; clip.
   */
  defaultBoxes?: Partial<Omit<SsdDefaultBoxesRecipe, 'aspectRatios'>> & { aspectRatios?: number[][] | number[] };
  /** Default `{ threshold: SSD_MATCH_THRESHOLD }` (0.5, Liu et al. 2016). */
  matcher?: Partial<SsdRecipe['matcher']>;
  /** Default `{ negPosRatio: SSD_NEG_POS_RATIO, ...MULTIBOX_LOSS_WEIGHTS }` (3, alpha 1, beta 1: Liu et al. 2016). */
  loss?: Partial<SsdRecipe['loss']>;
  /** Default `ROI_BOX_CODER_WEIGHTS` (10, 10, 5, 5), as torchvision's SSD. */
  boxCoderWeights?: BoxCoderWeights;
  /** Default {@link SSD_DEFAULT_POSTPROCESS}. */
  postprocess?: Partial<PostprocessConfig>;
  /** Seed of the weight initialisation. */
  seed?: number;
  /** Prefix of the variables' tfjs names. Default `'ssd'` (then `ssd_1`, ...). */
  name?: string;
  /** @deprecated The old name of `defaultBoxes.aspectRatios` (still read, as saved configurations hold it). */
  aspectRatios?: number[][];
  /** @deprecated The old name of `defaultBoxes.scales`. */
  scales?: number[];
  /** @deprecated The old name of `loss.negPosRatio`. */
  negPosRatio?: number;
  /** @deprecated The old name of `matcher.threshold`. */
  matchThreshold?: number;
}

/** An SSD detector: a {@link Detector} with its default boxes. */
export interface Ssd extends Detector<SsdConfig> {
  /** Tensor[P, 4] xyxy default boxes in input pixels, in the head's output order. */
  readonly priors: tf.Tensor2D;
}

/** Default extra aspect ratio of every level: 2 (so 4 default boxes per location). */
export const SSD_ASPECT_RATIOS: readonly number[] = Object.freeze([2]);

/**
 * Default scales of a three-level backbone: 0.1, 0.2, 0.4, 0.7 (boxes of about 13 to 68 pixels on a
 * 128-pixel image: the synthetic set's 12-64 pixel objects; torchvision's SSD300 starts at 0.07).
 */
export const SSD_SCALES: readonly number[] = Object.freeze([0.1, 0.2, 0.4, 0.7]);

function defaultScales(levels: number): number[] {
  if (levels === 3) return [...SSD_SCALES];
  return [...Array.from({ length: levels }, (_, i) => (levels === 1 ? 0.1 : 0.1 + (0.8 * i) / (levels - 1))), 1];
}

/** Aspect ratios per level, or one list of them (numbers > 0). */
const aspectRatioLists: Field['check'] = (op, path, v) => {
  const ratio = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x > 0;
  const ok = Array.isArray(v) && (v.every(ratio) || v.every((r) => Array.isArray(r) && r.every(ratio)));
  if (!ok) throw new InvalidArgumentError(op, path, `must be a list of ratios > 0 (the same on every level) or one such list per level, got ${JSON.stringify(v)}`);
  return structuredClone(v);
};

/** The recipe's fields, defaults and torchvision names (for checking, `describeRecipe` and the README). */
export const SSD_RECIPE: Group = {
  defaultBoxes: {
    aspectRatios: field(aspectRatioLists, 'extra aspect ratios (w / h) per level, 2 boxes each', '[2] per level (SSD_ASPECT_RATIOS)', 'DefaultBoxGenerator(aspect_ratios)'),
    scales: field(positiveList(), 'box scales (fractions of the image), one per level plus one', '3 levels: [0.1, 0.2, 0.4, 0.7] (SSD_SCALES), else 0.1 to 0.9, then 1', 'DefaultBoxGenerator(scales)'),
    minRatio: field(numberIn(0, Number.MAX_VALUE, 'min'), 'smallest scale, instead of `scales`', `unset (with maxRatio: ${SSD_MIN_RATIO}, SSD_MIN_RATIO)`, 'DefaultBoxGenerator(min_ratio)'),
    maxRatio: field(numberIn(0, Number.MAX_VALUE, 'min'), 'largest scale before 1, instead of `scales`', `unset (with minRatio: ${SSD_MAX_RATIO}, SSD_MAX_RATIO)`, 'DefaultBoxGenerator(max_ratio)'),
    steps: field(positiveList(), 'pixels between box centres on each level', "the backbone's strides", 'DefaultBoxGenerator(steps)'),
    clip: field(booleanValue, "clamp the boxes' normalised sides to [0, 1]", 'true', 'DefaultBoxGenerator(clip)'),
  },
  matcher: {
    threshold: field(numberIn(0, 1, 'min'), 'a prior matches its best box at IoU >= this (after the bipartite match)', `${SSD_MATCH_THRESHOLD} (SSD_MATCH_THRESHOLD)`, 'SSD(iou_thresh)'),
  },
  loss: {
    negPosRatio: field(numberIn(0, Number.MAX_SAFE_INTEGER), 'hard negatives kept per positive', `${SSD_NEG_POS_RATIO} (SSD_NEG_POS_RATIO)`, 'SSD(positive_fraction=0.25): (1 - f) / f'),
    alpha: field(numberIn(0, Number.MAX_VALUE), 'weight of the localisation term', `${MULTIBOX_LOSS_WEIGHTS.alpha} (MULTIBOX_LOSS_WEIGHTS)`, 'SSD.compute_loss: 1'),
    beta: field(numberIn(0, Number.MAX_VALUE), 'smooth L1 beta of the localisation term', `${MULTIBOX_LOSS_WEIGHTS.beta} (MULTIBOX_LOSS_WEIGHTS)`, 'SSD.compute_loss: smooth_l1_loss(beta=1)'),
  },
  boxCoderWeights: field(boxCoderWeights, 'box-coder weights of targets and decoding (variances 0.1, 0.2)', `[${ROI_BOX_CODER_WEIGHTS.join(', ')}] (ROI_BOX_CODER_WEIGHTS)`, 'SSD: BoxCoder(weights=(10, 10, 5, 5))'),
  postprocess: postprocessGroup('ssd'),
};

const ARCHITECTURE_KEYS = ['numClasses', 'imageSize', 'backbone', 'seed', 'name'] as const;

/** Checks SSD options and fills in the defaults of the recipe, for a backbone with `strides`. */
function resolveSsdRecipe(op: string, options: SsdOptions, strides: readonly number[]): SsdRecipe {
  rejectUnknownKeys(op, '', options, [...ARCHITECTURE_KEYS, ...Object.keys(SSD_RECIPE)]);
  const levels = strides.length;
  const given = (options.defaultBoxes ?? {}) as Partial<SsdDefaultBoxesRecipe>;
  const ratioDefaults = given !== null && typeof given === 'object' && (given.minRatio !== undefined || given.maxRatio !== undefined);
  const defaults = {
    defaultBoxes: {
      aspectRatios: strides.map(() => [...SSD_ASPECT_RATIOS]),
      ...(ratioDefaults ? { minRatio: SSD_MIN_RATIO, maxRatio: SSD_MAX_RATIO } : given?.scales === undefined ? { scales: defaultScales(levels) } : {}),
      steps: [...strides],
      clip: true,
    },
    matcher: { threshold: SSD_MATCH_THRESHOLD },
    loss: { negPosRatio: SSD_NEG_POS_RATIO, ...MULTIBOX_LOSS_WEIGHTS },
    boxCoderWeights: ROI_BOX_CODER_WEIGHTS,
    postprocess: SSD_DEFAULT_POSTPROCESS,
  };
  const { numClasses: _n, imageSize: _i, backbone: _b, seed: _s, name: _m, ...groups } = options;
  const recipe = resolveGroup(op, SSD_RECIPE, defaults, groups, '') as unknown as SsdRecipe;
  const boxes = recipe.defaultBoxes;
  if (boxes.scales !== undefined && ratioDefaults) throw new InvalidArgumentError(op, 'defaultBoxes.scales', 'and minRatio / maxRatio are exclusive: give one of them');
  const ratios = boxes.aspectRatios as unknown[];
  boxes.aspectRatios = ratios.every((r) => typeof r === 'number') ? strides.map(() => [...(ratios as number[])]) : (ratios as number[][]);
  if (boxes.aspectRatios.length !== levels) {
    throw new InvalidArgumentError(op, 'defaultBoxes.aspectRatios', `must have one list per backbone level (${levels}), or one list for all, got ${boxes.aspectRatios.length}`);
  }
  if (boxes.scales !== undefined && boxes.scales.length !== levels + 1) {
    throw new InvalidArgumentError(op, 'defaultBoxes.scales', `must have one scale per backbone level plus one (${levels + 1}), got ${boxes.scales.length}`);
  }
  if (boxes.steps.length !== levels) throw new InvalidArgumentError(op, 'defaultBoxes.steps', `must have one step per backbone level (${levels}), got ${boxes.steps.length}`);
  return recipe;
}

/**
 * SSD (Liu et al. 2016) assembled from detkit's packages: a backbone, @detkit/anchors' default boxes at every
 * backbone level, @detkit/heads' SSD head, @detkit/samplers' SSD matching (bipartite, then IoU >= 0.5),
 * @detkit/losses' MultiBox loss with 3:1 hard negatives, and @detkit/heads' post-processing. Every constant
 * of training and inference is a field of the {@link SsdRecipe} (`options.defaultBoxes`, `matcher`, `loss`,
 * `boxCoderWeights`, `postprocess`), resolved into `config`.
 *
 * ```ts
 * const ssd = createSsd({ numClasses: 4, imageSize: 128, seed: 0 });
 * const { total } = ssd.loss(images, targets); // images [B, 128, 128, 3], targets from the data loader
 * const [dets] = ssd.detect(images);           // boxes, scores, 0-based labels of image 0
 * const wide = createSsd({ numClasses: 3, imageSize: 256, defaultBoxes: { minRatio: 0.05, maxRatio: 0.6, aspectRatios: [2, 3] } });
 * ```
 *
 * @throws InvalidArgumentError naming the option's key path (`defaultBoxes.scales`) when one is invalid or unknown.
 */
export function createSsd(given: SsdOptions): Ssd {
  const op = 'createSsd';
  if (given === null || typeof given !== 'object') throw new InvalidArgumentError(op, 'options', 'must be an object with numClasses');
  const options = upgradeLegacyOptions(op, 'ssd', given);
  const numClasses = integerOption(op, 'numClasses', options.numClasses, { min: 1 });
  const imageSize = imageSizeOption(op, options.imageSize ?? 128);
  const seed = options.seed === undefined ? undefined : integerOption(op, 'seed', options.seed);
  const { backbone, config: backboneConfig } = resolveBackbone(options.backbone, seed, options.name);
  const levels = backbone.levels;
  let recipe: SsdRecipe;
  try {
    recipe = resolveSsdRecipe(op, options, levels.map((l) => l.stride));
  } catch (e) {
    backbone.dispose();
    throw e;
  }
  const [h, w] = imageSize;
  const boxesConfig = {
    ...recipe.defaultBoxes,
    imageSize,
    featureMapSizes: levels.map((l) => [Math.ceil(h / l.stride), Math.ceil(w / l.stride)] as [number, number]),
  };
  let priors: tf.Tensor2D;
  try {
    priors = underPath(op, 'defaultBoxes', () => ssdDefaultBoxes(boxesConfig) as tf.Tensor2D);
  } catch (e) {
    backbone.dispose();
    throw e;
  }
  const head = createSsdHead({
    inChannels: levels.map((l) => l.channels),
    numAnchors: ssdBoxesPerLocation(boxesConfig),
    numClasses: numClasses + 1,
    seed: componentSeed(seed, 1000),
    name: options.name === undefined ? undefined : `${options.name}_head`,
  });
  const variables = { ...prefixed('backbone', backbone.variables), ...prefixed('head', head.variables) };
  // A copy: the detector runs on `recipe`, fixed here; changing `config` later changes nothing.
  const config: SsdConfig = { kind: 'ssd', numClasses, imageSize, backbone: backboneConfig, ...structuredClone(recipe) };
  // Made once: every training step matches with the same matcher.
  const matcher = createSsdMatcher(recipe.matcher);
  const lossOptions = recipe.loss;
  const weights = recipe.boxCoderWeights;
  // The default boxes' values, for building targets on the host beside a device backend (read now, before
  // any kernel has used the tensor, so on webgpu and webgl this is the array it was made from: no download).
  const priorValues = priors.dataSync() as Float32Array;

  const forward = (images: tf.Tensor4D, training: boolean) => {
    const features = backbone.apply(images, { training });
    const out = head.apply(features);
    tf.dispose(features);
    return out;
  };

  return {
    kind: 'ssd',
    config,
    variables,
    priors,
    loss(images: tf.Tensor4D, targets: readonly ImageTargets[]): DetectorLoss {
      if (targets.length !== images.shape[0]) {
        throw new InvalidArgumentError('Ssd.loss', 'targets', `must hold one entry per image (${images.shape[0]}), got ${targets.length}`);
      }
      return tf.tidy(() => {
        // Targets depend only on the ground truth and the default boxes: they are built on the host (onHost),
        // so on a GPU backend the step uploads them and reads nothing back for matching. Built before the
        // forward pass, so that on wasm they are built while the kernel threads still run the step before's
        // queued backward pass (@detkit/backends' run-ahead).
        const onDevice = !hasTypedArrayPath();
        const t = onHost(() => {
          const gt = targets.map(targetTensors);
          const p = onDevice ? tf.tensor2d(priorValues, priors.shape) : priors;
          return buildSsdTargetsBatch(p, gt.map((g) => g.boxes), gt.map((g) => g.classes), { matcher, weights });
        });
        const { classLogits, boxDeltas } = forward(images, true);
        const l = multiboxLoss(classLogits, boxDeltas, t.classLabels, t.regressionTargets, lossOptions);
        return { total: l.total as tf.Scalar, parts: { classification: l.classification as tf.Scalar, regression: l.regression as tf.Scalar } };
      });
    },
    detect(images: tf.Tensor4D, detectOptions: DetectOptions = {}) {
      return runDetections(
        () => {
          const { classLogits, boxDeltas } = forward(images, false);
          return { classLogits, boxDeltas, referenceBoxes: priors, imageSizes: imageSize };
        },
        recipe.postprocess,
        weights,
        detectOptions,
      );
    },
    dispose() {
      backbone.dispose();
      head.dispose();
      priors.dispose();
    },
  };
}
