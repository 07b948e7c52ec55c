/**
 * SSD's data augmentation (Liu et al. 2016, "SSD: Single Shot MultiBox Detector", section 2.2 "Data
 * augmentation": random patches by minimum Jaccard overlap, photometric distortions, zoom-out
 * expansion), with the parameters of torchvision's detection references (references/detection/
 * transforms.py: `RandomPhotometricDistort`, `RandomZoomOut`, `RandomIoUCrop`; presets.py: `'ssd'` and
 * `'ssdlite'`). The samplers here draw the random decisions; the loader applies them (pixels and
 * boxes together) when it fits each image to the model input.
 */
import { InvalidArgumentError } from '@detkit/core';
import { uniform, type Random } from './random';

/** Options of torchvision's `RandomIoUCrop` (defaults from its constructor). */
export interface IouCropOptions {
  /** Smallest crop side, as a fraction of the image side (drawn per axis); default 0.3. */
  minScale?: number;
  /** Largest crop side fraction; default 1. */
  maxScale?: number;
  /** Crop aspect ratio (width / height in pixels) range; default 0.5 ... 2. */
  minAspectRatio?: number;
  maxAspectRatio?: number;
  /**
   * Minimum IoU choices, one drawn uniformly per round: a crop is accepted when some box whose centre
   * lies inside it overlaps it by at least that IoU; a value >= 1 means "keep the whole image". Default
   * torchvision's (and the SSD paper's) `[0, 0.1, 0.3, 0.5, 0.7, 0.9, 1]`.
   */
  samplerOptions?: readonly number[];
  /** Crop candidates per round before a new minimum IoU is drawn; default 40. */
  trials?: number;
}

/** Options of torchvision's `RandomZoomOut` (defaults from its constructor and the `'ssd'` preset). */
export interface ZoomOutOptions {
  /**
   * Canvas colour, RGB in 0..255 pixel units; default torchvision's `'ssd'` preset `mean=(123, 117, 104)`.
   */
  fill?: readonly [number, number, number];
  /** Canvas side as a multiple of the image side, drawn uniformly; default [1, 4]. */
  sideRange?: readonly [number, number];
  /** Probability of zooming out; default 0.5. */
  p?: number;
}

/** Options of torchvision's `RandomPhotometricDistort` (defaults from its constructor). */
export interface PhotometricDistortOptions {
  /** Factor range of each adjustment (hue: shift range). Defaults: brightness [0.875, 1.125], contrast [0.5, 1.5], saturation [0.5, 1.5], hue [-0.05, 0.05]. */
  brightness?: readonly [number, number];
  contrast?: readonly [number, number];
  saturation?: readonly [number, number];
  hue?: readonly [number, number];
  /** Probability of each of the five pieces (brightness, contrast, saturation, hue, channel permutation); default 0.5. */
  p?: number;
}

/** The augmentations of one preset; `false` or absent turns a piece off. */
export interface AugmentOptions {
  photometric?: PhotometricDistortOptions | boolean;
  zoomOut?: ZoomOutOptions | boolean;
  iouCrop?: IouCropOptions | boolean;
}

/**
 * Named recipes, as torchvision's `DetectionPresetTrain(data_augmentation=...)`:
 * - `'ssd'`: RandomPhotometricDistort, RandomZoomOut(fill=mean), RandomIoUCrop, RandomHorizontalFlip(0.5);
 * - `'ssdlite'`: RandomIoUCrop, RandomHorizontalFlip(0.5);
 * - `'none'`: nothing (flip and jitter as their own options say).
 */
export type AugmentPreset = 'ssd' | 'ssdlite' | 'none';

/** The parts of {@link AugmentOptions} each preset turns on. */
export const AUGMENT_PRESETS: Readonly<Record<AugmentPreset, AugmentOptions>> = {
  ssd: { photometric: true, zoomOut: true, iouCrop: true },
  ssdlite: { iouCrop: true },
  none: {},
};

/** torchvision `'ssd'` preset's canvas fill: `mean=(123.0, 117.0, 104.0)`. */
export const SSD_ZOOM_OUT_FILL: readonly [number, number, number] = [123, 117, 104];
/** `RandomIoUCrop`'s minimum-IoU choices; 1 = no crop. */
export const SSD_IOU_CROP_OPTIONS: readonly number[] = [0, 0.1, 0.3, 0.5, 0.7, 0.9, 1];
/**
 * Rounds of `RandomIoUCrop` (draw a minimum IoU, then up to `trials` crops) before the image is kept
 * whole. torchvision loops until it succeeds; with the default options every round ends with
 * probability >= 1/7 (the "no crop" choice), so this bound only matters for options without a value >= 1.
 */
export const IOU_CROP_MAX_ROUNDS = 1000;

/** The checked, defaulted form of {@link AugmentOptions}. */
export interface ResolvedAugment {
  readonly photometric: Required<PhotometricDistortOptions> | null;
  readonly zoomOut: Required<ZoomOutOptions> | null;
  readonly iouCrop: Required<IouCropOptions> | null;
}

function range(op: string, name: string, v: unknown, lo: number, hi: number): readonly [number, number] {
  if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number' && x >= lo && x <= hi) || (v[0] as number) > (v[1] as number)) {
    throw new InvalidArgumentError(op, name, `must be [min, max] with ${lo} <= min <= max <= ${hi}, got ${JSON.stringify(v)}`);
  }
  return [v[0] as number, v[1] as number];
}

function prob(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new InvalidArgumentError(op, name, `must be a probability in [0, 1], got ${String(v)}`);
  return v;
}

function part<T extends object>(op: string, name: string, v: T | boolean | undefined): T | null {
  if (v === undefined || v === false) return null;
  if (v === true) return {} as T;
  if (typeof v !== 'object' || v === null) throw new InvalidArgumentError(op, name, `must be a boolean or an options object, got ${JSON.stringify(v)}`);
  return v;
}

/** Checks augmentation options (a preset name or {@link AugmentOptions}) and fills in torchvision's defaults. */
export function resolveAugment(op: string, augment: AugmentPreset | AugmentOptions | undefined): ResolvedAugment {
  let o: AugmentOptions;
  if (augment === undefined) o = {};
  else if (typeof augment === 'string') {
    const preset = AUGMENT_PRESETS[augment];
    if (!preset) throw new InvalidArgumentError(op, 'augment', `must be 'ssd', 'ssdlite', 'none' or an options object, got ${JSON.stringify(augment)}`);
    o = preset;
  } else if (typeof augment === 'object' && augment !== null) o = augment;
  else throw new InvalidArgumentError(op, 'augment', `must be 'ssd', 'ssdlite', 'none' or an options object, got ${JSON.stringify(augment)}`);
  const known = new Set(['photometric', 'zoomOut', 'iouCrop']);
  for (const k of Object.keys(o)) if (!known.has(k)) throw new InvalidArgumentError(op, `augment.${k}`, 'is not an option (photometric, zoomOut, iouCrop)');

  const ph = part(op, 'augment.photometric', o.photometric);
  const photometric = ph && {
    brightness: range(op, 'augment.photometric.brightness', ph.brightness ?? [0.875, 1.125], 0, Infinity),
    contrast: range(op, 'augment.photometric.contrast', ph.contrast ?? [0.5, 1.5], 0, Infinity),
    saturation: range(op, 'augment.photometric.saturation', ph.saturation ?? [0.5, 1.5], 0, Infinity),
    hue: range(op, 'augment.photometric.hue', ph.hue ?? [-0.05, 0.05], -0.5, 0.5),
    p: prob(op, 'augment.photometric.p', ph.p ?? 0.5),
  };
  const zo = part(op, 'augment.zoomOut', o.zoomOut);
  let zoomOut: Required<ZoomOutOptions> | null = null;
  if (zo) {
    const fill = zo.fill ?? SSD_ZOOM_OUT_FILL;
    if (!Array.isArray(fill) || fill.length !== 3 || !fill.every((v) => typeof v === 'number' && v >= 0 && v <= 255)) {
      throw new InvalidArgumentError(op, 'augment.zoomOut.fill', `must be [r, g, b] in 0..255, got ${JSON.stringify(fill)}`);
    }
    zoomOut = { fill, sideRange: range(op, 'augment.zoomOut.sideRange', zo.sideRange ?? [1, 4], 1, 64), p: prob(op, 'augment.zoomOut.p', zo.p ?? 0.5) };
  }
  const ic = part(op, 'augment.iouCrop', o.iouCrop);
  let iouCrop: Required<IouCropOptions> | null = null;
  if (ic) {
    const [minScale, maxScale] = range(op, 'augment.iouCrop.minScale/maxScale', [ic.minScale ?? 0.3, ic.maxScale ?? 1], 0, 1);
    const [minAspectRatio, maxAspectRatio] = range(op, 'augment.iouCrop.minAspectRatio/maxAspectRatio', [ic.minAspectRatio ?? 0.5, ic.maxAspectRatio ?? 2], 0, Infinity);
    const samplerOptions = ic.samplerOptions ?? SSD_IOU_CROP_OPTIONS;
    if (!Array.isArray(samplerOptions) || samplerOptions.length === 0 || !samplerOptions.every((v) => typeof v === 'number' && v >= 0 && Number.isFinite(v))) {
      throw new InvalidArgumentError(op, 'augment.iouCrop.samplerOptions', `must be a non-empty list of IoUs >= 0, got ${JSON.stringify(samplerOptions)}`);
    }
    const trials = ic.trials ?? 40;
    if (!Number.isInteger(trials) || trials < 1 || trials > 10000) throw new InvalidArgumentError(op, 'augment.iouCrop.trials', `must be an integer in [1, 10000], got ${String(trials)}`);
    iouCrop = { minScale, maxScale, minAspectRatio, maxAspectRatio, samplerOptions, trials };
  }
  return { photometric, zoomOut, iouCrop };
}

/** One draw of `RandomPhotometricDistort`: the adjustments that fire, their factors, and the channel order. */
export interface PhotometricParams {
  /** Factors of the adjustments that fire (undefined: skipped). */
  readonly brightness?: number;
  readonly contrast?: number;
  readonly saturation?: number;
  readonly hue?: number;
  /** Contrast before saturation and hue (else after), torchvision's `r[1] < 0.5`. */
  readonly contrastFirst: boolean;
  /** Channel permutation (output channel c takes input channel `permutation[c]`), when it fires. */
  readonly permutation?: readonly [number, number, number];
}

/**
 * Draws `RandomPhotometricDistort`'s decisions (torchvision references, 0.14): seven uniforms r; r0 < p
 * brightness; r1 < 0.5 contrast first; r2 < p contrast (first) ; r3 < p saturation; r4 < p hue; r5 < p
 * contrast (last); r6 < p a random channel permutation. Each adjustment is a `ColorJitter` with that
 * single range, so its factor is uniform in the range.
 */
export function samplePhotometric(random: Random, o: Required<PhotometricDistortOptions>): PhotometricParams {
  const r = Array.from({ length: 7 }, () => random());
  const [r0, r1, r2, r3, r4, r5, r6] = r as [number, number, number, number, number, number, number];
  const draw = (rg: readonly [number, number]) => uniform(random, rg[0], rg[1]);
  const contrastFirst = r1 < 0.5;
  const out: { -readonly [K in keyof PhotometricParams]: PhotometricParams[K] } = { contrastFirst };
  if (r0 < o.p) out.brightness = draw(o.brightness);
  if (contrastFirst && r2 < o.p) out.contrast = draw(o.contrast);
  if (r3 < o.p) out.saturation = draw(o.saturation);
  if (r4 < o.p) out.hue = draw(o.hue);
  if (!contrastFirst && r5 < o.p) out.contrast = draw(o.contrast);
  if (r6 < o.p) {
    const perm: [number, number, number] = [0, 1, 2];
    for (let i = 2; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [perm[i], perm[j]] = [perm[j] as number, perm[i] as number];
    }
    out.permutation = perm;
  }
  return out;
}

/** Whether a {@link PhotometricParams} changes any pixel. */
export function photometricActive(p: PhotometricParams): boolean {
  return p.brightness !== undefined || p.contrast !== undefined || p.saturation !== undefined || p.hue !== undefined || p.permutation !== undefined;
}

/** One draw of `RandomZoomOut`: the canvas size and where the image sits on it. */
export interface ZoomOutParams {
  readonly canvasWidth: number;
  readonly canvasHeight: number;
  readonly left: number;
  readonly top: number;
}

/**
 * Draws `RandomZoomOut`'s decision: with probability p, a canvas of side r x the image's (r uniform in
 * `sideRange`, each side truncated to an integer as torchvision's `int(orig_w * r)`), the image placed
 * at integer (left, top) = int((canvas - orig) x uniform). Null when it does not fire.
 */
export function sampleZoomOut(random: Random, width: number, height: number, o: Required<ZoomOutOptions>): ZoomOutParams | null {
  if (random() >= o.p) return null;
  const r = uniform(random, o.sideRange[0], o.sideRange[1]);
  const canvasWidth = Math.max(width, Math.floor(width * r));
  const canvasHeight = Math.max(height, Math.floor(height * r));
  const left = Math.floor((canvasWidth - width) * random());
  const top = Math.floor((canvasHeight - height) * random());
  return { canvasWidth, canvasHeight, left, top };
}

/** One `RandomIoUCrop` result. */
export interface IouCropResult {
  /** The crop, [left, top, width, height] in integer pixels of the input frame; null when the image is kept whole. */
  readonly crop: readonly [number, number, number, number] | null;
  /** The minimum IoU drawn in the round that ended (>= 1: the "keep" choice, or the round bound was reached). */
  readonly minIou: number;
  /** Indices of the boxes kept (their centres lie strictly inside the crop); all when not cropped. */
  readonly keep: Int32Array;
  /** The kept boxes, xyxy, shifted to the crop and clipped to it (float32). */
  readonly boxes: Float32Array;
}

/** IoU of an xyxy box with the crop [l, t, r, b] (torchvision `box_iou`, float32 inputs). */
function iouWithCrop(b: Float32Array, i: number, l: number, t: number, r: number, bt: number): number {
  const x1 = b[i] as number, y1 = b[i + 1] as number, x2 = b[i + 2] as number, y2 = b[i + 3] as number;
  const iw = Math.max(0, Math.min(x2, r) - Math.max(x1, l));
  const ih = Math.max(0, Math.min(y2, bt) - Math.max(y1, t));
  const inter = iw * ih;
  return inter / ((x2 - x1) * (y2 - y1) + (r - l) * (bt - t) - inter);
}

/**
 * `RandomIoUCrop` (torchvision references 0.14, after the SSD paper's patch sampling): repeat { draw a
 * minimum IoU from `samplerOptions`; if it is >= 1 keep the image; else up to `trials` times: draw crop
 * side fractions in [minScale, maxScale] per axis (sides truncated to integers), reject unless the
 * aspect ratio w / h is within [minAspectRatio, maxAspectRatio]; draw its integer position; reject
 * unless some box centre lies strictly inside it and one of those boxes has IoU >= the minimum with
 * it; accept: keep the boxes with centres inside, shift them and clip them to the crop }.
 *
 * An image without boxes is never cropped (torchvision loops until it draws "keep"). The loop stops
 * after {@link IOU_CROP_MAX_ROUNDS} rounds, keeping the image whole.
 *
 * @param boxes - Float32Array[N * 4], xyxy in pixels of a width x height frame.
 */
export function sampleIouCrop(random: Random, width: number, height: number, boxes: Float32Array, o: Required<IouCropOptions>): IouCropResult {
  const n = boxes.length / 4;
  const whole = (minIou: number): IouCropResult => ({ crop: null, minIou, keep: Int32Array.from({ length: n }, (_, i) => i), boxes: Float32Array.from(boxes) });
  if (n === 0) return whole(1);
  const cx = new Float32Array(n), cy = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    cx[i] = 0.5 * ((boxes[4 * i] as number) + (boxes[4 * i + 2] as number));
    cy[i] = 0.5 * ((boxes[4 * i + 1] as number) + (boxes[4 * i + 3] as number));
  }
  let minIou = 1;
  for (let round = 0; round < IOU_CROP_MAX_ROUNDS; round++) {
    minIou = o.samplerOptions[Math.floor(random() * o.samplerOptions.length)] as number;
    if (minIou >= 1) return whole(minIou);
    for (let t = 0; t < o.trials; t++) {
      const newW = Math.floor(width * uniform(random, o.minScale, o.maxScale));
      const newH = Math.floor(height * uniform(random, o.minScale, o.maxScale));
      if (newH === 0) continue; // torchvision would divide by zero here (images under 4 px high)
      const aspect = newW / newH;
      if (!(o.minAspectRatio <= aspect && aspect <= o.maxAspectRatio)) continue;
      const left = Math.floor((width - newW) * random());
      const top = Math.floor((height - newH) * random());
      const right = left + newW, bottom = top + newH;
      if (left === right || top === bottom) continue;
      const keep: number[] = [];
      let best = -1;
      for (let i = 0; i < n; i++) {
        if (left < (cx[i] as number) && (cx[i] as number) < right && top < (cy[i] as number) && (cy[i] as number) < bottom) {
          keep.push(i);
          best = Math.max(best, iouWithCrop(boxes, 4 * i, left, top, right, bottom));
        }
      }
      if (keep.length === 0 || best < minIou) continue;
      const out = new Float32Array(keep.length * 4);
      keep.forEach((i, k) => {
        out[4 * k] = Math.min(newW, Math.max(0, (boxes[4 * i] as number) - left));
        out[4 * k + 1] = Math.min(newH, Math.max(0, (boxes[4 * i + 1] as number) - top));
        out[4 * k + 2] = Math.min(newW, Math.max(0, (boxes[4 * i + 2] as number) - left));
        out[4 * k + 3] = Math.min(newH, Math.max(0, (boxes[4 * i + 3] as number) - top));
      });
      return { crop: [left, top, newW, newH], minIou, keep: Int32Array.from(keep), boxes: out };
    }
  }
  return whole(minIou);
}
