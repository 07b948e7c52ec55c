import { tf } from '@detkit/core';
import { IMAGENET_NORMALIZATION, boxesToOriginal, type DetectionSample, type Loader } from '@detkit/data';
import { evaluateCoco, evaluateVoc, formatApTable, type CocoStats, type Detections, type GroundTruth } from '@detkit/eval';
import type { DetectionResult, Detector } from '@detkit/models';

/** A validation image kept for drawing: its pixels (input size, RGB bytes), ground truth and detections, in input pixels. */
export interface DrawnImage {
  id: number | string;
  rgb: Uint8Array;
  width: number;
  height: number;
  groundTruth: { boxes: Float32Array; labels: Int32Array };
  detections: DetectionResult;
}

/** The COCO summary numbers the trainer records, in the order it writes and prints them. */
const COCO_SUMMARY_KEYS = ['ap', 'ap50', 'ap75', 'apSmall', 'apMedium', 'apLarge', 'ar100'] as const;

/** The COCO summary numbers the trainer records: seven of @detkit/eval's {@link CocoStats} (pycocotools' `stats`, by name; -1 where undefined). */
export type CocoSummary = Pick<CocoStats, (typeof COCO_SUMMARY_KEYS)[number]>;

/** One detection in a COCO results file (`loadRes` of pycocotools): bbox is [x, y, w, h] in original pixels. */
export interface CocoResultRecord {
  image_id: number | string;
  category_id: number;
  bbox: [number, number, number, number];
  score: number;
}

/** The result of {@link evaluateDetector}. */
export interface Evaluation {
  /** VOC mAP at IoU 0.5 (all-point AP, VOC2010+; difficult objects ignored). */
  map: number;
  /** VOC AP per class name. */
  perClass: Record<string, number>;
  /** COCO AP, AP50, AP75, AP small / medium / large, AR@100 (pycocotools' algorithm, @detkit/eval). */
  coco: CocoSummary;
  /** COCO AP per class name. */
  cocoPerClass: Record<string, number>;
  /** The per-class table (VOC AP@0.5 and COCO AP / AP50), ready to print. */
  table: string;
  /** The first `keep` images, for drawing. */
  images: DrawnImage[];
  /** The detections in original image pixels with the data set's category ids, as a COCO results file. */
  results: CocoResultRecord[];
}

/** Normalised pixels back to RGB bytes (the loader's ImageNet normalisation undone). */
export function toRgbBytes(values: Float32Array | Int32Array | Uint8Array, count: number): Uint8Array {
  const { mean, std } = IMAGENET_NORMALIZATION;
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const c = i % 3;
    out[i] = Math.max(0, Math.min(255, Math.round(((values[i] as number) * std[c]! + mean[c]!) * 255)));
  }
  return out;
}

/** Options of {@link evaluateDetector}. */
export interface EvaluateOptions {
  /** Class names, label order. */
  classes: readonly string[];
  /** The data set's category id of each label (COCO); default label + 1. */
  categoryIds?: readonly number[] | null;
  /** Validation images kept for drawing. Default 0. */
  keep?: number;
}

/**
 * Runs the detector over a validation loader (no shuffling, no augmentation), maps the detections back to each
 * image's original pixels, and scores them against the samples' own annotations (crowd regions and areas
 * included): VOC mAP@0.5 (all-point) and the COCO metrics, both with @detkit/eval.
 */
export async function evaluateDetector(detector: Detector, loader: Loader, samples: ReadonlyMap<number | string, DetectionSample>, options: EvaluateOptions): Promise<Evaluation> {
  const { classes, keep = 0 } = options;
  const categoryIds = options.categoryIds ?? classes.map((_, i) => i + 1);
  const groundTruth: GroundTruth[] = [];
  const detections: Detections[] = [];
  const images: DrawnImage[] = [];
  const results: CocoResultRecord[] = [];
  for await (const batch of loader.epoch(0)) {
    try {
      const found = detector.detect(batch.images);
      const [, h, w] = batch.images.shape;
      found.forEach((d, i) => {
        const meta = batch.meta[i]!;
        const sample = samples.get(meta.id);
        if (sample === undefined) throw new Error(`evaluateDetector: no sample with id ${String(meta.id)}`);
        const boxes = boxesToOriginal(d.boxes, meta);
        groundTruth.push({ boxes: sample.boxes, labels: sample.labels, difficult: sample.difficult, iscrowd: sample.iscrowd, ...(sample.area ? { area: sample.area } : {}) });
        detections.push({ boxes, scores: d.scores, labels: d.labels });
        for (let k = 0; k < d.scores.length; k++) {
          const x1 = boxes[4 * k] as number, y1 = boxes[4 * k + 1] as number;
          results.push({
            image_id: sample.id,
            category_id: categoryIds[d.labels[k] as number] as number,
            bbox: [round2(x1), round2(y1), round2((boxes[4 * k + 2] as number) - x1), round2((boxes[4 * k + 3] as number) - y1)],
            score: Math.round((d.scores[k] as number) * 1e5) / 1e5,
          });
        }
        if (images.length < keep) {
          const t = batch.targets[i]!;
          const pixels = tf.tidy(() => tf.slice(batch.images, [i, 0, 0, 0], [1, h, w, 3]).dataSync() as Float32Array);
          images.push({ id: meta.id, rgb: toRgbBytes(pixels, h * w * 3), width: w, height: h, groundTruth: { boxes: t.boxes, labels: t.labels }, detections: d });
        }
      });
    } finally {
      batch.dispose();
    }
  }
  return { ...scoreDetections(groundTruth, detections, classes), images, results };
}

/** The scores of {@link scoreDetections}: {@link Evaluation} without the drawn images and the results file. */
export type Scores = Omit<Evaluation, 'images' | 'results'>;

/**
 * Scores detections against ground truth, image by image (`detections[i]` belongs to `groundTruth[i]`),
 * boxes xyxy in the images' own pixels and labels 0-based into `classes`: VOC mAP@0.5 (all-point, VOC2010+,
 * difficult objects ignored) and the COCO metrics (pycocotools' algorithm; crowd regions and `area` used),
 * both with @detkit/eval, and the per-class table the trainer prints after each epoch.
 */
export function scoreDetections(groundTruth: readonly GroundTruth[], detections: readonly Detections[], classes: readonly string[]): Scores {
  const classIds = classes.map((_, i) => i);
  const voc = evaluateVoc(groundTruth, detections, { iouThreshold: 0.5, method: 'all-point', classes: classIds, classNames: classes });
  const coco = evaluateCoco(groundTruth, detections, { classes: classIds, classNames: classes });
  const perClass: Record<string, number> = {};
  for (const c of voc.perClass) perClass[c.name] = c.ap;
  const cocoPerClass: Record<string, number> = {};
  for (const c of coco.perClass) cocoPerClass[c.name] = c.ap;
  const s = coco.stats;
  // Column names starting with 'ap' print as APs and get a mean row (formatApTable's rule).
  const rows = voc.perClass.map((c, k) => ({ name: c.name, ap50Voc: c.ap, apCoco: coco.perClass[k]?.ap ?? -1, ap50Coco: coco.perClass[k]?.ap50 ?? -1, objects: c.numPositives, detections: c.numDetections }));
  const table = formatApTable(rows, { columns: ['ap50Voc', 'apCoco', 'ap50Coco', 'objects', 'detections'] });
  return {
    map: voc.map,
    perClass,
    coco: Object.fromEntries(COCO_SUMMARY_KEYS.map((k) => [k, s[k]])) as CocoSummary,
    cocoPerClass,
    table,
  };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** The COCO summary as a one-row markdown table. */
export function formatCocoTable(c: CocoSummary): string {
  const cols = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR100']; // COCO_SUMMARY_KEYS' columns
  const vals = COCO_SUMMARY_KEYS.map((k) => (c[k] < 0 ? '-' : c[k].toFixed(3)));
  return `| ${cols.join(' | ')} |\n| ${cols.map(() => '---:').join(' | ')} |\n| ${vals.join(' | ')} |`;
}
