// Canvas drawing shared by the views. Nothing here computes a number that is shown: positions come from
// the packages' boxes and plans; this file only maps them to canvas pixels.
import type { RgbImage, ResizePlan } from '@detkit/data';

/** Class colours (colour-blind friendly, Okabe-Ito). */
export const CLASS_COLORS = ['#e69f00', '#56b4e9', '#009e73', '#f0e442', '#0072b2', '#d55e00', '#cc79a7', '#999999'];
export const POSITIVE = '#2ecc71';
export const LOW_QUALITY = '#ffd400';
export const NEGATIVE = '#3b6fd8';
export const IGNORED = '#9aa0a6';
export const SAMPLED_NEGATIVE = '#ff4d6d';

const bitmapCache = new WeakMap<RgbImage, HTMLCanvasElement>();

/** The RGB image as a canvas (cached per image). */
export function imageCanvas(image: RgbImage): HTMLCanvasElement {
  let c = bitmapCache.get(image);
  if (c === undefined) {
    c = document.createElement('canvas');
    c.width = image.width;
    c.height = image.height;
    const ctx = c.getContext('2d')!;
    const data = ctx.createImageData(image.width, image.height);
    for (let i = 0, j = 0; i < image.width * image.height; i++, j += 3) {
      data.data[4 * i] = image.data[j]!;
      data.data[4 * i + 1] = image.data[j + 1]!;
      data.data[4 * i + 2] = image.data[j + 2]!;
      data.data[4 * i + 3] = 255;
    }
    ctx.putImageData(data, 0, 0);
    bitmapCache.set(image, c);
  }
  return c;
}

/** A 2D context whose drawing unit is one model-input pixel (`inputSize` wide), cleared to the page's dark grey. */
export function inputContext(canvas: HTMLCanvasElement, inputSize: number): CanvasRenderingContext2D {
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = '#15181d';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const s = canvas.width / inputSize;
  ctx.setTransform(s, 0, 0, s, 0, 0);
  return ctx;
}

/** Draws the image where the plan put it in the input (letterboxed). */
export function drawLetterboxed(ctx: CanvasRenderingContext2D, image: RgbImage, plan: ResizePlan, alpha = 1): void {
  ctx.save();
  ctx.globalAlpha = alpha;
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(imageCanvas(image), plan.offset[1], plan.offset[0], plan.size[1], plan.size[0]);
  ctx.restore();
}

/** Strokes xyxy boxes `boxes[4i..4i+3]` for each i in `which` (all when left out). */
export function strokeBoxes(ctx: CanvasRenderingContext2D, boxes: ArrayLike<number>, color: string, width: number, which?: Iterable<number>, dash: number[] = []): void {
  ctx.save();
  ctx.strokeStyle = color;
  ctx.lineWidth = width;
  ctx.setLineDash(dash);
  ctx.beginPath();
  const all = which ?? Array.from({ length: boxes.length / 4 }, (_, i) => i);
  for (const i of all) {
    const x1 = boxes[4 * i]!, y1 = boxes[4 * i + 1]!;
    ctx.rect(x1, y1, boxes[4 * i + 2]! - x1, boxes[4 * i + 3]! - y1);
  }
  ctx.stroke();
  ctx.restore();
}

/** Ground-truth boxes in white with a class-coloured inner line and the class name. */
export function drawGroundTruth(ctx: CanvasRenderingContext2D, boxes: ArrayLike<number>, labels: ArrayLike<number>, classes: readonly string[], unit: number): void {
  for (let i = 0; i < boxes.length / 4; i++) {
    strokeBoxes(ctx, boxes, '#ffffff', 3 * unit, [i]);
    strokeBoxes(ctx, boxes, CLASS_COLORS[labels[i]! % CLASS_COLORS.length]!, 1.2 * unit, [i]);
  }
  ctx.save();
  ctx.font = `${11 * unit}px system-ui, sans-serif`;
  ctx.textBaseline = 'bottom';
  for (let i = 0; i < boxes.length / 4; i++) {
    const text = `${i}: ${classes[labels[i]!] ?? labels[i]}`;
    const x = boxes[4 * i]!, y = boxes[4 * i + 1]!;
    ctx.fillStyle = 'rgba(0,0,0,0.65)';
    ctx.fillRect(x, y - 13 * unit, ctx.measureText(text).width + 6 * unit, 13 * unit);
    ctx.fillStyle = '#fff';
    ctx.fillText(text, x + 3 * unit, y - 1 * unit);
  }
  ctx.restore();
}

/** Labelled detections: box in the class colour, "class score" above it. */
export function drawDetections(ctx: CanvasRenderingContext2D, boxes: ArrayLike<number>, scores: ArrayLike<number>, labels: ArrayLike<number>, classes: readonly string[], unit: number): void {
  ctx.save();
  ctx.font = `${11 * unit}px system-ui, sans-serif`;
  ctx.textBaseline = 'bottom';
  for (let i = 0; i < scores.length; i++) {
    const color = CLASS_COLORS[labels[i]! % CLASS_COLORS.length]!;
    strokeBoxes(ctx, boxes, color, 2 * unit, [i]);
    const text = `${classes[labels[i]!] ?? labels[i]} ${scores[i]!.toFixed(2)}`;
    const x = boxes[4 * i]!, y = Math.max(13 * unit, boxes[4 * i + 1]!);
    ctx.fillStyle = color;
    ctx.fillRect(x, y - 13 * unit, ctx.measureText(text).width + 6 * unit, 13 * unit);
    ctx.fillStyle = '#000';
    ctx.fillText(text, x + 3 * unit, y - 1 * unit);
  }
  ctx.restore();
}

/** Paints `rgba` (w x h cells) stretched over the rectangle, without smoothing. */
const cellCanvas = typeof document === 'undefined' ? undefined : document.createElement('canvas');

export function paintCells(ctx: CanvasRenderingContext2D, rgba: Uint8ClampedArray<ArrayBuffer>, w: number, h: number, x: number, y: number, width: number, height: number): void {
  const tmp = cellCanvas!;
  if (tmp.width !== w || tmp.height !== h) {
    tmp.width = w;
    tmp.height = h;
  }
  tmp.getContext('2d')!.putImageData(new ImageData(rgba, w, h), 0, 0);
  ctx.save();
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, x, y, width, height);
  ctx.restore();
}

/** Viridis-like colour ramp for t in [0, 1]. */
export function heat(t: number): [number, number, number] {
  const stops: [number, number, number][] = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i]!, b = stops[i + 1]!;
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

export function hexRgb(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}
