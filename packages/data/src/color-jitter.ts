import { InvalidArgumentError, tf } from '@detkit/core';
import { uniform, type Random } from './random';

/**
 * Ranges of torchvision's `ColorJitter(brightness, contrast, saturation, hue)`: brightness, contrast and
 * saturation factors are drawn uniformly from [max(0, 1 - x), 1 + x], the hue shift from [-hue, hue]
 * (hue <= 0.5). Missing or 0 means that adjustment is off.
 */
export interface ColorJitterOptions {
  brightness?: number;
  contrast?: number;
  saturation?: number;
  hue?: number;
}

/** One draw of {@link ColorJitterOptions}: the factors and the order they are applied in. */
export interface ColorJitterParams {
  /** Permutation of [0, 1, 2, 3] = brightness, contrast, saturation, hue (torchvision's `fn_idx`). */
  readonly order: readonly number[];
  /** Factors: 1 (0 for hue) leaves the image unchanged. */
  readonly brightness: number;
  readonly contrast: number;
  readonly saturation: number;
  readonly hue: number;
}

/** ITU-R 601-2 luma weights, as torchvision's `rgb_to_grayscale` uses. */
const GRAY = [0.2989, 0.587, 0.114] as const;

/** Checks the options (factors >= 0, hue in [0, 0.5]). */
export function checkColorJitter(op: string, options: ColorJitterOptions): void {
  for (const key of ['brightness', 'contrast', 'saturation', 'hue'] as const) {
    const v = options[key];
    if (v === undefined) continue;
    const max = key === 'hue' ? 0.5 : Infinity;
    if (typeof v !== 'number' || !(v >= 0 && v <= max)) {
      throw new InvalidArgumentError(op, `jitter.${key}`, `must be a number in [0, ${max}], got ${String(v)}`);
    }
  }
}

/**
 * Draws jitter factors and an application order, as torchvision's `ColorJitter.get_params`: a random
 * permutation of the four adjustments, then each factor uniform in its range.
 */
export function sampleColorJitter(random: Random, options: ColorJitterOptions): ColorJitterParams {
  const order = [0, 1, 2, 3];
  for (let i = 3; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const factor = (x = 0) => (x > 0 ? uniform(random, Math.max(0, 1 - x), 1 + x) : 1);
  const b = factor(options.brightness), c = factor(options.contrast), s = factor(options.saturation);
  const h = options.hue ? uniform(random, -options.hue, options.hue) : 0;
  return { order, brightness: b, contrast: c, saturation: s, hue: h };
}

/** torchvision's `_blend`: clamp(ratio * img1 + (1 - ratio) * img2, 0, 1). Call inside tf.tidy. */
function blend(img1: tf.Tensor, img2: tf.Tensor | number, ratio: number): tf.Tensor {
  return tf.clipByValue(tf.add(tf.mul(img1, ratio), tf.mul(img2, 1 - ratio)), 0, 1);
}

function grayscale(img: tf.Tensor): tf.Tensor {
  const [r, g, b] = tf.unstack(img, -1) as [tf.Tensor, tf.Tensor, tf.Tensor];
  return tf.expandDims(tf.addN([tf.mul(r, GRAY[0]), tf.mul(g, GRAY[1]), tf.mul(b, GRAY[2])]), -1);
}

/**
 * Colour adjustments on float RGB images in [0, 1] with shape [..., 3] (one image [H, W, 3] or a batch
 * [B, H, W, 3]), following torchvision.transforms.functional (tensor path) formula for formula:
 * - `adjustBrightness(img, f)`: clamp(f * img, 0, 1).
 * - `adjustContrast(img, f)`: blend with the mean of the image's grayscale (per image), clamp to [0, 1].
 * - `adjustSaturation(img, f)`: blend with the image's grayscale (0.2989 r + 0.587 g + 0.114 b).
 * - `adjustHue(img, shift)`: RGB -> HSV, h = (h + shift) mod 1, HSV -> RGB (torchvision's `_rgb2hsv` and
 *   `_hsv2rgb`), shift in [-0.5, 0.5].
 * Each returns a new float32 tensor of the same shape.
 */
export function adjustBrightness(img: tf.Tensor, factor: number): tf.Tensor {
  return tf.tidy(() => blend(img, 0, factor));
}

/** See {@link adjustBrightness}. */
export function adjustContrast(img: tf.Tensor, factor: number): tf.Tensor {
  return tf.tidy(() => {
    // Mean over each image's pixels: axes [H, W, 1] of [..., H, W, 1].
    const r = img.rank;
    const mean = tf.mean(grayscale(img), [r - 3, r - 2, r - 1], true);
    return blend(img, mean, factor);
  });
}

/** See {@link adjustBrightness}. */
export function adjustSaturation(img: tf.Tensor, factor: number): tf.Tensor {
  return tf.tidy(() => blend(img, grayscale(img), factor));
}

/** See {@link adjustBrightness}. */
export function adjustHue(img: tf.Tensor, shift: number): tf.Tensor {
  return tf.tidy(() => {
    const [r, g, b] = tf.unstack(img, -1) as [tf.Tensor, tf.Tensor, tf.Tensor];
    const maxc = tf.maximum(r, tf.maximum(g, b));
    const minc = tf.minimum(r, tf.minimum(g, b));
    const eqc = tf.equal(maxc, minc);
    const ones = tf.onesLike(maxc);
    const cr = tf.sub(maxc, minc);
    const s = tf.div(cr, tf.where(eqc, ones, maxc));
    const crDivisor = tf.where(eqc, ones, cr);
    const rc = tf.div(tf.sub(maxc, r), crDivisor);
    const gc = tf.div(tf.sub(maxc, g), crDivisor);
    const bc = tf.div(tf.sub(maxc, b), crDivisor);
    const isR = tf.equal(maxc, r);
    const isG = tf.logicalAnd(tf.equal(maxc, g), tf.logicalNot(isR));
    const isB = tf.logicalAnd(tf.logicalNot(tf.equal(maxc, g)), tf.logicalNot(isR));
    const hr = tf.mul(tf.cast(isR, 'float32'), tf.sub(bc, gc));
    const hg = tf.mul(tf.cast(isG, 'float32'), tf.add(2, tf.sub(rc, bc)));
    const hb = tf.mul(tf.cast(isB, 'float32'), tf.add(4, tf.sub(gc, rc)));
    let h = tf.mod(tf.add(tf.div(tf.addN([hr, hg, hb]), 6), 1), 1);
    h = tf.mod(tf.add(h, shift), 1);
    // HSV -> RGB.
    const v = maxc;
    const h6 = tf.mul(h, 6);
    const i = tf.floor(h6);
    const f = tf.sub(h6, i);
    const p = tf.clipByValue(tf.mul(v, tf.sub(1, s)), 0, 1);
    const q = tf.clipByValue(tf.mul(v, tf.sub(1, tf.mul(s, f))), 0, 1);
    const t = tf.clipByValue(tf.mul(v, tf.sub(1, tf.mul(s, tf.sub(1, f)))), 0, 1);
    const sector = tf.mod(i, 6);
    const pick = (values: tf.Tensor[]) =>
      values.slice(1).reduce((acc, val, k) => tf.where(tf.equal(sector, k + 1), val, acc), values[0] as tf.Tensor);
    const rr = pick([v, q, p, p, t, v]);
    const gg = pick([t, v, v, q, p, p]);
    const bb = pick([p, p, t, v, v, q]);
    return tf.stack([rr, gg, bb], -1);
  });
}

/** Applies one draw of jitter to an image (or batch sharing the draw) in [0, 1], in `params.order`. */
export function colorJitter(img: tf.Tensor, params: ColorJitterParams): tf.Tensor {
  return tf.tidy(() => {
    let out = img;
    for (const k of params.order) {
      if (k === 0 && params.brightness !== 1) out = adjustBrightness(out, params.brightness);
      else if (k === 1 && params.contrast !== 1) out = adjustContrast(out, params.contrast);
      else if (k === 2 && params.saturation !== 1) out = adjustSaturation(out, params.saturation);
      else if (k === 3 && params.hue !== 0) out = adjustHue(out, params.hue);
    }
    return out === img ? tf.clone(img) : out;
  });
}
