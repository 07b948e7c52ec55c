import { ssdBoxesPerLocation, ssdDefaultBoxes } from '@detkit/anchors';
import { InvalidArgumentError, tf } from '@detkit/core';
import { SSD_POSTPROCESS, createSsdHead } from '@detkit/heads';
import { multiboxLoss } from '@detkit/losses';
import { buildSsdTargetsBatch } from '@detkit/samplers';
import type { Backbone, ConvBackboneConfig } from './backbone';
import type { DetectOptions, Detector, DetectorLoss, ImageTargets } from './detector';
import { imageSizeOption, prefixed, resolveBackbone, runDetections, targetTensors } from './internal';
import { componentSeed, positiveInteger, seedOption } from './variables';

/** Post-processing of a detector's outputs (see @detkit/heads' `postprocessDetections`). */
export interface PostprocessConfig {
  /** Detections need a class probability above this. */
  scoreThreshold: number;
  /** Class-aware NMS IoU threshold. */
  nmsThreshold: number;
  /** Detections kept per image. */
  detectionsPerImage: number;
  /** Candidates kept per class before NMS. */
  topkCandidates: number;
}

/** The serialisable configuration of an SSD detector ({@link createSsd}). */
export interface SsdConfig {
  kind: 'ssd';
  /** Object classes, without background. */
  numClasses: number;
  /** Input `[height, width]`. */
  imageSize: [number, number];
  /** The conv backbone's configuration, or `'custom'` for a user's backbone (which must be passed again). */
  backbone: ConvBackboneConfig | 'custom';
  /** Extra aspect ratios of the default boxes per level (see @detkit/anchors' `ssdDefaultBoxes`). */
  aspectRatios: number[][];
  /** Default-box scales as fractions of the image, one per level plus one. */
  scales: number[];
  /** Hard negatives per positive in the MultiBox loss. */
  negPosRatio: number;
  /** IoU at which a default box matches a ground-truth box. */
  matchThreshold: number;
  postprocess: PostprocessConfig;
}

/** Options of {@link createSsd}. Everything but `numClasses` has a default tuned for the synthetic 'quick' set. */
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
  /** Default [[2], [2], ...] (one extra ratio per level: 4 default boxes per location). */
  aspectRatios?: number[][];
  /**
   * Default-box scales, one per level plus one. Default for three levels [0.1, 0.2, 0.4, 0.7] (boxes of
   * about 13 to 68 pixels on a 128-pixel image: the 12-64 pixel objects of the synthetic set); otherwise
   * spaced linearly from 0.1 to 0.9, then 1.
   */
  scales?: number[];
  /** Default 3 (Liu et al. 2016). */
  negPosRatio?: number;
  /** Default 0.5 (Liu et al. 2016). */
  matchThreshold?: number;
  /** Default torchvision's SSD settings with 100 detections per image. */
  postprocess?: Partial<PostprocessConfig>;
  /** Seed of the weight initialisation. */
  seed?: number;
  /** Prefix of the variables' tfjs names. Default `'ssd'` (then `ssd_1`, ...). */
  name?: string;
}

/** An SSD detector: a {@link Detector} with its default boxes. */
export interface Ssd extends Detector<SsdConfig> {
  /** Tensor[P, 4] xyxy default boxes in input pixels, in the head's output order. */
  readonly priors: tf.Tensor2D;
}

/** Default post-processing of SSD: torchvision's (score 0.01, NMS 0.45, top 400 per class), 100 per image. */
export const SSD_DEFAULT_POSTPROCESS: PostprocessConfig = { ...SSD_POSTPROCESS, detectionsPerImage: 100 };

function defaultScales(levels: number): number[] {
  if (levels === 3) return [0.1, 0.2, 0.4, 0.7];
  return [...Array.from({ length: levels }, (_, i) => (levels === 1 ? 0.1 : 0.1 + (0.8 * i) / (levels - 1))), 1];
}

/**
 * SSD (Liu et al. 2016) assembled from detkit's packages: a backbone, @detkit/anchors' default boxes at every
 * backbone level, @detkit/heads' SSD head, @detkit/samplers' SSD matching (bipartite, then IoU >= 0.5),
 * @detkit/losses' MultiBox loss with 3:1 hard negatives, and @detkit/heads' post-processing.
 *
 * ```ts
 * const ssd = createSsd({ numClasses: 4, imageSize: 128, seed: 0 });
 * const { total } = ssd.loss(images, targets); // images [B, 128, 128, 3], targets from the data loader
 * const [dets] = ssd.detect(images);           // boxes, scores, 0-based labels of image 0
 * ```
 */
export function createSsd(options: SsdOptions): Ssd {
  const op = 'createSsd';
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(op, 'options', 'must be an object with numClasses');
  const numClasses = positiveInteger(op, 'numClasses', options.numClasses);
  const imageSize = imageSizeOption(op, options.imageSize ?? 128);
  const seed = seedOption(op, options.seed);
  const { backbone, config: backboneConfig } = resolveBackbone(options.backbone, seed, options.name);
  const levels = backbone.levels;
  const aspectRatios = options.aspectRatios ?? levels.map(() => [2]);
  if (aspectRatios.length !== levels.length) {
    throw new InvalidArgumentError(op, 'aspectRatios', `must have one list per backbone level (${levels.length}), got ${aspectRatios.length}`);
  }
  const scales = options.scales ?? defaultScales(levels.length);
  const negPosRatio = options.negPosRatio ?? 3;
  const matchThreshold = options.matchThreshold ?? 0.5;
  const postprocess = { ...SSD_DEFAULT_POSTPROCESS, ...options.postprocess };
  const [h, w] = imageSize;
  const boxesConfig = {
    imageSize,
    featureMapSizes: levels.map((l) => [Math.ceil(h / l.stride), Math.ceil(w / l.stride)] as [number, number]),
    aspectRatios,
    scales,
    steps: levels.map((l) => l.stride),
    clip: true,
  };
  const priors = ssdDefaultBoxes(boxesConfig) as tf.Tensor2D;
  const head = createSsdHead({
    inChannels: levels.map((l) => l.channels),
    numAnchors: ssdBoxesPerLocation(boxesConfig),
    numClasses: numClasses + 1,
    seed: componentSeed(seed, 1000),
    name: options.name === undefined ? undefined : `${options.name}_head`,
  });
  const variables = { ...prefixed('backbone', backbone.variables), ...prefixed('head', head.variables) };
  const config: SsdConfig = {
    kind: 'ssd',
    numClasses,
    imageSize,
    backbone: backboneConfig,
    aspectRatios: aspectRatios.map((r) => [...r]),
    scales: [...scales],
    negPosRatio,
    matchThreshold,
    postprocess,
  };

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
        const { classLogits, boxDeltas } = forward(images, true);
        const gt = targets.map(targetTensors);
        const t = buildSsdTargetsBatch(priors, gt.map((g) => g.boxes), gt.map((g) => g.classes), { threshold: matchThreshold });
        const l = multiboxLoss(classLogits, boxDeltas, t.classLabels, t.regressionTargets, { negPosRatio });
        return { total: l.total as tf.Scalar, parts: { classification: l.classification as tf.Scalar, regression: l.regression as tf.Scalar } };
      });
    },
    detect(images: tf.Tensor4D, detectOptions: DetectOptions = {}) {
      return runDetections(
        () => {
          const { classLogits, boxDeltas } = forward(images, false);
          return { classLogits, boxDeltas, referenceBoxes: priors, imageSizes: imageSize };
        },
        postprocess,
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
