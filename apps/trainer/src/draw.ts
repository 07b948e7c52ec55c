import { encodePng } from '@detkit/data';
import type { DetectionResult } from '@detkit/models';
import { drawing, escapeXml, FONT_FAMILY, textWidth, type Drawing } from './raster';

/** Distinct colours for classes (Tableau 10, the colours of the plots' curves too), as CSS colours. */
export const PALETTE: readonly string[] = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** Font size of the "class 0.97" labels, in pixels of the drawn (scaled) image. */
const LABEL_FONT_SIZE = 10;

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

/** An SVG rectangle outline whose `thickness`-pixel stroke lies inside the box (x1, y1)-(x2, y2). */
function outline(x1: number, y1: number, x2: number, y2: number, colour: string, thickness: number): string {
  const h = thickness / 2;
  const [w, ht] = [Math.max(0, x2 - x1 - thickness), Math.max(0, y2 - y1 - thickness)];
  return `<rect x="${x1 + h}" y="${y1 + h}" width="${w}" height="${ht}" fill="none" stroke="${colour}" stroke-width="${thickness}"/>`;
}

/**
 * Draws detections on an RGB image: a box in the class's colour with "class 0.97" above it (white text on the
 * class colour), and optionally the ground truth in thin white boxes. The image is an SVG (the pixels embedded
 * as PNG, scaled up nearest-neighbour), rasterised to PNG by resvg with the same font as the plots.
 *
 * @param rgb - RGB bytes, height x width x 3.
 * @param detections - Boxes xyxy in the image's pixels.
 */
export function drawDetections(rgb: ArrayLike<number>, width: number, height: number, detections: DetectionResult, options: DrawOptions): Drawing {
  const scale = options.scale ?? Math.max(1, Math.round(384 / Math.max(width, height)));
  const [w, h] = [width * scale, height * scale];
  const pixels = encodePng({ width, height, data: rgb instanceof Uint8Array ? rgb : Uint8Array.from(rgb) });
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">`,
    `<image width="${w}" height="${h}" preserveAspectRatio="none" image-rendering="optimizeSpeed" xlink:href="data:image/png;base64,${Buffer.from(pixels).toString('base64')}"/>`,
    `<g shape-rendering="crispEdges">`,
  ];
  const minScore = options.minScore ?? 0.3;
  const gt = options.groundTruth;
  if (gt) {
    for (let i = 0; i + 3 < gt.boxes.length; i += 4) {
      const [x1, y1, x2, y2] = [0, 1, 2, 3].map((k) => (gt.boxes[i + k] as number) * scale) as [number, number, number, number];
      parts.push(outline(x1, y1, x2, y2, 'white', 1));
    }
  }
  // Lowest score first, so the most confident boxes end on top.
  const order = Array.from(detections.scores.keys()).filter((i) => detections.scores[i]! >= minScore).reverse();
  const labels: string[] = [];
  for (const i of order) {
    const [x1, y1, x2, y2] = Array.from(detections.boxes.subarray(4 * i, 4 * i + 4), (v) => v * scale) as [number, number, number, number];
    const label = detections.labels[i]!;
    const c = PALETTE[label % PALETTE.length]!;
    parts.push(outline(x1, y1, x2, y2, c, 2));
    const text = `${options.classes[label] ?? label} ${detections.scores[i]!.toFixed(2)}`;
    const top = Math.max(0, y1 - LABEL_FONT_SIZE - 4);
    labels.push(
      `<rect x="${x1}" y="${top}" width="${Math.ceil(textWidth(text, LABEL_FONT_SIZE)) + 6}" height="${LABEL_FONT_SIZE + 4}" fill="${c}"/>`,
      `<text x="${x1 + 3}" y="${top + LABEL_FONT_SIZE}" font-family="${FONT_FAMILY}" font-size="${LABEL_FONT_SIZE}" fill="white">${escapeXml(text)}</text>`,
    );
  }
  parts.push('</g>', ...labels, '</svg>');
  return drawing(parts.join('\n'));
}
