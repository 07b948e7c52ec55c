// What the "Look inside" view shows, computed by the detkit packages only: anchors and SSD default boxes
// (@detkit/anchors), IoU (@detkit/boxes), the Faster R-CNN and SSD matchers (@detkit/matchers), 1:1
// sampling and 3:1 hard negatives (@detkit/samplers), and the box coder (@detkit/boxes). The page only
// reads the results out of tensors, picks rows and counts labels.
import { FASTER_RCNN_VGG16_ANCHORS, SSD300, anchorsInsideImage, generateAnchors, ssdDefaultBoxes } from '@detkit/anchors';
import { boxIou, decodeBoxes, encodeBoxes } from '@detkit/boxes';
import { tf } from '@detkit/core';
import { boxesToInput, planResize, type ResizePlan } from '@detkit/data';
import { createMaxIouMatcher, createSsdMatcher } from '@detkit/matchers';
import { mineHardNegatives, sampleBalanced } from '@detkit/samplers';
import type { Scene } from './scene';

/** The sliders of the view. Defaults are the papers' (and torchvision's) values. */
export interface InspectSettings {
  /** Faster R-CNN RPN: positive at IoU >= this (0.7). */
  highThreshold: number;
  /** Faster R-CNN RPN: negative below this (0.3). */
  lowThreshold: number;
  /** Anchor aspect ratios, height / width ([0.5, 1, 2]). */
  ratios: number[];
  /** Anchor scales of the 16-pixel base ([8, 16, 32]: 128, 256, 512 px). */
  scales: number[];
  /** Drop anchors that cross the image border (the paper's training rule; torchvision keeps them). */
  insideOnly: boolean;
  /** RPN mini-batch size (256) and its positive fraction (0.5: 1:1). */
  rpnBatchSize: number;
  positiveFraction: number;
  /** SSD matching threshold (0.5). */
  ssdThreshold: number;
  /** SSD hard negatives per positive (3). */
  negPosRatio: number;
  /** Seed of the sampler. */
  seed: number;
}

export const DEFAULT_SETTINGS: Readonly<InspectSettings> = Object.freeze({
  highThreshold: 0.7,
  lowThreshold: 0.3,
  ratios: [0.5, 1, 2],
  scales: [8, 16, 32],
  insideOnly: false,
  rpnBatchSize: 256,
  positiveFraction: 0.5,
  ssdThreshold: 0.5,
  negPosRatio: 3,
  seed: 0,
});

/** Input size of the Faster R-CNN side: the walk-through's 800 x 800 (a 50 x 50 map at stride 16). */
export const FRCNN_SIZE = 800;
export const FRCNN_STRIDE = FASTER_RCNN_VGG16_ANCHORS.stride as number;
/** Input size of the SSD side: SSD300 (8,732 default boxes). */
export const SSD_SIZE = 300;

/** Label values in {@link FrcnnResult.labels}: the matcher's 1 / 0 / -1, and -2 for anchors left out (outside the image). */
export const OUTSIDE = -2;

export interface LabelCounts {
  positive: number;
  negative: number;
  ignored: number;
}

export interface FrcnnResult {
  plan: ResizePlan;
  featureSize: [number, number];
  /** Anchors per location (ratios x scales), ratio-major as generateAnchors orders them. */
  perLocation: number;
  anchors: Float32Array;
  count: number;
  /** Anchors taking part (all, or those inside the image). */
  used: number;
  gt: Float32Array;
  /** IoU [M, count]; 0 for anchors left out. */
  iou: Float32Array;
  /** Per anchor: 1 positive, 0 negative, -1 ignored, -2 left out. */
  labels: Int32Array;
  matches: Int32Array;
  /** Per anchor: 1 where it is positive only through the highest-IoU rule. */
  lowQuality: Uint8Array;
  counts: LabelCounts & { lowQuality: number };
  /** After 1:1 sampling: 1 / 0 for the sampled anchors, -1 elsewhere. */
  sampled: Int32Array;
  sampledCounts: { positive: number; negative: number };
  /** The sampled positives' regression targets (dx, dy, dw, dh) and those decoded back onto their anchors. */
  coded: { anchor: number; gtIndex: number; deltas: Float32Array; decoded: Float32Array }[];
}

export interface SsdResult {
  plan: ResizePlan;
  priors: Float32Array;
  count: number;
  gt: Float32Array;
  labels: Int32Array;
  matches: Int32Array;
  /** Per prior: 1 where the box claimed it in the bipartite step. */
  bipartite: Uint8Array;
  counts: { positive: number; negative: number; bipartite: number };
  /** After 3:1 hard-negative mining: positives keep 1, mined negatives 0, the rest -1. */
  mined: Int32Array;
  minedCounts: { positive: number; negative: number };
}

export interface InspectResult {
  frcnn: FrcnnResult;
  ssd: SsdResult;
  /** Milliseconds spent in the packages (compute only). */
  computeMs: number;
}

/** Runs `fn`, disposing every tensor it made (its result holds plain arrays only). */
function scoped<T>(fn: () => T): T {
  tf.engine().startScope();
  try {
    return fn();
  } finally {
    tf.engine().endScope();
  }
}

const anchorCache = new Map<string, { anchors: Float32Array; count: number }>();
let priorCache: Float32Array | undefined;

function frcnnAnchors(settings: InspectSettings, featureSize: [number, number]): { anchors: Float32Array; count: number } {
  const key = `${settings.ratios.join(',')}|${settings.scales.join(',')}|${featureSize.join('x')}`;
  let hit = anchorCache.get(key);
  if (hit === undefined) {
    const t = generateAnchors({ ...FASTER_RCNN_VGG16_ANCHORS, ratios: settings.ratios, scales: settings.scales, featureSize });
    hit = { anchors: t.dataSync() as Float32Array, count: t.shape[0] };
    t.dispose();
    anchorCache.set(key, hit);
  }
  return hit;
}

function ssdPriors(): Float32Array {
  if (priorCache === undefined) {
    const t = ssdDefaultBoxes(SSD300);
    priorCache = t.dataSync() as Float32Array;
    t.dispose();
  }
  return priorCache;
}

/** The Faster R-CNN side: anchors, IoU, max-IoU matching (with and without the highest-IoU rule), 1:1 sampling, box coding. */
export function inspectFrcnn(scene: Scene, settings: InspectSettings): FrcnnResult {
  const plan = planResize(scene.width, scene.height, [FRCNN_SIZE, FRCNN_SIZE], 'letterbox');
  const gt = boxesToInput(scene.boxes, plan);
  const m = gt.length / 4;
  const featureSize: [number, number] = [Math.ceil(FRCNN_SIZE / FRCNN_STRIDE), Math.ceil(FRCNN_SIZE / FRCNN_STRIDE)];
  const { anchors, count } = frcnnAnchors(settings, featureSize);
  const perLocation = settings.ratios.length * settings.scales.length;
  const options = { highThreshold: settings.highThreshold, lowThreshold: settings.lowThreshold };
  return scoped(() => {
    const all = tf.tensor2d(anchors, [count, 4]);
    const inside = settings.insideOnly ? anchorsInsideImage(all, [FRCNN_SIZE, FRCNN_SIZE]) : null;
    const insideIdx = inside === null ? null : (inside.dataSync() as Int32Array);
    const used = insideIdx === null ? all : tf.gather(all, inside!);
    const gtT = tf.tensor2d(gt, [m, 4]);
    const iouUsed = boxIou(gtT, used);
    const withRule = createMaxIouMatcher({ ...options, allowLowQualityMatches: true })(iouUsed);
    const withoutRule = createMaxIouMatcher({ ...options, allowLowQualityMatches: false })(iouUsed);
    const sample = sampleBalanced(withRule.labels, { batchSize: settings.rpnBatchSize, positiveFraction: settings.positiveFraction, seed: settings.seed });

    const usedLabels = withRule.labels.dataSync() as Int32Array;
    const usedMatches = withRule.matches.dataSync() as Int32Array;
    const usedPlain = withoutRule.labels.dataSync() as Int32Array;
    const usedSampled = sample.labels.dataSync() as Int32Array;
    const usedIou = iouUsed.dataSync() as Float32Array;
    const nUsed = used.shape[0];
    const at = (k: number) => (insideIdx === null ? k : insideIdx[k]!);

    const labels = new Int32Array(count).fill(insideIdx === null ? 0 : OUTSIDE);
    const matches = new Int32Array(count).fill(-1);
    const lowQuality = new Uint8Array(count);
    const sampled = new Int32Array(count).fill(-1);
    const iou = new Float32Array(m * count);
    const counts = { positive: 0, negative: 0, ignored: 0, lowQuality: 0 };
    const sampledCounts = { positive: 0, negative: 0 };
    for (let k = 0; k < nUsed; k++) {
      const i = at(k);
      const l = usedLabels[k]!;
      labels[i] = l;
      matches[i] = usedMatches[k]!;
      sampled[i] = usedSampled[k]!;
      if (l === 1) counts.positive++;
      else if (l === 0) counts.negative++;
      else counts.ignored++;
      if (l === 1 && usedPlain[k] !== 1) {
        lowQuality[i] = 1;
        counts.lowQuality++;
      }
      if (usedSampled[k] === 1) sampledCounts.positive++;
      else if (usedSampled[k] === 0) sampledCounts.negative++;
      for (let g = 0; g < m; g++) iou[g * count + i] = usedIou[g * nUsed + k]!;
    }

    // Regression targets of the sampled positives (encodeBoxes), and decodeBoxes of them back onto the anchors.
    const positives: number[] = [];
    for (let i = 0; i < count; i++) if (sampled[i] === 1) positives.push(i);
    const coded: FrcnnResult['coded'] = [];
    if (positives.length > 0) {
      const idx = tf.tensor1d(positives, 'int32');
      const posAnchors = tf.gather(all, idx);
      const posGt = tf.gather(gtT, tf.tensor1d(positives.map((i) => matches[i]!), 'int32'));
      const deltas = encodeBoxes(posGt, posAnchors);
      const decoded = decodeBoxes(deltas, posAnchors);
      const d = deltas.dataSync() as Float32Array;
      const b = decoded.dataSync() as Float32Array;
      positives.forEach((anchor, j) => coded.push({ anchor, gtIndex: matches[anchor]!, deltas: d.slice(4 * j, 4 * j + 4), decoded: b.slice(4 * j, 4 * j + 4) }));
    }
    return { plan, featureSize, perLocation, anchors, count, used: nUsed, gt, iou, labels, matches, lowQuality, counts, sampled, sampledCounts, coded };
  });
}

/** The SSD side: SSD300 default boxes, bipartite + threshold matching, 3:1 hard negatives. */
export function inspectSsd(scene: Scene, settings: InspectSettings): SsdResult {
  const plan = planResize(scene.width, scene.height, [SSD_SIZE, SSD_SIZE], 'letterbox');
  const gt = boxesToInput(scene.boxes, plan);
  const m = gt.length / 4;
  const priors = ssdPriors();
  const count = priors.length / 4;
  return scoped(() => {
    const iou = boxIou(tf.tensor2d(gt, [m, 4]), tf.tensor2d(priors, [count, 4]));
    const match = createSsdMatcher({ threshold: settings.ssdThreshold })(iou);
    // At threshold 1 only the priors the boxes claim in the bipartite step are positive.
    const claimed = createSsdMatcher({ threshold: 1 })(iou);
    // Hard negatives rank priors by their classification loss; with no detector in this view the
    // stand-in loss is each prior's best IoU with any box (an untrained detector errs most near objects).
    const standIn = m === 0 ? tf.zeros([count]) : tf.max(iou, 0);
    const mined = mineHardNegatives(standIn, match.labels, { negPosRatio: settings.negPosRatio });
    const labels = match.labels.dataSync() as Int32Array;
    const bip = claimed.labels.dataSync() as Int32Array;
    const minedLabels = mined.dataSync() as Int32Array;
    const bipartite = new Uint8Array(count);
    const counts = { positive: 0, negative: 0, bipartite: 0 };
    const minedCounts = { positive: 0, negative: 0 };
    for (let i = 0; i < count; i++) {
      if (labels[i] === 1) counts.positive++;
      else counts.negative++;
      if (bip[i] === 1) {
        bipartite[i] = 1;
        counts.bipartite++;
      }
      if (minedLabels[i]! > 0) minedCounts.positive++;
      else if (minedLabels[i] === 0) minedCounts.negative++;
    }
    return { plan, priors, count, gt, labels, matches: match.matches.dataSync() as Int32Array, bipartite, counts, mined: minedLabels, minedCounts };
  });
}

export function inspect(scene: Scene, settings: InspectSettings): InspectResult {
  const t0 = performance.now();
  const frcnn = inspectFrcnn(scene, settings);
  const ssd = inspectSsd(scene, settings);
  return { frcnn, ssd, computeMs: performance.now() - t0 };
}
