import type { DetectionResult } from '@detkit/models';
import { PALETTE, Raster } from './raster';

/** Options of {@link drawDetections}. */
export interface DrawOptions {
  /** Class names by 0-based label. */
  classes: readonly string[];
  /** Detections below this score are not drawn. Default 0.3. */
  minScore?: number;
  /** Pixel scale-up of small images. Default: enough for a side of about 384 pixels. */
  scale?: number;
  /** Ground-truth boxes (xyxy, same pixels as the detections), drawn thin in white. */
  groundTruth?: { boxes: ArrayLike<number>; labels: ArrayLike<number> };
}

/**
 * Draws detections on an RGB image: a box in the class's colour with "class 0.97" above it, and optionally
 * the ground truth in thin white boxes.
 *
 * @param rgb - RGB bytes, height x width x 3.
 * @param detections - Boxes xyxy in the image's pixels.
 */
export function drawDetections(rgb: ArrayLike<number>, width: number, height: number, detections: DetectionResult, options: DrawOptions): Raster {
  const scale = options.scale ?? Math.max(1, Math.round(384 / Math.max(width, height)));
  const r = Raster.fromRgb(rgb, width, height, scale);
  const minScore = options.minScore ?? 0.3;
  const gt = options.groundTruth;
  if (gt) {
    for (let i = 0; i + 3 < gt.boxes.length; i += 4) {
      r.rect((gt.boxes[i] as number) * scale, (gt.boxes[i + 1] as number) * scale, (gt.boxes[i + 2] as number) * scale, (gt.boxes[i + 3] as number) * scale, [255, 255, 255], 1);
    }
  }
  // Lowest score first, so the most confident boxes end on top.
  const order = Array.from(detections.scores.keys()).filter((i) => detections.scores[i]! >= minScore).reverse();
  for (const i of order) {
    const [x1, y1, x2, y2] = Array.from(detections.boxes.subarray(4 * i, 4 * i + 4), (v) => v * scale) as [number, number, number, number];
    const label = detections.labels[i]!;
    const c = PALETTE[label % PALETTE.length]!;
    r.rect(x1, y1, x2, y2, c, 2);
    const text = `${options.classes[label] ?? label} ${detections.scores[i]!.toFixed(2)}`;
    r.text(text, x1 + 1, Math.max(1, y1 - 10), [255, 255, 255], 1, c);
  }
  return r;
}
