import { InvalidArgumentError } from '@detkit/core';
import { classList, orderByScore, readInputs, type Detections, type GroundTruth, type ImageDt, type ImageGt } from './inputs';

/**
 * COCO's IoU thresholds .50:.05:.95, computed as pycocotools' `np.linspace(.5, 0.95, 10)` does
 * (i * step + 0.5, the last one exactly 0.95), so they compare equal to pycocotools' bit for bit.
 */
export const COCO_IOU_THRESHOLDS: readonly number[] = Array.from({ length: 10 }, (_, i) => (i === 9 ? 0.95 : i * ((0.95 - 0.5) / 9) + 0.5));

/** COCO's 101 recall thresholds 0:.01:1 (`np.linspace(0, 1, 101)`: i * 0.01, the last exactly 1). */
export const COCO_RECALL_THRESHOLDS: readonly number[] = Array.from({ length: 101 }, (_, i) => (i === 100 ? 1 : i * 0.01));

/** COCO's area ranges (inclusive at both ends, in pixels²): all, small < 32², medium 32²..96², large > 96². */
export const COCO_AREA_RANGES = {
  all: [0, 1e10],
  small: [0, 32 * 32],
  medium: [32 * 32, 96 * 96],
  large: [96 * 96, 1e10],
} as const satisfies Record<string, readonly [number, number]>;

/** Names of {@link COCO_AREA_RANGES}, in pycocotools' order. */
export type CocoArea = keyof typeof COCO_AREA_RANGES;
const AREAS: readonly CocoArea[] = ['all', 'small', 'medium', 'large'];

/** The 12 numbers of pycocotools' `COCOeval.summarize()` (`stats[0..11]`); -1 where undefined (no ground truth). */
export interface CocoStats {
  /** AP @[IoU=.50:.95 | area=all | maxDets=100]: the COCO metric. */
  ap: number;
  /** AP @[IoU=.50 | area=all | maxDets=100]. */
  ap50: number;
  /** AP @[IoU=.75 | area=all | maxDets=100]. */
  ap75: number;
  /** AP @[IoU=.50:.95 | area=small | maxDets=100]. */
  apSmall: number;
  apMedium: number;
  apLarge: number;
  /** AR @[IoU=.50:.95 | area=all | maxDets=1]. */
  ar1: number;
  /** AR @[... maxDets=10]. */
  ar10: number;
  /** AR @[... maxDets=100]. */
  ar100: number;
  /** AR @[IoU=.50:.95 | area=small | maxDets=100]. */
  arSmall: number;
  arMedium: number;
  arLarge: number;
}

/** Per-class numbers (detectron2's per-category AP: the mean of that class's precision slice). */
export interface CocoClassResult {
  classId: number;
  name: string;
  /** AP @[.50:.95, all, maxDets=100]; -1 when the class has no non-crowd ground truth. */
  ap: number;
  ap50: number;
  ap75: number;
  /** AR @[.50:.95, all, maxDets=100]. */
  ar100: number;
  /** Non-crowd ground-truth objects. */
  numGroundTruth: number;
  /** Detections of this class (before the maxDets cut). */
  numDetections: number;
}

/** A precision-recall curve: `precision[i]` at `recall[i]`. */
export interface PrCurve {
  label: string;
  recall: number[];
  precision: number[];
}

/** Options of {@link evaluateCoco}. */
export interface CocoEvalOptions {
  /** Class ids to evaluate (pycocotools' `catIds`). Default: the sorted union of all labels. Detections of other classes are ignored. */
  classes?: readonly number[];
  /** Display name of class id c: `classNames[c]`. Default the id as text. */
  classNames?: readonly string[];
  /** The three detection limits of AR@1/10/100 (pycocotools' `maxDets`), ascending. Default [1, 10, 100]. */
  maxDets?: readonly [number, number, number];
  /** IoU thresholds, default {@link COCO_IOU_THRESHOLDS}. AP50 / AP75 are -1 if 0.5 / 0.75 are not among them. */
  iouThresholds?: readonly number[];
}

/** The result of {@link evaluateCoco}: pycocotools' `stats` and `eval` arrays, per-class numbers, curves. */
export interface CocoResult {
  stats: CocoStats;
  /** `stats` in pycocotools' order (`COCOeval.stats`). */
  statsArray: number[];
  perClass: CocoClassResult[];
  /** Evaluated class ids (K), ascending. */
  classIds: number[];
  iouThresholds: readonly number[];
  recallThresholds: readonly number[];
  maxDets: readonly number[];
  /** Dimensions [T, R, K, A, M] of `precision` (T thresholds, R recall points, K classes, A areas, M maxDets). */
  counts: [number, number, number, number, number];
  /** Float64Array[T * R * K * A * M], C order, interpolated precision; -1 where a class has no ground truth (pycocotools' `eval['precision']`). */
  precision: Float64Array;
  /** Float64Array[T * K * A * M], recall; -1 likewise (`eval['recall']`). */
  recall: Float64Array;
  /** Float64Array[T * R * K * A * M], the score at each precision point (`eval['scores']`). */
  scores: Float64Array;
  /** The interpolated 101-point precision-recall curve of one class (the curve COCO AP averages). */
  curve(classId: number, options?: { iouThreshold?: number; area?: CocoArea; maxDets?: number }): PrCurve;
}

/** pycocotools' bbIou (maskApi.c) on xyxy boxes: IoU, or intersection over the detection's area for crowd ground truth. */
function iouMatrix(dt: Float64Array, di: readonly number[], gt: Float64Array, gi: readonly number[], crowd: Uint8Array): Float64Array {
  const D = di.length, G = gi.length;
  const out = new Float64Array(D * G);
  for (let g = 0; g < G; g++) {
    const o = 4 * (gi[g] as number);
    // pycocotools works on [x, y, w, h]; x + w reproduces x2 exactly for boxes given as xyxy.
    const gx = gt[o] as number, gy = gt[o + 1] as number, gw = (gt[o + 2] as number) - gx, gh = (gt[o + 3] as number) - gy;
    const ga = gw * gh;
    const isCrowd = crowd[gi[g] as number] === 1;
    for (let d = 0; d < D; d++) {
      const p = 4 * (di[d] as number);
      const dx = dt[p] as number, dy = dt[p + 1] as number, dw = (dt[p + 2] as number) - dx, dh = (dt[p + 3] as number) - dy;
      const da = dw * dh;
      const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
      if (w <= 0) continue;
      const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
      if (h <= 0) continue;
      const i = w * h;
      out[d * G + g] = i / (isCrowd ? da : da + ga - i);
    }
  }
  return out;
}

/** One (image, class, area range) of pycocotools' `evaluateImg`. */
interface EvalImg {
  /** Scores of the detections kept (score order, at most maxDets[-1]). */
  dtScores: Float64Array;
  /** [T * D]: 1 where the detection matched a ground truth at threshold t. */
  dtMatched: Uint8Array;
  /** [T * D]: 1 where the detection is ignored at threshold t. */
  dtIgnore: Uint8Array;
  /** [G]: 1 for ignored ground truth (crowd or outside the area range). */
  gtIgnore: Uint8Array;
}

/** The (image, class) data shared by the area ranges: sorted detections and their IoUs. */
interface Cell {
  gt: number[]; // gt indices of the class, in input order
  dt: number[]; // dt indices of the class, by descending score, at most maxDets[-1]
  ious: Float64Array; // [dt.length * gt.length]
}

function evaluateImg(cell: Cell, g: ImageGt, d: ImageDt, range: readonly [number, number], thresholds: readonly number[]): EvalImg {
  const [lo, hi] = range;
  const G = cell.gt.length, D = cell.dt.length, T = thresholds.length;
  const ignoreRaw = cell.gt.map((j) => (g.iscrowd[j] || (g.area[j] as number) < lo || (g.area[j] as number) > hi ? 1 : 0));
  // Ground truth sorted with ignored ones last (stable, as np.argsort(kind='mergesort')).
  const gtOrder = Array.from({ length: G }, (_, k) => k).sort((a, b) => (ignoreRaw[a] as number) - (ignoreRaw[b] as number));
  const gtIgnore = Uint8Array.from(gtOrder, (k) => ignoreRaw[k] as number);
  const crowd = Uint8Array.from(gtOrder, (k) => g.iscrowd[cell.gt[k] as number] as number);
  const dtMatched = new Uint8Array(T * D);
  const dtIgnore = new Uint8Array(T * D);
  if (G > 0 && D > 0) {
    const gtMatched = new Uint8Array(T * G);
    for (let t = 0; t < T; t++) {
      for (let di = 0; di < D; di++) {
        // Best match so far; m = -1: none.
        let iou = Math.min(thresholds[t] as number, 1 - 1e-10);
        let m = -1;
        for (let gi = 0; gi < G; gi++) {
          // A ground truth already matched is taken, unless it is a crowd region.
          if (gtMatched[t * G + gi] && !crowd[gi]) continue;
          // Matched to a regular ground truth and reaching the ignored ones: stop.
          if (m > -1 && gtIgnore[m] === 0 && gtIgnore[gi] === 1) break;
          const v = cell.ious[di * G + (gtOrder[gi] as number)] as number;
          if (v < iou) continue;
          iou = v;
          m = gi;
        }
        if (m === -1) continue;
        dtIgnore[t * D + di] = gtIgnore[m] as number;
        dtMatched[t * D + di] = 1;
        gtMatched[t * G + m] = 1;
      }
    }
  }
  // Unmatched detections outside the area range are ignored (detection area: its box's w * h).
  for (let di = 0; di < D; di++) {
    const p = 4 * (cell.dt[di] as number);
    const a = ((d.boxes[p + 2] as number) - (d.boxes[p] as number)) * ((d.boxes[p + 3] as number) - (d.boxes[p + 1] as number));
    if (!(a < lo || a > hi)) continue;
    for (let t = 0; t < T; t++) if (!dtMatched[t * D + di]) dtIgnore[t * D + di] = 1;
  }
  return { dtScores: Float64Array.from(cell.dt, (j) => d.scores[j] as number), dtMatched, dtIgnore, gtIgnore };
}

/** Mean of the entries > -1 (pycocotools' `np.mean(s[s > -1])`), or -1 when there are none. */
function meanValid(values: Iterable<number>): number {
  let sum = 0, n = 0;
  for (const v of values) {
    if (v > -1) {
      sum += v;
      n++;
    }
  }
  return n === 0 ? -1 : sum / n;
}

/**
 * COCO detection metrics, following pycocotools' `COCOeval` (iouType 'bbox') step for step:
 *
 * - `evaluate`: per image and class, detections sorted by score (stable) and cut to maxDets[-1]; IoU as
 *   `maskApi.c` `bbIou` (for crowd ground truth: intersection over the detection's area); per IoU
 *   threshold t, each detection in score order greedily takes the best-IoU ground truth with IoU >= t
 *   (min(t, 1 - 1e-10)) that is not yet matched (crowd regions can be matched many times), preferring
 *   regular over ignored ground truth; ground truth is ignored when crowd or outside the area range,
 *   detections matched to ignored ground truth are ignored, and unmatched detections outside the area
 *   range are ignored.
 * - `accumulate`: per class, area range and maxDets, the detections of all images in score order
 *   (stable), cumulative TP / FP, precision made monotone from the right, sampled at the 101 recall
 *   thresholds (first index with recall >= r, 0 past the end); recall is the final recall.
 * - `summarize`: means of the valid (> -1) entries of the slices of the 12 standard numbers.
 *
 * Inputs: one {@link GroundTruth} and one {@link Detections} per image (same order), boxes xyxy in
 * absolute pixels (pycocotools' `[x, y, w, h]` is `[x1, y1, x2 - x1, y2 - y1]`). Ground-truth `area`
 * defaults to the box area; a detection's area is its box area, as pycocotools' `loadRes`. `difficult`
 * is not used (COCO has no such flag). Images without ground truth or detections are normal.
 * Deliberate difference: pycocotools' category list comes from the annotation file; here it is
 * `options.classes` or every label seen, and a class with no ground truth gets -1 as in pycocotools.
 *
 * @throws InvalidArgumentError / ShapeError / InvalidValueError (from `@detkit/core`) naming the image
 *   and field of malformed input (`detections[3].boxes`).
 */
export function evaluateCoco(groundTruth: readonly GroundTruth[], detections: readonly Detections[], options: CocoEvalOptions = {}): CocoResult {
  const op = 'evaluateCoco';
  const { gts, dts } = readInputs(op, groundTruth, detections);
  const classIds = classList(op, options.classes, gts, dts);
  const maxDets = options.maxDets ?? [1, 10, 100];
  if (!Array.isArray(maxDets) || maxDets.length !== 3 || !maxDets.every((m, i) => Number.isInteger(m) && m > 0 && (i === 0 || m >= (maxDets[i - 1] as number)))) {
    throw new InvalidArgumentError(op, 'maxDets', `must be three ascending positive integers, got ${JSON.stringify(maxDets)}`);
  }
  const thresholds = options.iouThresholds ?? COCO_IOU_THRESHOLDS;
  if (!Array.isArray(thresholds) || thresholds.length === 0 || !thresholds.every((t) => typeof t === 'number' && t >= 0 && t <= 1)) {
    throw new InvalidArgumentError(op, 'iouThresholds', 'must be a non-empty array of numbers in [0, 1]');
  }
  const names = options.classNames;
  const nameOf = (c: number) => names?.[c] ?? String(c);
  const maxDet = maxDets[2] as number;
  const I = gts.length, K = classIds.length, A = AREAS.length, M = 3, T = thresholds.length, R = COCO_RECALL_THRESHOLDS.length;
  const classIndex = new Map(classIds.map((c, k) => [c, k]));

  // (image, class) cells.
  const cells: (Cell | null)[] = new Array(K * I).fill(null);
  for (let i = 0; i < I; i++) {
    const g = gts[i] as ImageGt, d = dts[i] as ImageDt;
    const gtBy: number[][] = Array.from({ length: K }, () => []);
    const dtBy: number[][] = Array.from({ length: K }, () => []);
    g.labels.forEach((l, j) => classIndex.has(l) && gtBy[classIndex.get(l) as number]!.push(j));
    d.labels.forEach((l, j) => classIndex.has(l) && dtBy[classIndex.get(l) as number]!.push(j));
    for (let k = 0; k < K; k++) {
      const gt = gtBy[k] as number[];
      if (gt.length === 0 && (dtBy[k] as number[]).length === 0) continue;
      const dt = orderByScore(d.scores, dtBy[k]).slice(0, maxDet);
      cells[k * I + i] = { gt, dt, ious: iouMatrix(d.boxes, dt, g.boxes, gt, g.iscrowd) };
    }
  }

  // evaluate + accumulate, one (class, area) at a time.
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const scores = new Float64Array(T * R * K * A * M).fill(-1);
  const pIndex = (t: number, r: number, k: number, a: number, m: number) => (((t * R + r) * K + k) * A + a) * M + m;
  const rIndex = (t: number, k: number, a: number, m: number) => ((t * K + k) * A + a) * M + m;
  for (let k = 0; k < K; k++) {
    for (let a = 0; a < A; a++) {
      const range = COCO_AREA_RANGES[AREAS[a] as CocoArea];
      const E: EvalImg[] = [];
      for (let i = 0; i < I; i++) {
        const cell = cells[k * I + i];
        if (cell) E.push(evaluateImg(cell, gts[i] as ImageGt, dts[i] as ImageDt, range, thresholds));
      }
      if (E.length === 0) continue;
      let npig = 0;
      for (const e of E) for (const v of e.gtIgnore) if (v === 0) npig++;
      if (npig === 0) continue;
      for (let m = 0; m < M; m++) {
        const md = maxDets[m] as number;
        // Detections of all images (each cut to md), then a stable sort by score.
        const sc: number[] = [], refs: [EvalImg, number][] = [];
        for (const e of E) {
          const n = Math.min(md, e.dtScores.length);
          for (let j = 0; j < n; j++) {
            sc.push(e.dtScores[j] as number);
            refs.push([e, j]);
          }
        }
        const order = orderByScore(sc);
        const nd = order.length;
        for (let t = 0; t < T; t++) {
          const rc = new Float64Array(nd), pr = new Array<number>(nd);
          let tp = 0, fp = 0;
          for (let s = 0; s < nd; s++) {
            const [e, j] = refs[order[s] as number] as [EvalImg, number];
            const D = e.dtScores.length;
            const matched = e.dtMatched[t * D + j], ignored = e.dtIgnore[t * D + j];
            if (matched && !ignored) tp++;
            else if (!matched && !ignored) fp++;
            rc[s] = tp / npig;
            pr[s] = tp / (fp + tp + Number.EPSILON); // np.spacing(1)
          }
          recall[rIndex(t, k, a, m)] = nd ? (rc[nd - 1] as number) : 0;
          for (let s = nd - 1; s > 0; s--) if ((pr[s] as number) > (pr[s - 1] as number)) pr[s - 1] = pr[s] as number;
          // np.searchsorted(rc, recThrs, side='left'): first index with rc >= r.
          let s = 0;
          for (let r = 0; r < R; r++) {
            const thr = COCO_RECALL_THRESHOLDS[r] as number;
            while (s < nd && (rc[s] as number) < thr) s++;
            if (s >= nd) {
              // Past the end: pycocotools leaves q = 0 here and for every later threshold.
              for (let r2 = r; r2 < R; r2++) {
                precision[pIndex(t, r2, k, a, m)] = 0;
                scores[pIndex(t, r2, k, a, m)] = 0;
              }
              break;
            }
            precision[pIndex(t, r, k, a, m)] = pr[s] as number;
            scores[pIndex(t, r, k, a, m)] = sc[order[s] as number] as number;
          }
        }
      }
    }
  }

  // summarize.
  const tIndex = (thr: number) => thresholds.findIndex((t) => t === thr);
  function* precisionSlice(ts: number[], ks: number[], a: number, m: number) {
    for (const t of ts) for (let r = 0; r < R; r++) for (const k of ks) yield precision[pIndex(t, r, k, a, m)] as number;
  }
  function* recallSlice(ts: number[], ks: number[], a: number, m: number) {
    for (const t of ts) for (const k of ks) yield recall[rIndex(t, k, a, m)] as number;
  }
  const allT = thresholds.map((_, t) => t);
  const at = (thr: number) => (tIndex(thr) >= 0 ? [tIndex(thr)] : []);
  const allK = classIds.map((_, k) => k);
  const apOf = (ts: number[], ks: number[], a: number, m = 2) => meanValid(precisionSlice(ts, ks, a, m));
  const arOf = (ks: number[], a: number, m: number) => meanValid(recallSlice(allT, ks, a, m));
  const statsArray = [
    apOf(allT, allK, 0),
    apOf(at(0.5), allK, 0),
    apOf(at(0.75), allK, 0),
    apOf(allT, allK, 1),
    apOf(allT, allK, 2),
    apOf(allT, allK, 3),
    arOf(allK, 0, 0),
    arOf(allK, 0, 1),
    arOf(allK, 0, 2),
    arOf(allK, 1, 2),
    arOf(allK, 2, 2),
    arOf(allK, 3, 2),
  ];
  const [ap, ap50, ap75, apSmall, apMedium, apLarge, ar1, ar10, ar100, arSmall, arMedium, arLarge] = statsArray as [number, number, number, number, number, number, number, number, number, number, number, number];
  const perClass = classIds.map((c, k) => {
    let numGroundTruth = 0, numDetections = 0;
    for (let i = 0; i < I; i++) {
      const g = gts[i] as ImageGt;
      g.labels.forEach((l, j) => l === c && !g.iscrowd[j] && numGroundTruth++);
      (dts[i] as ImageDt).labels.forEach((l) => l === c && numDetections++);
    }
    return { classId: c, name: nameOf(c), ap: apOf(allT, [k], 0), ap50: apOf(at(0.5), [k], 0), ap75: apOf(at(0.75), [k], 0), ar100: arOf([k], 0, 2), numGroundTruth, numDetections };
  });
  return {
    stats: { ap, ap50, ap75, apSmall, apMedium, apLarge, ar1, ar10, ar100, arSmall, arMedium, arLarge },
    statsArray,
    perClass,
    classIds,
    iouThresholds: thresholds,
    recallThresholds: COCO_RECALL_THRESHOLDS,
    maxDets,
    counts: [T, R, K, A, M],
    precision,
    recall,
    scores,
    curve(classId, o = {}) {
      const k = classIndex.get(classId);
      if (k === undefined) throw new InvalidArgumentError('CocoResult.curve', 'classId', `${classId} was not evaluated (classes: ${classIds.join(', ')})`);
      const t = tIndex(o.iouThreshold ?? 0.5);
      if (t < 0) throw new InvalidArgumentError('CocoResult.curve', 'iouThreshold', `${o.iouThreshold} is not one of the evaluated thresholds`);
      const a = AREAS.indexOf(o.area ?? 'all');
      if (a < 0) throw new InvalidArgumentError('CocoResult.curve', 'area', `must be one of ${AREAS.join(', ')}, got ${String(o.area)}`);
      const m = maxDets.indexOf(o.maxDets ?? maxDet);
      if (m < 0) throw new InvalidArgumentError('CocoResult.curve', 'maxDets', `must be one of ${maxDets.join(', ')}, got ${String(o.maxDets)}`);
      return {
        label: nameOf(classId),
        recall: [...COCO_RECALL_THRESHOLDS],
        precision: COCO_RECALL_THRESHOLDS.map((_, r) => precision[pIndex(t, r, k, a, m)] as number),
      };
    },
  };
}
