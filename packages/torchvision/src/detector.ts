import { IMAGENET_NORMALIZATION } from '@detkit/data';
import { InvalidArgumentError, integerOption, tf } from '@detkit/core';
import { registerDetectorKind, type DetectionResult, type DetectOptions, type Detector, type DetectorLoss, type DetectorLossOptions, type ImageTargets } from '@detkit/models';
import { fasterrcnnMobilenetV3Large320Fpn, fasterrcnnMobilenetV3LargeFpn, fasterrcnnResnet50Fpn, type FasterRcnn } from './faster-rcnn';
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
 * `loadDetector` and the trainer's checkpoints rebuild them from a saved configuration: {@link SSDLITE_KIND}
 * and {@link FASTER_RCNN_KINDS}.
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
  for (const kind of Object.values(FASTER_RCNN_KINDS)) {
    registerDetectorKind(kind, (config, options) => {
      const c = config as unknown as Partial<FasterRcnnDetectorConfig>;
      return fasterRcnnDetector({
        kind,
        numClasses: c.numClasses as number,
        ...(c.imageSize !== undefined ? { imageSize: c.imageSize[0] } : {}),
        ...(c.modelOptions !== undefined ? { modelOptions: c.modelOptions } : {}),
        ...(options.seed !== undefined ? { seed: options.seed } : {}),
      }) as unknown as Detector<{ kind: string }>;
    });
  }
}

/** The `kind`s of {@link fasterRcnnDetector}'s detectors: the trainer's `--model` names of torchvision's Faster R-CNN models. */
export const FASTER_RCNN_KINDS = Object.freeze({
  fasterrcnn_mobilenet_v3_large_320_fpn: 'fasterrcnn-mobilenet-v3-large-320-fpn',
  fasterrcnn_mobilenet_v3_large_fpn: 'fasterrcnn-mobilenet-v3-large-fpn',
  fasterrcnn_resnet50_fpn: 'fasterrcnn-resnet50-fpn',
} as const);

/** One of {@link FASTER_RCNN_KINDS}' values. */
export type FasterRcnnKind = (typeof FASTER_RCNN_KINDS)[keyof typeof FASTER_RCNN_KINDS];

/** The serialisable configuration of a {@link fasterRcnnDetector} (what a saved detector's `model.json` holds). */
export interface FasterRcnnDetectorConfig {
  kind: FasterRcnnKind;
  /** Object classes, without the background (torchvision's `num_classes` is this + 1). */
  numClasses: number;
  /** `[side, side]` of the loader's letterboxed batches; torchvision's transform then resizes them to `minSize`. */
  imageSize: [number, number];
  /** The model factory's options besides `numClasses` and `seed` (`frozenBatchNorm`, `trainableBackboneLayers`, `widthMult`, ...). */
  modelOptions: Record<string, unknown>;
}

/** Options of {@link fasterRcnnDetector}. */
export interface FasterRcnnDetectorOptions {
  /** Which of torchvision's Faster R-CNN models. */
  kind: FasterRcnnKind;
  /** Object classes, without the background. */
  numClasses: number;
  /** Side of the loader's square batches. Default the model's `minSize` (320 or 800). */
  imageSize?: number;
  /**
   * The factory's options (`FasterRcnnMobilenetOptions` / `FasterRcnnResnet50FpnOptions`) besides `numClasses`
   * and `seed`: `frozenBatchNorm` (true to load torchvision's pretrained checkpoints), `trainableBackboneLayers`,
   * `widthMult`, `fpnOutChannels`, `representationSize`, `boxScoreThresh`, ...
   */
  modelOptions?: Record<string, unknown>;
  /** Seed of the initial weights. Default 0. */
  seed?: number;
}

/** A detkit {@link Detector} around one of torchvision's Faster R-CNN models. */
export interface FasterRcnnDetector extends Detector<FasterRcnnDetectorConfig> {
  /** The torchvision model: `loadStateDict` / `saveStateDict` with torchvision's parameter names. */
  readonly model: FasterRcnn<object>;
}

const FASTER_RCNN_FACTORIES: Record<FasterRcnnKind, (options: Record<string, unknown>) => FasterRcnn<object>> = {
  'fasterrcnn-mobilenet-v3-large-320-fpn': (o) => fasterrcnnMobilenetV3Large320Fpn(o),
  'fasterrcnn-mobilenet-v3-large-fpn': (o) => fasterrcnnMobilenetV3LargeFpn(o),
  'fasterrcnn-resnet50-fpn': (o) => fasterrcnnResnet50Fpn(o),
};

/** The loader's ImageNet-normalised batch back to [0, 1] pixels, which torchvision's models normalise themselves. */
function loaderPixels(op: string, images: tf.Tensor4D, side: number): tf.Tensor4D {
  if (images.rank !== 4 || images.shape[1] !== side || images.shape[2] !== side || images.shape[3] !== 3) {
    throw new InvalidArgumentError(op, 'images', `must be Tensor[B, ${side}, ${side}, 3] (the loader's batch at imageSize ${side}), got [${images.shape.join(', ')}]`);
  }
  const { mean, std } = IMAGENET_NORMALIZATION;
  return tf.add(tf.mul(images, tf.tensor1d([...std])), tf.tensor1d([...mean]));
}

/**
 * torchvision 0.14's Faster R-CNN models (`fasterrcnn_mobilenet_v3_large_320_fpn`, `_fpn`, `fasterrcnn_resnet50_fpn`)
 * as a detkit {@link Detector}: what the reference trainer fine-tunes (`--model fasterrcnn-mobilenet-v3-large-320-fpn
 * --weights coco.safetensors`) and `loadDetector` / `detkit detect` run. It takes the loader's letterboxed,
 * ImageNet-normalised `imageSize` batches, undoes that normalisation, and the model's own transform resizes
 * and normalises them as torchvision's does.
 *
 * - `loss`: {@link FasterRcnn.loss} (RPN and RoI heads in training), its samplers drawing from `options.rng`;
 *   parts `objectness`, `rpnBoxReg`, `classifier`, `boxReg` (torchvision's `loss_*`). 0-based data-set labels
 *   become torchvision's 1-based ones; images without boxes are background.
 * - `detect`: torchvision's postprocessing (`boxScoreThresh`, default 0.05); `options.scoreThreshold` and
 *   `detectionsPerImage` can only narrow it. Boxes xyxy in the `imageSize` input's pixels, 0-based labels.
 * - `variables`: every parameter and buffer under torchvision's name.
 *
 * @example
 * const detector = fasterRcnnDetector({ kind: 'fasterrcnn-mobilenet-v3-large-320-fpn', numClasses: 90, modelOptions: { frozenBatchNorm: true } });
 * detector.model.loadStateDict(readFileSync('fasterrcnn_mobilenet_v3_large_320_fpn.safetensors'));
 */
export function fasterRcnnDetector(options: FasterRcnnDetectorOptions): FasterRcnnDetector {
  const op = 'fasterRcnnDetector';
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(op, 'options', 'must be an object with kind and numClasses');
  const factory = FASTER_RCNN_FACTORIES[options.kind];
  if (factory === undefined) throw new InvalidArgumentError(op, 'kind', `must be one of ${Object.values(FASTER_RCNN_KINDS).join(', ')}, got ${JSON.stringify(options.kind)}`);
  const numClasses = integerOption(op, 'numClasses', options.numClasses, { min: 1 });
  const modelOptions = { ...options.modelOptions };
  if ('numClasses' in modelOptions || 'seed' in modelOptions) throw new InvalidArgumentError(op, 'modelOptions', 'must not hold numClasses or seed (they are options of their own)');
  const model = factory({ ...modelOptions, numClasses: numClasses + 1, seed: options.seed ?? 0 });
  const c = model.config as { minSize: number; trainableBackboneLayers: number; frozenBatchNorm: boolean };
  const side = integerOption(op, 'imageSize', options.imageSize ?? c.minSize, { min: 16 });
  const config: FasterRcnnDetectorConfig = {
    kind: options.kind,
    numClasses,
    imageSize: [side, side],
    modelOptions: { ...modelOptions, trainableBackboneLayers: c.trainableBackboneLayers, frozenBatchNorm: c.frozenBatchNorm },
  };
  const variables = Object.fromEntries(model.parameters.specs().map((s) => [s.name, model.parameters.get(s.name)]));
  return {
    kind: options.kind,
    config,
    model,
    variables,
    loss(images: tf.Tensor4D, targets: readonly ImageTargets[], o: DetectorLossOptions = {}): DetectorLoss {
      return tf.tidy(() => {
        const l = model.loss(
          loaderPixels('loss', images, side),
          targets.map((t) => {
            const n = t.labels.length;
            return { boxes: tf.tensor2d(t.boxes.subarray(0, 4 * n), [n, 4]), labels: tf.tensor1d(Int32Array.from(t.labels, (v) => v + 1), 'int32') };
          }),
          o.rng !== undefined ? { rng: o.rng } : {},
        );
        return { total: l.total, parts: { objectness: l.lossObjectness, rpnBoxReg: l.lossRpnBoxReg, classifier: l.lossClassifier, boxReg: l.lossBoxReg } };
      }) as DetectorLoss;
    },
    detect(images: tf.Tensor4D, o: DetectOptions = {}): DetectionResult[] {
      const raw = tf.tidy(() => model.detect(loaderPixels('detect', images, side)).flatMap((d) => [d.boxes, d.scores, tf.sub(d.labels, 1)]));
      const out: DetectionResult[] = [];
      for (let i = 0; i < raw.length; i += 3) {
        const scores = raw[i + 1]!.dataSync() as Float32Array;
        // Scores are descending: keep the prefix above the threshold, at most detectionsPerImage of it.
        let n = scores.findIndex((s) => o.scoreThreshold !== undefined && !(s > o.scoreThreshold));
        if (n < 0) n = scores.length;
        if (o.detectionsPerImage !== undefined) n = Math.min(n, o.detectionsPerImage);
        out.push({ boxes: (raw[i]!.dataSync() as Float32Array).slice(0, 4 * n), scores: scores.slice(0, n), labels: Int32Array.from(raw[i + 2]!.dataSync().subarray(0, n)) });
      }
      tf.dispose(raw);
      return out;
    },
    dispose: () => model.dispose(),
  };
}
