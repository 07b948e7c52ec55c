import { InvalidArgumentError, InvalidValueError, assertNumberInRange } from '@detkit/core';
import { classList, orderByScore, readInputs, type Detections, type GroundTruth, type ImageDt, type ImageGt } from './inputs';

/**
 * How a precision-recall curve is turned into AP:
 * - `'11-point'`: VOC2007's mean of the maximum precision at recall >= t for t = 0, 0.1, ..., 1
 *   (VOCevaldet.m; the thresholds are k * 0.1 as voc_eval.py's `np.arange(0., 1.1, 0.1)` computes
 *   them, so a recall of exactly 0.3, 0.6 or 0.7 does not reach 0.30000000000000004, 0.6000000000000001
 *   or 0.7000000000000001).
 * - `'all-point'`: VOC2010+'s area under the precision envelope (VOCap.m).
 */
export type VocApMethod = '11-point' | 'all-point';

/**
 * AP of one precision-recall curve, as the VOC devkit computes it.
 *
 * `'all-point'` (VOCap.m): mrec = [0, recall, 1], mpre = [0, precision, 0]; mpre[i] = max(mpre[i],
 * mpre[i + 1]) from the right; AP = sum over the points where recall changes of (mrec[i] - mrec[i - 1])
 * * mpre[i]. `'11-point'`: the mean over 11 thresholds t of max(precision[recall >= t]) (0 when none).
 *
 * @param recall - Cumulative recall per detection in score order (non-decreasing), each in [0, 1].
 * @param precision - Cumulative precision, same length, each in [0, 1].
 * @returns AP in [0, 1].
 * @throws InvalidArgumentError when an argument is not an array or the lengths differ; InvalidValueError
 *   naming the argument and index for a value that is not a number in [0, 1] (NaN included).
 */
export function vocAp(recall: ArrayLike<number>, precision: ArrayLike<number>, method: VocApMethod = 'all-point'): number {
  unitValues('recall', recall);
  unitValues('precision', precision);
  if (recall.length !== precision.length) throw new InvalidArgumentError('vocAp', 'precision', `must have the length of recall (${recall.length}), got ${precision.length}`);
  const n = recall.length;
  if (method === '11-point') {
    let ap = 0;
    for (let k = 0; k <= 10; k++) {
      const t = k * 0.1;
      let p = 0;
      for (let i = 0; i < n; i++) if ((recall[i] as number) >= t && (precision[i] as number) > p) p = precision[i] as number;
      ap += p / 11;
    }
    return ap;
  }
  if (method !== 'all-point') throw new InvalidArgumentError('vocAp', 'method', `must be '11-point' or 'all-point', got ${JSON.stringify(method)}`);
  const mrec = [0, ...Array.from(recall), 1];
  const mpre = [0, ...Array.from(precision), 0];
  for (let i = mpre.length - 2; i >= 0; i--) mpre[i] = Math.max(mpre[i] as number, mpre[i + 1] as number);
  let ap = 0;
  for (let i = 1; i < mrec.length; i++) {
    if (mrec[i] !== mrec[i - 1]) ap += ((mrec[i] as number) - (mrec[i - 1] as number)) * (mpre[i] as number);
  }
  return ap;
}

/** Checks one of vocAp's curves: an array-like of numbers in [0, 1]. */
function unitValues(argument: string, x: ArrayLike<number>): void {
  if (x === null || typeof x !== 'object' || typeof x.length !== 'number') {
    throw new InvalidArgumentError('vocAp', argument, `must be an array of numbers in [0, 1], got ${String(x)}`);
  }
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new InvalidValueError('vocAp', argument, `has ${String(v)}, not a number in [0, 1]`, i);
  }
}

/** Options of {@link evaluateVoc}. */
export interface VocEvalOptions {
  /** IoU a detection needs to match (devkit `minoverlap`, compared with >=). Default 0.5. */
  iouThreshold?: number;
  /** Default `'all-point'` (VOC2010+); `'11-point'` for VOC2007 numbers. */
  method?: VocApMethod;
  /** Class ids to evaluate. Default: the sorted union of all labels. */
  classes?: readonly number[];
  /** Display name of class id c: `classNames[c]`. */
  classNames?: readonly string[];
}

/** One class of a VOC evaluation, with its precision-recall curve. */
export interface VocClassResult {
  classId: number;
  name: string;
  /** AP; -1 when the class has no non-difficult ground truth (not counted in mAP). */
  ap: number;
  /** Non-difficult ground-truth objects (the devkit's `npos`). */
  numPositives: number;
  numDetections: number;
  truePositives: number;
  falsePositives: number;
  /** Float64Array[D]: cumulative precision after each detection in score order (tp / max(tp + fp, eps)). */
  precision: Float64Array;
  /** Float64Array[D]: cumulative recall (tp / npos); empty when npos is 0. */
  recall: Float64Array;
  /** Float64Array[D]: the detections' scores in that order. */
  scores: Float64Array;
}

/** The result of {@link evaluateVoc}. */
export interface VocResult {
  /** Mean AP over the classes with positives; -1 when there are none. */
  map: number;
  perClass: VocClassResult[];
  iouThreshold: number;
  method: VocApMethod;
}

/**
 * Pascal VOC detection AP per class and mAP, as the VOC devkit's VOCevaldet.m computes it:
 *
 * - per class, all detections of all images sorted by descending confidence (stable, as MATLAB's sort);
 * - each detection is compared with every ground truth of its class in its image (difficult ones
 *   included) and takes the one of largest IoU (the first on ties; boxes that do not overlap are
 *   skipped); if that IoU >= `iouThreshold`: a difficult object makes the detection neither TP nor
 *   FP, an object not yet detected makes it a TP (and detected), an object already detected makes it
 *   a FP (duplicate); otherwise it is a FP;
 * - recall = cumulative TP / npos (npos = non-difficult objects), precision = TP / (TP + FP), AP by
 *   {@link vocAp}.
 *
 * IoU uses continuous coordinates (no `+1`): for VOC boxes read by `@detkit/data` (`[xmin - 1, ymin - 1,
 * xmax, ymax]`) it equals the devkit's `+1` IoU on the raw annotation values. voc_eval.py (py-faster-rcnn,
 * detectron2) uses IoU > threshold where the devkit uses >=; they differ only at IoU exactly 0.5.
 * `iscrowd` is not used. Boxes are xyxy absolute pixels.
 */
export function evaluateVoc(groundTruth: readonly GroundTruth[], detections: readonly Detections[], options: VocEvalOptions = {}): VocResult {
  const op = 'evaluateVoc';
  const { gts, dts } = readInputs(op, groundTruth, detections);
  const iouThreshold = options.iouThreshold ?? 0.5;
  assertNumberInRange(op, 'iouThreshold', iouThreshold, 0, 1);
  const method = options.method ?? 'all-point';
  if (method !== '11-point' && method !== 'all-point') throw new InvalidArgumentError(op, 'method', `must be '11-point' or 'all-point', got ${JSON.stringify(method)}`);
  const classIds = classList(op, options.classes, gts, dts);
  const perClass = classIds.map((c) => evaluateClass(c, gts, dts, iouThreshold, method, options.classNames?.[c] ?? String(c)));
  const valid = perClass.filter((r) => r.numPositives > 0);
  const map = valid.length ? valid.reduce((s, r) => s + r.ap, 0) / valid.length : -1;
  return { map, perClass, iouThreshold, method };
}

function evaluateClass(c: number, gts: ImageGt[], dts: ImageDt[], thr: number, method: VocApMethod, name: string): VocClassResult {
  // Ground truth of the class per image, and npos.
  let npos = 0;
  const gtOf = gts.map((g) => {
    const idx: number[] = [];
    g.labels.forEach((l, j) => {
      if (l !== c) return;
      idx.push(j);
      if (!g.difficult[j]) npos++;
    });
    return { idx, detected: new Uint8Array(idx.length) };
  });
  // All detections of the class, image by image, then sorted by confidence.
  const img: number[] = [], det: number[] = [], conf: number[] = [];
  dts.forEach((d, i) =>
    d.labels.forEach((l, j) => {
      if (l !== c) return;
      img.push(i);
      det.push(j);
      conf.push(d.scores[j] as number);
    }),
  );
  const order = orderByScore(conf);
  const nd = order.length;
  const precision = new Float64Array(nd), recall = new Float64Array(npos > 0 ? nd : 0), scores = new Float64Array(nd);
  let tp = 0, fp = 0;
  order.forEach((s, rank) => {
    const i = img[s] as number;
    const g = gts[i] as ImageGt, gt = gtOf[i] as { idx: number[]; detected: Uint8Array };
    const b = (dts[i] as ImageDt).boxes, p = 4 * (det[s] as number);
    const bx1 = b[p] as number, by1 = b[p + 1] as number, bx2 = b[p + 2] as number, by2 = b[p + 3] as number;
    let ovmax = -Infinity, jmax = -1;
    gt.idx.forEach((j, k) => {
      const q = 4 * j;
      const gx1 = g.boxes[q] as number, gy1 = g.boxes[q + 1] as number, gx2 = g.boxes[q + 2] as number, gy2 = g.boxes[q + 3] as number;
      const iw = Math.min(bx2, gx2) - Math.max(bx1, gx1);
      const ih = Math.min(by2, gy2) - Math.max(by1, gy1);
      if (!(iw > 0 && ih > 0)) return;
      const ua = (bx2 - bx1) * (by2 - by1) + (gx2 - gx1) * (gy2 - gy1) - iw * ih;
      const ov = (iw * ih) / ua;
      if (ov > ovmax) {
        ovmax = ov;
        jmax = k;
      }
    });
    if (ovmax >= thr) {
      if (!g.difficult[gt.idx[jmax] as number]) {
        if (!gt.detected[jmax]) {
          tp++;
          gt.detected[jmax] = 1;
        } else fp++;
      }
    } else fp++;
    precision[rank] = tp / Math.max(tp + fp, Number.EPSILON);
    if (npos > 0) recall[rank] = tp / npos;
    scores[rank] = conf[s] as number;
  });
  return {
    classId: c,
    name,
    ap: npos > 0 ? vocAp(recall, precision, method) : -1,
    numPositives: npos,
    numDetections: nd,
    truePositives: tp,
    falsePositives: fp,
    precision,
    recall,
    scores,
  };
}

/** The raw (cumulative, not interpolated) precision-recall curve of one VOC class. */
export function vocCurve(result: VocClassResult): { label: string; recall: number[]; precision: number[] } {
  return { label: result.name, recall: Array.from(result.recall), precision: Array.from(result.precision) };
}
