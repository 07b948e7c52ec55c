import { InvalidArgumentError } from '@detkit/core';
import type { SampleSource } from '@detkit/data';
import { SSD_MATCH_THRESHOLD } from '@detkit/matchers';
import { DEFAULT_BACKBONE_CHANNELS, defaultConvsPerStage } from '@detkit/models';
import { defaultConfig, isTorchvisionFasterRcnn, isTorchvisionModel, LONG_RUN_EPOCHS, LONG_RUN_SECONDS, SSD_DATA_BATCH_SIZE, SSD_DATA_LR, SSD_SYNTHETIC_BATCH_SIZE, SSD_SYNTHETIC_LR, TORCHVISION_FASTER_RCNN_MODELS, type AugmentName, type TrainConfig } from './config';

/** What a run trains with once the `'auto'` fields are resolved from the data: everything the log prints. */
export interface ResolvedRun {
  imageSize: number;
  /** Images per step. */
  batchSize: number;
  /** Peak learning rate. */
  lr: number;
  /** Epoch limit, or null for none (the time budget or the step limit ends the run). */
  epochs: number | null;
  /** Training-time budget in seconds, 0 for none. */
  time: number;
  maxSteps: number;
  augment: Exclude<AugmentName, 'auto'>;
  workers: number;
  /** Options for `createSsd` / `createFasterRcnn`: the data-derived defaults, then the user's `modelOptions`. */
  modelOptions: Record<string, unknown>;
  /** One line per choice made from the data, for the log. */
  notes: string[];
}

/** Size statistics of the training boxes, in original pixels, and of the images. */
export interface DataStats {
  images: number;
  boxes: number;
  /** Median of each image's longer side. */
  medianLongSide: number;
  /** Quantiles of sqrt(w * h) of the boxes relative to their image's longer side: q02, q10, q50, q90, q98. */
  relativeSize: [number, number, number, number, number];
  /** Quantiles of box aspect w / h: q05, q50, q95. */
  aspect: [number, number, number];
}

/** The defaults on the built-in synthetic set, measured there (see the README). */
const SYNTHETIC_EPOCHS = {
  ssd: 6,
  'faster-rcnn': 4,
  'ssdlite320-mobilenet-v3-large': 6,
  'fasterrcnn-mobilenet-v3-large-320-fpn': 4,
  'fasterrcnn-mobilenet-v3-large-fpn': 4,
  'fasterrcnn-resnet50-fpn': 4,
} as const;
/** Time budgets on other data: the bars of the trainer README (SSD 10 minutes, Faster R-CNN 15; SSDlite as SSD). */
export const DEFAULT_TIME_BUDGET = {
  ssd: 600,
  'faster-rcnn': 900,
  'ssdlite320-mobilenet-v3-large': 600,
  'fasterrcnn-mobilenet-v3-large-320-fpn': 900,
  'fasterrcnn-mobilenet-v3-large-fpn': 900,
  'fasterrcnn-resnet50-fpn': 900,
} as const;
/** torchvision's SSDlite320 is made for 320 x 320 inputs (its anchors and head follow the architecture). */
export const SSDLITE_IMAGE_SIZE = 320;
/**
 * `imageSize: 'auto'` of torchvision's Faster R-CNN models: their transform's `min_size` (the loader's
 * square batches are resized to it again, so a larger input only costs time).
 */
export const TORCHVISION_FASTER_RCNN_IMAGE_SIZE = { 'fasterrcnn-mobilenet-v3-large-320-fpn': 320, 'fasterrcnn-mobilenet-v3-large-fpn': 800, 'fasterrcnn-resnet50-fpn': 800 } as const;
/** Largest automatic input size: beyond it a step on 2 CPU cores is too slow for a 10-minute budget. */
export const MAX_AUTO_IMAGE_SIZE = 320;
/**
 * Largest automatic input size of the default SSD within its time budget. On the trainer README's look-alike
 * sets (la1, la3, la4: 256-px images, objects of 12-120 px; la2: 200-500-px images), 600 s of training with the
 * recipe's other choices: 160 px reached COCO AP50 0.788 / 0.770 / 0.878 / 0.618 on la1 / la4 / la3 / la2
 * where 128 px (1.47x the steps) had 0.762 / 0.754 / 0.852 / 0.563; 192 px trailed 160 on la1 (0.729 against
 * 0.753 after about 365 s). Earlier, with SSD's augmentation and the 8-32 levels, 128 px had 0.157 after 4
 * minutes where 256 px had 0.004 after 10.
 */
export const MAX_AUTO_IMAGE_SIZE_SSD = 160;
/** Smallest automatic input size. */
export const MIN_AUTO_IMAGE_SIZE = 128;

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[i] as number;
}

/** Reads the image and box sizes of (at most `limit` of) a source's samples. */
export async function dataStats(source: SampleSource, limit = 5000): Promise<DataStats> {
  const n = Math.min(source.length, limit);
  const longSides = new Float64Array(n);
  const rel: number[] = [];
  const aspect: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = await source.get(Math.floor((i * source.length) / n));
    const long = Math.max(s.width, s.height);
    longSides[i] = long;
    for (let j = 0; j < s.labels.length; j++) {
      if (s.iscrowd[j] === 1) continue;
      const w = (s.boxes[4 * j + 2] as number) - (s.boxes[4 * j] as number);
      const h = (s.boxes[4 * j + 3] as number) - (s.boxes[4 * j + 1] as number);
      if (!(w > 0 && h > 0)) continue;
      rel.push(Math.sqrt(w * h) / long);
      aspect.push(w / h);
    }
  }
  const sort = (a: ArrayLike<number>) => Float64Array.from(a).sort();
  const r = sort(rel);
  const a = sort(aspect);
  return {
    images: n,
    boxes: rel.length,
    medianLongSide: quantile(sort(longSides), 0.5),
    relativeSize: [quantile(r, 0.02), quantile(r, 0.1), quantile(r, 0.5), quantile(r, 0.9), quantile(r, 0.98)],
    aspect: [quantile(a, 0.05), quantile(a, 0.5), quantile(a, 0.95)],
  };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * The input side for images whose median longer side is `medianLongSide`, with `q02` the 2% quantile of the
 * boxes' relative size: the images' own size, capped at `max` (default {@link MAX_AUTO_IMAGE_SIZE}; the trainer
 * passes {@link MAX_AUTO_IMAGE_SIZE_SSD} for SSD), and raised (up to `max`) when the
 * smallest objects would fall under 8 pixels; a multiple of 32 (the backbones' largest stride).
 */
export function autoImageSize(medianLongSide: number, q02: number, max = MAX_AUTO_IMAGE_SIZE): number {
  let size = Math.min(max, medianLongSide);
  if (Number.isFinite(q02) && q02 > 0 && q02 * size < 8) size = Math.min(max, 8 / q02);
  size = Math.max(MIN_AUTO_IMAGE_SIZE, size);
  return Math.round(size / 32) * 32;
}

/**
 * SSD default-box scales for `levels` levels (levels + 1 numbers, see @detkit/anchors' `ssdDefaultBoxes`)
 * covering the data's object sizes: level k has boxes of side s_k and sqrt(s_k s_k+1) (ratio 1), so with
 * geometric s_k = lo r^k the smallest box is lo (a little above the 2% quantile of the boxes' size relative to
 * the image) and the largest, sqrt(s_L-1 s_L) = lo r^(L - 1/2), is the 98% quantile. Liu et al. 2016 space
 * the scales linearly over 0.2-0.9 for COCO-like sizes; these data sets are described by their boxes instead.
 */
export function autoSsdScales(stats: DataStats, levels = 3): number[] {
  const lo = Math.max(0.02, Math.min(0.5, stats.relativeSize[0] * 1.1));
  const hi = Math.min(1, Math.max(lo * 2, stats.relativeSize[4]));
  const r = (hi / lo) ** (1 / (levels - 0.5));
  return Array.from({ length: levels + 1 }, (_, k) => round3(lo * r ** k));
}

/** Side in input pixels under which the data's smallest objects get SSD levels from stride 4 (see {@link autoSsdLevels}). */
export const SSD_STRIDE4_OBJECT_SIDE = 16;

/** Whether the data's smallest objects (2% quantile) are under {@link SSD_STRIDE4_OBJECT_SIDE} pixels at `imageSize`. */
function hasSmallObjects(stats: DataStats, imageSize: number): boolean {
  return stats.relativeSize[0] * imageSize < SSD_STRIDE4_OBJECT_SIDE;
}

/**
 * SSD's matching threshold when the data's smallest objects are under {@link SSD_STRIDE4_OBJECT_SIDE} input
 * pixels (the same condition as the stride-4 levels of {@link autoSsdLevels}); SSD's own 0.5 otherwise. A
 * square default box of side a and an object of its size offset by d in x and y overlap by IoU
 * (a - d)^2 / (2a^2 - (a - d)^2); an object midway between the centres of a level of stride t has d = t / 2, so
 * IoU 0.5 needs a >= 2.7t, IoU 0.4 a >= 2.05t. The smallest boxes of these levels are 1.5-2.5 strides: at 0.5
 * a small object gets its one bipartite match while the boxes beside it, covering most of it, are trained as
 * background (the very negatives hard negative mining picks), and the detector learns to score small objects
 * low. Measured on the trainer README's look-alike sets (600 s, COCO AP50): la1 0.707 -> 0.762, la4 0.713 ->
 * 0.754, la3 0.826 -> 0.852; 0.3 trained slower than 0.4 on la1, and so did 0.4 with priors at IoU 0.3-0.4
 * ignored instead of background. A deliberate difference from torchvision's `SSDMatcher(0.5)`.
 */
export const SSD_SMALL_OBJECT_MATCH_THRESHOLD = 0.4;

/** SSD's matcher threshold for the data: {@link SSD_SMALL_OBJECT_MATCH_THRESHOLD} for small objects, else SSD's 0.5. */
export function autoSsdMatchThreshold(stats: DataStats, imageSize: number): number {
  return hasSmallObjects(stats, imageSize) ? SSD_SMALL_OBJECT_MATCH_THRESHOLD : SSD_MATCH_THRESHOLD;
}

/** SSD's feature levels chosen from the data: the backbone's stages (widths, convolutions) and the strides it returns. */
export interface SsdLevels {
  channels: number[];
  convsPerStage: number[];
  outputStrides: number[];
}

/**
 * SSD's three feature levels for objects whose 2% quantile side is `q02 * imageSize` input pixels: strides 8,
 * 16, 32 (the backbone's five default stages) as for the built-in set, or 4, 8, 16 (its first four) when those
 * objects are under {@link SSD_STRIDE4_OBJECT_SIDE} pixels. A level's smallest default box is about 1.5-2.5x
 * its stride ({@link autoSsdScales}), and a box much smaller than twice its level's stride overlaps a
 * misplaced object of its size by IoU < 0.5 wherever the object sits between two centres: measured on the
 * trainer README's look-alike sets (objects of 6-60 px at 128 px), strides 4-16 reached COCO AP50 0.382 in 300 s
 * where 8-32 had 0.284 (58% of the validation boxes had no default box of IoU >= 0.5 at 8-32, 14% at 4-16).
 */
export function autoSsdLevels(stats: DataStats, imageSize: number): SsdLevels {
  const fine = hasSmallObjects(stats, imageSize);
  if (!fine) return { channels: [...DEFAULT_BACKBONE_CHANNELS], convsPerStage: defaultConvsPerStage(DEFAULT_BACKBONE_CHANNELS.length), outputStrides: [8, 16, 32] };
  // The finest level's stage gets two convolutions, as stride 8's has in the default backbone: with one,
  // the stride-4 features are two convolutions deep (la3, lr 8e-3, 190 s: COCO AP50 0.432 with one, 0.603 with two).
  return { channels: DEFAULT_BACKBONE_CHANNELS.slice(0, 4), convsPerStage: [1, 2, 2, 2], outputStrides: [4, 8, 16] };
}

/** Aspect ratios per level from the boxes' shapes: [2] when 90% of the boxes are within 1:2.5, else [2, 3]. */
export function autoAspectRatios(stats: DataStats, levels = 3): number[][] {
  const wide = stats.aspect[0] < 1 / 2.5 || stats.aspect[2] > 2.5;
  return Array.from({ length: levels }, () => (wide ? [2, 3] : [2]));
}

/** Faster R-CNN anchor sizes in input pixels for its feature map: 3 sizes spanning the 2%-98% object sizes. */
export function autoAnchorSizes(stats: DataStats, imageSize: number): number[] {
  const lo = Math.max(4, stats.relativeSize[0] * imageSize);
  const hi = Math.max(lo * 2, stats.relativeSize[4] * imageSize);
  return [0, 1, 2, 3].map((k) => Math.round(lo * (hi / lo) ** (k / 3)));
}

/**
 * Resolves the `'auto'` fields of a configuration from the training data. On the built-in synthetic set the
 * models' tuned defaults stand (128 px, 6 / 4 epochs); on a user's data: the image size from the images,
 * default boxes (SSD) or anchors (Faster R-CNN) covering the boxes' sizes and shapes, SSD's augmentation on long runs,
 * and a time budget of 10 / 15 minutes with the schedule fitted to it. Options the user set win.
 */
export async function resolveRun(config: TrainConfig, train: SampleSource, synthetic: boolean): Promise<ResolvedRun> {
  const notes: string[] = [];
  const modelOptions: Record<string, unknown> = {};
  if (!isTorchvisionModel(config.model)) {
    for (const key of ['weights', 'trainableBackboneLayers'] as const) {
      if (config[key] !== null) throw new InvalidArgumentError('detkit-train', key, `applies to torchvision's models (--model ssdlite320-mobilenet-v3-large, ${TORCHVISION_FASTER_RCNN_MODELS.join(', ')}), not to ${config.model}`);
    }
  }
  // ResNet-50 has 5 stages (torchvision's trainable_backbone_layers 0-5), MobileNetV3 6: refused here,
  // before the data are read, rather than when the model is built.
  if (config.model === 'fasterrcnn-resnet50-fpn' && config.trainableBackboneLayers !== null && config.trainableBackboneLayers > 5) {
    throw new InvalidArgumentError('detkit-train', 'trainableBackboneLayers', `must be 0-5 for ${config.model} (ResNet-50 has 5 stages), got ${config.trainableBackboneLayers}`);
  }
  let imageSize: number;
  if (config.model === 'ssdlite320-mobilenet-v3-large') {
    if (config.imageSize !== 'auto' && config.imageSize !== SSDLITE_IMAGE_SIZE) {
      throw new InvalidArgumentError('detkit-train', 'imageSize', `must be 'auto' or ${SSDLITE_IMAGE_SIZE} for ${config.model} (its input size), got ${config.imageSize}`);
    }
    imageSize = SSDLITE_IMAGE_SIZE;
    if (!synthetic) notes.push(`image size ${imageSize} px (${config.model}'s input)`);
  } else if (isTorchvisionFasterRcnn(config.model)) {
    // torchvision's anchors and transform are the model's own: nothing is fitted to the data.
    imageSize = config.imageSize === 'auto' ? TORCHVISION_FASTER_RCNN_IMAGE_SIZE[config.model] : config.imageSize;
    if (!synthetic && config.imageSize === 'auto') notes.push(`image size ${imageSize} px (${config.model}'s min_size; --image-size to change)`);
  } else if (synthetic) {
    imageSize = config.imageSize === 'auto' ? 128 : config.imageSize;
  } else {
    const stats = await dataStats(train);
    const rs = stats.relativeSize;
    notes.push(
      `data: ${stats.images} images (median longer side ${stats.medianLongSide} px), ${stats.boxes} boxes of relative size ` +
        `${rs.map((v) => v.toFixed(3)).join(' / ')} (2/10/50/90/98%), aspect w/h ${stats.aspect.map((v) => v.toFixed(2)).join(' / ')} (5/50/95%)`,
    );
    const cap = config.model === 'ssd' ? MAX_AUTO_IMAGE_SIZE_SSD : MAX_AUTO_IMAGE_SIZE;
    imageSize = config.imageSize === 'auto' ? autoImageSize(stats.medianLongSide, rs[0], cap) : config.imageSize;
    if (config.imageSize === 'auto') notes.push(`image size ${imageSize} px (from the images, at most ${cap} px for ${config.model}; --image-size to change)`);
    if (stats.boxes > 0) {
      const user = config.modelOptions;
      const group = (key: string) => (typeof user[key] === 'object' && user[key] !== null ? (user[key] as Record<string, unknown>) : {});
      if (config.model === 'ssd') {
        const boxes: Record<string, unknown> = {};
        const backbone = group('backbone');
        if (backbone.outputStrides === undefined && backbone.channels === undefined && backbone.convsPerStage === undefined && group('defaultBoxes').steps === undefined) {
          const chosen = autoSsdLevels(stats, imageSize);
          modelOptions.backbone = chosen;
          boxes.steps = chosen.outputStrides;
          notes.push(
            `feature levels at strides ${chosen.outputStrides.join(', ')} (smallest objects ${Math.round(rs[0] * imageSize)} px; backbone stages ${JSON.stringify(chosen.channels)}, ${JSON.stringify(chosen.convsPerStage)} convolutions)`,
          );
        }
        // One level per backbone output (the user may have chosen other strides than SSD's three).
        const strides = backbone.outputStrides;
        const levels = Array.isArray(strides) && strides.length > 0 ? strides.length : 3;
        if (user.scales === undefined && group('defaultBoxes').scales === undefined) {
          boxes.scales = autoSsdScales(stats, levels);
          notes.push(`default-box scales ${JSON.stringify(boxes.scales)} (x ${imageSize} px: ${(boxes.scales as number[]).map((v) => Math.round(v * imageSize)).join(', ')} px)`);
        }
        if (user.aspectRatios === undefined && group('defaultBoxes').aspectRatios === undefined) {
          boxes.aspectRatios = autoAspectRatios(stats, levels);
          notes.push(`default-box aspect ratios ${JSON.stringify(boxes.aspectRatios)}`);
        }
        if (Object.keys(boxes).length > 0) modelOptions.defaultBoxes = boxes;
        if (group('matcher').threshold === undefined && user.matchThreshold === undefined) {
          const threshold = autoSsdMatchThreshold(stats, imageSize);
          if (threshold !== SSD_MATCH_THRESHOLD) {
            modelOptions.matcher = { threshold };
            notes.push(`matcher threshold ${threshold} (small objects: default boxes of IoU ${threshold}-${SSD_MATCH_THRESHOLD} are positives, not background; SSD's is ${SSD_MATCH_THRESHOLD})`);
          }
        }
      } else if (user.anchorSizes === undefined && group('anchors').sizes === undefined) {
        modelOptions.anchors = { sizes: autoAnchorSizes(stats, imageSize) };
        notes.push(`anchor sizes ${JSON.stringify((modelOptions.anchors as { sizes: number[] }).sizes)} px`);
      }
    }
  }
  const epochs = config.epochs === 'auto' ? (synthetic ? SYNTHETIC_EPOCHS[config.model] : null) : config.epochs;
  const time = config.time === 'auto' ? (synthetic || config.epochs !== 'auto' || config.maxSteps > 0 ? 0 : DEFAULT_TIME_BUDGET[config.model]) : config.time;
  if (!synthetic && config.time === 'auto' && time > 0) notes.push(`time budget ${time} s (--time to change, --epochs for an epoch count)`);
  // SSD's own augmentation pays off only over long runs (LONG_RUN_SECONDS): a 10-minute budget trains better with flips.
  const longRun = time >= LONG_RUN_SECONDS || (epochs !== null && epochs >= LONG_RUN_EPOCHS);
  const augment = config.augment === 'auto' ? (config.model === 'ssd' && !synthetic && longRun ? 'ssd' : 'flip') : config.augment;
  if (!synthetic && config.augment === 'auto' && config.model === 'ssd') {
    notes.push(longRun ? `augment ssd (a long run; --augment to change)` : `augment flip (SSD's own augmentation from ${LONG_RUN_SECONDS / 60} minutes or ${LONG_RUN_EPOCHS} epochs; --augment ssd to force it)`);
  }
  const modelBatch = defaultConfig(config.model).batchSize;
  const autoBatch = modelBatch !== 'auto' ? modelBatch : synthetic ? SSD_SYNTHETIC_BATCH_SIZE : SSD_DATA_BATCH_SIZE;
  const batchSize = config.batchSize === 'auto' ? autoBatch : config.batchSize;
  if (!synthetic && config.batchSize === 'auto' && config.model === 'ssd') notes.push(`batch ${batchSize} (more steps on a time budget; --batch-size to change)`);
  const modelLr = defaultConfig(config.model).lr;
  const lr = config.lr !== 'auto' ? config.lr : modelLr !== 'auto' ? modelLr : synthetic ? SSD_SYNTHETIC_LR : SSD_DATA_LR;
  if (!synthetic && config.lr === 'auto' && config.model === 'ssd') notes.push(`lr ${lr} (--lr to change)`);
  const workers = config.workers === 'auto' ? 1 : config.workers;
    // The user's modelOptions win; the recipe groups the data filled are merged one level deep.
  const merged: Record<string, unknown> = { ...modelOptions, ...config.modelOptions };
  for (const key of ['defaultBoxes', 'anchors', 'backbone', 'matcher']) {
    const user = config.modelOptions[key];
    if (modelOptions[key] !== undefined && typeof user === 'object' && user !== null) merged[key] = { ...(modelOptions[key] as object), ...user };
  }
  return { imageSize, batchSize, lr, epochs, time, maxSteps: config.maxSteps, augment, workers, modelOptions: merged, notes };
}
