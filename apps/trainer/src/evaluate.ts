import { tf } from '@detkit/core';
import { IMAGENET_NORMALIZATION, type Loader } from '@detkit/data';
import { evaluateVoc, formatApTable } from '@detkit/eval';
import type { DetectionResult, Detector } from '@detkit/models';

/** A validation image kept for drawing: its pixels (input size, RGB bytes), ground truth and detections. */
export interface DrawnImage {
  id: number | string;
  rgb: Uint8Array;
  width: number;
  height: number;
  groundTruth: { boxes: Float32Array; labels: Int32Array };
  detections: DetectionResult;
}

/** The result of {@link evaluateDetector}. */
export interface Evaluation {
  /** VOC mAP at IoU 0.5 (all-point AP, VOC2010+). */
  map: number;
  /** AP per class name. */
  perClass: Record<string, number>;
  /** The per-class table, ready to print. */
  table: string;
  /** The first `keep` images, for drawing. */
  images: DrawnImage[];
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

/**
 * Runs the detector over a validation loader (no shuffling, no flips) and computes VOC mAP@0.5 with
 * @detkit/eval, in model-input pixels (letterboxing is a uniform scale and shift, so IoUs, and the AP, are
 * those of the original images).
 */
export async function evaluateDetector(detector: Detector, loader: Loader, classes: readonly string[], keep = 0): Promise<Evaluation> {
  const groundTruth: { boxes: Float32Array; labels: Int32Array; difficult: Uint8Array }[] = [];
  const detections: DetectionResult[] = [];
  const images: DrawnImage[] = [];
  for await (const batch of loader.epoch(0)) {
    try {
      const found = detector.detect(batch.images);
      const [, h, w] = batch.images.shape;
      found.forEach((d, i) => {
        const t = batch.targets[i]!;
        groundTruth.push({ boxes: t.boxes, labels: t.labels, difficult: t.difficult });
        detections.push(d);
        if (images.length < keep) {
          const pixels = tf.tidy(() => tf.slice(batch.images, [i, 0, 0, 0], [1, h, w, 3]).dataSync() as Float32Array);
          images.push({ id: batch.meta[i]!.id, rgb: toRgbBytes(pixels, h * w * 3), width: w, height: h, groundTruth: { boxes: t.boxes, labels: t.labels }, detections: d });
        }
      });
    } finally {
      batch.dispose();
    }
  }
  const voc = evaluateVoc(groundTruth, detections, { iouThreshold: 0.5, method: 'all-point', classes: classes.map((_, i) => i), classNames: classes });
  const perClass: Record<string, number> = {};
  for (const c of voc.perClass) perClass[c.name] = c.ap;
  const table = formatApTable(voc.perClass, { columns: ['ap', 'numPositives', 'numDetections', 'truePositives'] });
  return { map: voc.map, perClass, table, images };
}
