import { IMAGENET_NORMALIZATION } from '@detkit/data';
import { InvalidArgumentError, integerOption, tf } from '@detkit/core';
import { registerDetectorKind, type DetectionResult, type DetectOptions, type Detector, type DetectorLoss, type DetectorLossOptions, type ImageTargets } from '@detkit/models';
import { SSDLITE320_DEFAULTS, ssdlite320MobilenetV3Large, type Ssdlite320MobilenetV3Large } from './ssdlite';

/** The `kind` of {@link ssdliteDetector}'s detectors (`--model ssdlite320-mobilenet-v3-large` of the trainer). */
export const SSDLITE_KIND = 'ssdlite320-mobilenet-v3-large';

/** The serialisable configuration of an {@link ssdliteDetector} (what a saved detector's `model.json` holds). */
export interface SsdliteDetectorConfig {
  kind: typeof SSDLITE_KIND;
  /** Object classes, without the background (torchvision's `num_classes` is this + 1). */
  numClasses: number;
  /** Always [320, 320]: the input SSDlite320 is made for. */
  imageSize: [number, number];
  /** MobileNetV3's `width_mult`. */
  widthMult: number;
  /** MobileNetV3's `reduced_tail`. */
  reducedTail: boolean;
  /** `trainable_backbone_layers`, 0-6. */
  trainableBackboneLayers: number;
  /** Inference postprocessing (torchvision's `score_thresh`, `nms_thresh`, `detections_per_img`, `topk_candidates`). */
  postprocess: { scoreThreshold: number; nmsThreshold: number; detectionsPerImage: number; topkCandidates: number };
}

/** Options of {@link ssdliteDetector}. */
export interface SsdliteDetectorOptions {
  /** Object classes, without the background. */
  numClasses: number;
  /** Default 1. */
  widthMult?: number;
  /** Default true (see `Ssdlite320Options.reducedTail`). */
  reducedTail?: boolean;
  /** Default 6 (all). */
  trainableBackboneLayers?: number;
  /** Defaults: torchvision's 0.001, 0.55, 300, 300. */
  postprocess?: Partial<SsdliteDetectorConfig['postprocess']>;
  /** Seed of the initial weights. Default 0. */
  seed?: number;
}

/** A detkit {@link Detector} around torchvision's SSDlite320 (the trainer's and `loadDetector`'s interface). */
export interface SsdliteDetector extends Detector<SsdliteDetectorConfig> {
  /** The torchvision model: `loadStateDict` / `saveStateDict` with torchvision's parameter names. */
  readonly model: Ssdlite320MobilenetV3Large;
}

const SIZE = 320;

/**
 * torchvision 0.14's `ssdlite320_mobilenet_v3_large` as a detkit {@link Detector}: what the reference trainer
 * fine-tunes (`--model ssdlite320-mobilenet-v3-large --weights coco.safetensors`) and `loadDetector` /
 * `detkit detect` run. Its images are what @detkit/data's loader gives at `imageSize` 320 x 320 (letterboxed,
 * normalised with `IMAGENET_NORMALIZATION`); it undoes that normalisation and applies SSDlite's own
 * (mean 0.5, std 0.5). Deliberate difference from torchvision: the loader letterboxes, where torchvision's
 * transform stretches every image to 320 x 320.
 *
 * - `loss`: {@link Ssdlite320MobilenetV3Large.loss} (train mode: batch-norm batch statistics, `SSDMatcher(0.5)`,
 *   3:1 hard negatives); parts `classification` and `regression` (torchvision's `bbox_regression`). Needs a
 *   batch of 2 images or more. 0-based data-set labels become torchvision's 1-based ones.
 * - `detect`: torchvision's postprocessing; boxes xyxy in the 320 x 320 input's pixels, 0-based labels.
 * - `variables`: every parameter and buffer under torchvision's name (`backbone.features.0.0.0.weight`, ...).
 *
 * @example
 * const detector = ssdliteDetector({ numClasses: 90 });
 * detector.model.loadStateDict(readFileSync('ssdlite320_mobilenet_v3_large_coco.safetensors'));
 */
export function ssdliteDetector(options: SsdliteDetectorOptions): SsdliteDetector {
  const op = 'ssdliteDetector';
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(op, 'options', 'must be an object with numClasses');
  const numClasses = integerOption(op, 'numClasses', options.numClasses, { min: 1 });
  const p = { ...options.postprocess };
  const model = ssdlite320MobilenetV3Large({
    numClasses: numClasses + 1,
    widthMult: options.widthMult ?? 1,
    reducedTail: options.reducedTail ?? true,
    trainableBackboneLayers: options.trainableBackboneLayers ?? 6,
    scoreThresh: p.scoreThreshold ?? SSDLITE320_DEFAULTS.scoreThresh,
    nmsThresh: p.nmsThreshold ?? SSDLITE320_DEFAULTS.nmsThresh,
    detectionsPerImg: p.detectionsPerImage ?? SSDLITE320_DEFAULTS.detectionsPerImg,
    topkCandidates: p.topkCandidates ?? SSDLITE320_DEFAULTS.topkCandidates,
    seed: options.seed ?? 0,
  });
  const c = model.config;
  const config: SsdliteDetectorConfig = {
    kind: SSDLITE_KIND,
    numClasses,
    imageSize: [SIZE, SIZE],
    widthMult: c.widthMult,
    reducedTail: c.reducedTail,
    trainableBackboneLayers: c.trainableBackboneLayers,
    postprocess: { scoreThreshold: c.scoreThresh, nmsThreshold: c.nmsThresh, detectionsPerImage: c.detectionsPerImg, topkCandidates: c.topkCandidates },
  };
  const variables = Object.fromEntries(model.parameters.specs().map((s) => [s.name, model.parameters.get(s.name)]));

  /** The loader's ImageNet-normalised batch back to [0, 1] pixels, which the torchvision model normalises itself. */
  const pixels = (images: tf.Tensor4D): tf.Tensor4D => {
    if (images.rank !== 4 || images.shape[1] !== SIZE || images.shape[2] !== SIZE || images.shape[3] !== 3) {
      throw new InvalidArgumentError(op, 'images', `must be Tensor[B, ${SIZE}, ${SIZE}, 3] (the loader's batch at imageSize 320), got [${images.shape.join(', ')}]`);
    }
    const { mean, std } = IMAGENET_NORMALIZATION;
    return tf.add(tf.mul(images, tf.tensor1d([...std])), tf.tensor1d([...mean]));
  };

  return {
    kind: SSDLITE_KIND,
    config,
    model,
    variables,
    loss(images: tf.Tensor4D, targets: readonly ImageTargets[], _options?: DetectorLossOptions): DetectorLoss {
      return tf.tidy(() => {
        const l = model.loss(
          pixels(images),
          targets.map((t) => {
            const n = t.labels.length;
            return { boxes: tf.tensor2d(t.boxes.subarray(0, 4 * n), [n, 4]), labels: tf.tensor1d(Int32Array.from(t.labels, (v) => v + 1), 'int32') };
          }),
        );
        return { total: l.total, parts: { classification: l.classification, regression: l.bboxRegression } };
      }) as DetectorLoss;
    },
    detect(images: tf.Tensor4D, o: DetectOptions = {}): DetectionResult[] {
      const raw = tf.tidy(() =>
        model
          .detect(pixels(images), {
            ...(o.scoreThreshold !== undefined ? { scoreThresh: o.scoreThreshold } : {}),
            ...(o.detectionsPerImage !== undefined ? { detectionsPerImg: o.detectionsPerImage } : {}),
          })
          .flatMap((d) => [d.boxes, d.scores, tf.sub(d.labels, 1)]),
      );
      const out: DetectionResult[] = [];
      for (let i = 0; i < raw.length; i += 3) {
        out.push({ boxes: raw[i]!.dataSync() as Float32Array, scores: raw[i + 1]!.dataSync() as Float32Array, labels: Int32Array.from(raw[i + 2]!.dataSync()) });
      }
      tf.dispose(raw);
      return out;
    },
    dispose: () => model.dispose(),
  };
}

/**
 * Registers this package's detectors with @detkit/models' `registerDetectorKind`, so `createDetector`,
 * `loadDetector` and the trainer's checkpoints rebuild them from a saved configuration: {@link SSDLITE_KIND}.
 * Idempotent; the reference trainer and `detkit` CLI call it at start.
 */
export function registerTorchvisionDetectors(): void {
  registerDetectorKind(SSDLITE_KIND, (config, options) => {
    const c = config as unknown as Partial<SsdliteDetectorConfig>;
    return ssdliteDetector({
      numClasses: c.numClasses as number,
      ...(c.widthMult !== undefined ? { widthMult: c.widthMult } : {}),
      ...(c.reducedTail !== undefined ? { reducedTail: c.reducedTail } : {}),
      ...(c.trainableBackboneLayers !== undefined ? { trainableBackboneLayers: c.trainableBackboneLayers } : {}),
      ...(c.postprocess !== undefined ? { postprocess: c.postprocess } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
    }) as unknown as Detector<{ kind: string }>;
  });
}
