// The typed recipe of createSsd / createFasterRcnn: defaults from the packages' constants, every field
// honoured (changing it alone changes what the detector computes), unknown keys and bad values rejected by
// their key path, the recipe saved and loaded with the weights, legacy options read as before.
import { DEFAULT_ANCHOR_RATIOS, SSD_MAX_RATIO, SSD_MIN_RATIO } from '@detkit/anchors';
import { useBackend } from '@detkit/backends';
import { ROI_BOX_CODER_WEIGHTS, RPN_BOX_CODER_WEIGHTS } from '@detkit/boxes';
import { InvalidArgumentError, tf } from '@detkit/core';
import { FASTER_RCNN_POSTPROCESS, PROPOSAL_PRESETS, SSD_POSTPROCESS } from '@detkit/heads';
import { FAST_RCNN_LOSS_WEIGHTS, MULTIBOX_LOSS_WEIGHTS, RPN_LOSS_WEIGHTS } from '@detkit/losses';
import { ROI_MATCHER_OPTIONS, RPN_MATCHER_OPTIONS, SSD_MATCH_THRESHOLD } from '@detkit/matchers';
import { ROI_SAMPLER_OPTIONS, RPN_SAMPLER_OPTIONS, SSD_NEG_POS_RATIO } from '@detkit/samplers';
import { expectNoLeaks, thrownDetkitError } from '@detkit/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createDetector,
  createFasterRcnn,
  createSsd,
  describeRecipe,
  FASTER_RCNN_ANCHOR_OFFSET,
  FASTER_RCNN_ANCHOR_SIZES,
  FASTER_RCNN_PROPOSAL_COUNTS,
  FASTER_RCNN_ROI_BATCH_SIZE,
  loadDetectorModel,
  recipeFields,
  SSD_ASPECT_RATIOS,
  SSD_DETECTIONS_PER_IMAGE,
  SSD_SCALES,
  type Detector,
  type DetectorConfig,
  type FasterRcnnOptions,
  type ImageTargets,
  type SsdOptions,
} from './index';
import { savedArtifacts } from './test-save';

const thrown = (f: () => unknown) => thrownDetkitError(f, InvalidArgumentError);

const SIZE = 64;

/** Two 64 x 64 images of uniform noise in [-1, 1) (a fixed LCG) with two and one boxes. */
function batch(): { images: tf.Tensor4D; targets: ImageTargets[] } {
  const pixels = new Float32Array(2 * SIZE * SIZE * 3);
  let s = 5;
  for (let i = 0; i < pixels.length; i++) pixels[i] = ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296) * 2 - 1;
  const targets = [
    { boxes: Float32Array.from([6, 8, 30, 34, 36, 30, 60, 44]), labels: Int32Array.from([0, 1]) },
    { boxes: Float32Array.from([14, 20, 50, 58]), labels: Int32Array.from([1]) },
  ];
  return { images: tf.tensor4d(pixels, [2, SIZE, SIZE, 3]), targets };
}

const tinySsd: SsdOptions = { numClasses: 2, imageSize: SIZE, seed: 4, backbone: { channels: [4, 4, 8, 8, 8] } };
const tinyFrcnn: FasterRcnnOptions = { numClasses: 2, imageSize: SIZE, seed: 4, backbone: { channels: [4, 8, 8] }, representationSize: 16 };

/** Options with `value` at the dotted `path` (on top of `base`'s groups). */
function withField<T extends object>(base: T, path: string, value: unknown): T {
  const out = structuredClone(base) as Record<string, unknown>;
  const keys = path.split('.');
  let at = out;
  for (const k of keys.slice(0, -1)) at = (at[k] ??= {}) as Record<string, unknown>;
  at[keys[keys.length - 1]!] = value;
  return out as T;
}

/** What a detector computes: its reference boxes, its loss and loss parts with a fixed rng, and its detections. */
function observe(detector: Detector): string {
  const { images, targets } = batch();
  let s = 9;
  const rng = () => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
  const loss = detector.loss(images, targets, { rng });
  const reference = 'priors' in detector ? (detector.priors as tf.Tensor) : (detector as unknown as { anchors: tf.Tensor }).anchors;
  const out = JSON.stringify({
    reference: Array.from(reference.dataSync()),
    loss: { total: loss.total.dataSync()[0], ...Object.fromEntries(Object.entries(loss.parts).map(([k, v]) => [k, v.dataSync()[0]])) },
    detections: detector.detect(images).map((d) => [Array.from(d.boxes), Array.from(d.scores), Array.from(d.labels)]),
  });
  tf.dispose([images, loss.total, ...Object.values(loss.parts)]);
  return out;
}

async function roundTrip(detector: Detector<DetectorConfig>): Promise<Detector<DetectorConfig>> {
  const saved = await savedArtifacts(detector);
  // Through JSON, as a checkpoint on disk is.
  return loadDetectorModel(tf.io.fromMemory({ ...saved, modelTopology: JSON.parse(JSON.stringify(saved.modelTopology)) }));
}

/**
 * One case per recipe field: a value other than the default, and (for fields whose effect needs a setting)
 * the options it is compared on. Changing the field alone must change what the detector computes.
 */
const SSD_CASES: [path: string, value: unknown, base?: SsdOptions][] = [
  ['defaultBoxes.aspectRatios', [[2, 3], [2], [3]]],
  ['defaultBoxes.scales', [0.15, 0.3, 0.5, 0.8]],
  ['defaultBoxes.minRatio', 0.3],
  ['defaultBoxes.maxRatio', 0.5],
  ['defaultBoxes.steps', [6, 12, 24]],
  // Scales above 1 make boxes wider than the image, which clip clamps.
  ['defaultBoxes.clip', false, { ...tinySsd, defaultBoxes: { scales: [0.4, 0.8, 1.2, 1.5] } }],
  ['matcher.threshold', 0.3],
  ['loss.negPosRatio', 1],
  ['loss.alpha', 2],
  ['loss.beta', 0.5],
  ['boxCoderWeights', [5, 5, 2, 2]],
  ['postprocess.scoreThreshold', 0.4],
  ['postprocess.nmsThreshold', 0.1],
  ['postprocess.detectionsPerImage', 5],
  ['postprocess.topkCandidates', 3],
  ['postprocess.minSize', 20],
];

const FRCNN_CASES: [path: string, value: unknown, base?: FasterRcnnOptions][] = [
  ['anchors.sizes', [12, 40]],
  ['anchors.aspectRatios', [1, 3]],
  ['anchors.offset', 0],
  ['rpn.matcher.highThreshold', 0.4],
  ['rpn.matcher.lowThreshold', 0.05],
  ['rpn.matcher.allowLowQualityMatches', false],
  ['rpn.matcher.negativeMinIou', 0.05],
  ['rpn.matcher.minLowQualityIou', 0.95],
  ['rpn.sampler.batchSize', 16],
  ['rpn.sampler.positiveFraction', 0.01],
  ['rpn.preNmsTopN.training', 20],
  ['rpn.preNmsTopN.testing', 10],
  ['rpn.postNmsTopN.training', 10],
  ['rpn.postNmsTopN.testing', 5],
  ['rpn.nmsThreshold', 0.3],
  ['rpn.minSize', 20],
  ['rpn.scoreThreshold', 0.55],
  ['rpn.boxCoderWeights', [2, 2, 3, 3]],
  ['rpn.loss.normalization', 'paper'],
  ['rpn.loss.lambda', 2],
  ['rpn.loss.beta', 0.5],
  ['roiHeads.loss.normalization', 'walk-through'],
  ['roiHeads.loss.lambda', 2],
  ['roiHeads.loss.beta', 0.5],
  ['roiHeads.matcher.highThreshold', 0.7],
  ['roiHeads.matcher.lowThreshold', 0.1],
  ['roiHeads.matcher.negativeMinIou', 0.1],
  ['roiHeads.sampler.batchSize', 8],
  ['roiHeads.sampler.positiveFraction', 0.02],
  ['roiHeads.boxCoderWeights', [5, 5, 2, 2]],
  ['postprocess.scoreThreshold', 0.34],
  ['postprocess.nmsThreshold', 0.1],
  ['postprocess.detectionsPerImage', 5],
  ['postprocess.topkCandidates', 3],
  ['postprocess.minSize', 20],
];

describe('the typed recipe', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it("defaults come from the packages' named constants", () => {
    const ssd = createSsd(tinySsd);
    expect(ssd.config.defaultBoxes).toEqual({ aspectRatios: [SSD_ASPECT_RATIOS, SSD_ASPECT_RATIOS, SSD_ASPECT_RATIOS], scales: SSD_SCALES, steps: [8, 16, 32], clip: true });
    expect(ssd.config.matcher).toEqual({ threshold: SSD_MATCH_THRESHOLD });
    expect(ssd.config.loss).toEqual({ negPosRatio: SSD_NEG_POS_RATIO, ...MULTIBOX_LOSS_WEIGHTS });
    expect(ssd.config.boxCoderWeights).toEqual(ROI_BOX_CODER_WEIGHTS);
    expect(ssd.config.postprocess).toEqual({ ...SSD_POSTPROCESS, detectionsPerImage: SSD_DETECTIONS_PER_IMAGE });
    ssd.dispose();
    const frcnn = createFasterRcnn(tinyFrcnn);
    const { anchors, rpn, roiHeads, postprocess } = frcnn.config;
    expect(anchors).toEqual({ sizes: FASTER_RCNN_ANCHOR_SIZES, aspectRatios: DEFAULT_ANCHOR_RATIOS, offset: FASTER_RCNN_ANCHOR_OFFSET });
    expect(rpn).toEqual({
      matcher: RPN_MATCHER_OPTIONS,
      sampler: RPN_SAMPLER_OPTIONS,
      ...FASTER_RCNN_PROPOSAL_COUNTS,
      nmsThreshold: PROPOSAL_PRESETS.torchvisionTrain.nmsThreshold,
      minSize: PROPOSAL_PRESETS.torchvisionTrain.minSize,
      scoreThreshold: PROPOSAL_PRESETS.torchvisionTrain.scoreThreshold,
      boxCoderWeights: RPN_BOX_CODER_WEIGHTS,
      loss: { normalization: 'torchvision', ...RPN_LOSS_WEIGHTS.torchvision },
    });
    expect(roiHeads).toEqual({
      matcher: ROI_MATCHER_OPTIONS,
      sampler: { ...ROI_SAMPLER_OPTIONS, batchSize: FASTER_RCNN_ROI_BATCH_SIZE },
      boxCoderWeights: ROI_BOX_CODER_WEIGHTS,
      loss: { normalization: 'torchvision', ...FAST_RCNN_LOSS_WEIGHTS.torchvision },
    });
    // Another normalisation brings its own weights, unless they are given.
    const paper = createFasterRcnn({ ...tinyFrcnn, rpn: { loss: { normalization: 'paper' } }, roiHeads: { loss: { normalization: 'walk-through', beta: 0.5 } } });
    expect(paper.config.rpn.loss).toEqual({ normalization: 'paper', ...RPN_LOSS_WEIGHTS.paper });
    expect(paper.config.roiHeads.loss).toEqual({ normalization: 'walk-through', lambda: FAST_RCNN_LOSS_WEIGHTS['walk-through'].lambda, beta: 0.5 });
    paper.dispose();
    // One Faster R-CNN post-processing default: @detkit/heads' (its unlimited topkCandidates is left out).
    const { topkCandidates, ...heads } = FASTER_RCNN_POSTPROCESS;
    expect(topkCandidates).toBe(Infinity);
    expect(postprocess).toEqual(heads);
    frcnn.dispose();
  });

  it('the cases below cover every field that recipeFields lists', () => {
    const ssd = createSsd(tinySsd);
    const frcnn = createFasterRcnn(tinyFrcnn);
    expect(recipeFields(ssd.config).map((f) => f.path).sort()).toEqual(SSD_CASES.map((c) => c[0]).sort());
    expect(recipeFields(frcnn.config).map((f) => f.path).sort()).toEqual(FRCNN_CASES.map((c) => c[0]).sort());
    ssd.dispose();
    frcnn.dispose();
  });

  for (const [kind, cases, make, tiny] of [
    ['createSsd', SSD_CASES, createSsd, tinySsd],
    ['createFasterRcnn', FRCNN_CASES, createFasterRcnn, tinyFrcnn],
  ] as const) {
    it.each(cases.map(([path, value, base]) => [path, value, base] as const))(`${kind}: %s is honoured`, (path, value, base) => {
      const make_ = make as (o: object) => Detector<DetectorConfig>;
      const reference = make_(base ?? tiny);
      const changed = make_(withField(base ?? tiny, path, value));
      // The config holds the value given (aspect ratios, scales and the like as lists).
      const resolved = recipeFields(changed.config).find((f) => f.path === path)!;
      expect(resolved.value).toEqual(value);
      expect(observe(changed)).not.toEqual(observe(reference));
      reference.dispose();
      changed.dispose();
    });
  }

  it('a recipe of non-default values round-trips through save and load (through JSON), and the copy computes the same', async () => {
    const options: FasterRcnnOptions = {
      ...tinyFrcnn,
      anchors: { sizes: [10, 20, 40], aspectRatios: [0.5, 1, 2, 4] },
      rpn: { matcher: { highThreshold: 0.6, lowThreshold: 0.2 }, preNmsTopN: { training: 300 }, postNmsTopN: { testing: 32 }, boxCoderWeights: [1, 1, 2, 2] },
      roiHeads: { sampler: { batchSize: 32, positiveFraction: 0.5 }, matcher: { negativeMinIou: 0.1 } },
      postprocess: { scoreThreshold: 0.2, topkCandidates: 50 },
    };
    for (const detector of [createFasterRcnn(options), createSsd({ ...tinySsd, defaultBoxes: { minRatio: 0.2, aspectRatios: [2, 3] }, loss: { negPosRatio: 2 }, postprocess: { minSize: 2 } })]) {
      const copy = await roundTrip(detector);
      expect(copy.config).toEqual(detector.config);
      expect(observe(copy)).toEqual(observe(detector));
      // The config rebuilds the same detector.
      const rebuilt = createDetector(JSON.parse(JSON.stringify(detector.config)) as DetectorConfig, { seed: 4 });
      expect(rebuilt.config).toEqual(detector.config);
      [copy, rebuilt, detector].forEach((d) => d.dispose());
    }
  });

  it('unknown keys are rejected naming their key path', () => {
    let e = thrown(() => createFasterRcnn({ ...tinyFrcnn, rpn: { matcher: { highTreshold: 0.6 } } } as never));
    expect(e.argument).toBe('rpn.matcher.highTreshold');
    expect(e.message).toContain("'rpn.matcher.highTreshold' is not an option of 'rpn.matcher'");
    e = thrown(() => createFasterRcnn({ ...tinyFrcnn, roiHead: {} } as never));
    expect(e.argument).toBe('roiHead');
    e = thrown(() => createSsd({ ...tinySsd, defaultBoxes: { scale: [0.1, 0.2, 0.3, 0.4] } } as never));
    expect(e.argument).toBe('defaultBoxes.scale');
    e = thrown(() => createSsd({ ...tinySsd, postprocess: { iouThreshold: 0.5 } } as never));
    expect(e.argument).toBe('postprocess.iouThreshold');
    e = thrown(() => createSsd({ ...tinySsd, rpn: {} } as never));
    expect(e.argument).toBe('rpn');
  });

  it('bad values are rejected naming their key path, before any variable is made', async () => {
    const cases: [() => unknown, string][] = [
      [() => createFasterRcnn({ ...tinyFrcnn, rpn: { matcher: { lowThreshold: 0.8 } } }), 'rpn.matcher.lowThreshold'],
      [() => createFasterRcnn({ ...tinyFrcnn, rpn: { sampler: { positiveFraction: 1.5 } } }), 'rpn.sampler.positiveFraction'],
      [() => createFasterRcnn({ ...tinyFrcnn, rpn: { preNmsTopN: { training: 2.5 } } }), 'rpn.preNmsTopN.training'],
      [() => createFasterRcnn({ ...tinyFrcnn, roiHeads: { boxCoderWeights: [1, 1, 1] as never } }), 'roiHeads.boxCoderWeights'],
      [() => createFasterRcnn({ ...tinyFrcnn, anchors: { offset: 1 } }), 'anchors.offset'],
      [() => createFasterRcnn({ ...tinyFrcnn, rpn: 3 as never }), 'rpn'],
      [() => createSsd({ ...tinySsd, defaultBoxes: { scales: [0.1, 0.2] } }), 'defaultBoxes.scales'],
      [() => createSsd({ ...tinySsd, defaultBoxes: { scales: [0.1, 0.2, 0.3, 0.4], minRatio: 0.1 } }), 'defaultBoxes.scales'],
      [() => createSsd({ ...tinySsd, defaultBoxes: { aspectRatios: [[2], [3]] } }), 'defaultBoxes.aspectRatios'],
      [() => createSsd({ ...tinySsd, defaultBoxes: { aspectRatios: [2, -1] } }), 'defaultBoxes.aspectRatios'],
      [() => createSsd({ ...tinySsd, matcher: { threshold: 0 } }), 'matcher.threshold'],
      [() => createSsd({ ...tinySsd, postprocess: { detectionsPerImage: -1 } }), 'postprocess.detectionsPerImage'],
      [() => createSsd({ ...tinySsd, loss: { negPosRatio: 3 }, negPosRatio: 3 }), 'negPosRatio'],
    ];
    for (const [make, path] of cases) {
      const before = tf.memory().numTensors;
      expect(thrown(make).argument, path).toBe(path);
      expect(tf.memory().numTensors, path).toBe(before);
    }
  });

  it('image size, default-box scales and any number of aspect ratios per level (what a trainer picks from a data set)', async () => {
    const ssd = createSsd({ ...tinySsd, imageSize: [48, 80], defaultBoxes: { minRatio: 0.05, maxRatio: 0.6, aspectRatios: [2, 3, 0.5] } });
    expect(ssd.config.defaultBoxes).toMatchObject({ minRatio: 0.05, maxRatio: 0.6, aspectRatios: [[2, 3, 0.5], [2, 3, 0.5], [2, 3, 0.5]] });
    expect(ssd.config.defaultBoxes.scales).toBeUndefined();
    // Feature maps 6 x 10, 3 x 5, 2 x 3 at strides 8, 16, 32; 2 + 2 x 3 boxes per location.
    expect(ssd.priors.shape).toEqual([(60 + 15 + 6) * 8, 4]);
    const half = createSsd({ ...tinySsd, defaultBoxes: { maxRatio: 0.5 } });
    expect(half.config.defaultBoxes).toMatchObject({ minRatio: SSD_MIN_RATIO, maxRatio: 0.5 });
    expect(createSsd({ ...tinySsd, defaultBoxes: { minRatio: 0.2 } }).config.defaultBoxes).toMatchObject({ minRatio: 0.2, maxRatio: SSD_MAX_RATIO });
    const frcnn = createFasterRcnn({ ...tinyFrcnn, imageSize: [48, 80], anchors: { sizes: [8, 16, 32, 64], aspectRatios: [0.25, 0.5, 1, 2, 4] } });
    expect(frcnn.anchors.shape).toEqual([6 * 10 * 20, 4]);
    const images = tf.zeros([1, 48, 80, 3]) as tf.Tensor4D;
    const targets = [{ boxes: Float32Array.from([4, 4, 40, 30]), labels: Int32Array.from([1]) }];
    for (const detector of [ssd, frcnn]) {
      await expectNoLeaks(() => detector.loss(images, targets, { rng: () => 0.5 }));
      expect(detector.detect(images)).toHaveLength(1);
    }
    images.dispose();
    [ssd, half, frcnn].forEach((d) => d.dispose());
  });

  it('describeRecipe prints every set field with its value and torchvision name', () => {
    const frcnn = createFasterRcnn({ ...tinyFrcnn, rpn: { matcher: { highThreshold: 0.65 } } });
    const text = describeRecipe(frcnn.config);
    expect(text.split('\n')[0]).toBe('faster-rcnn recipe (2 classes, 64 x 64):');
    expect(text).toMatch(/^ {2}rpn\.matcher\.highThreshold +0\.65 +rpn_fg_iou_thresh$/m);
    expect(text).toMatch(/^ {2}roiHeads\.sampler\.batchSize +64 +box_batch_size_per_image$/m);
    expect(text).toMatch(/^ {2}anchors\.sizes +\[16, 32, 64\] +AnchorGenerator\(sizes\)$/m);
    // Unset optional fields are left out.
    expect(text).not.toContain('minLowQualityIou');
    const ssd = createSsd(tinySsd);
    expect(describeRecipe(ssd.config)).toMatch(/^ {2}loss\.negPosRatio +3 +SSD\(positive_fraction=0\.25\)/m);
    [frcnn, ssd].forEach((d) => d.dispose());
  });
});
