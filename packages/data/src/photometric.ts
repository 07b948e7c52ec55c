/**
 * Colour adjustments on interleaved float RGB pixels in [0, 1], in plain JavaScript with float32
 * rounding (`Math.fround`) at each step: the formulas of torchvision.transforms.functional's tensor
 * path, as `adjustBrightness/Contrast/Saturation/Hue` in color-jitter.ts compute them with tfjs ops
 * (they agree within 1e-6). The input pipeline uses these: they need no tfjs backend, so they run in
 * worker threads and give the same bits in every thread and on every backend.
 */
import type { ColorJitterParams } from './color-jitter';

const f32 = Math.fround;
/** ITU-R 601-2 luma weights, as torchvision's `rgb_to_grayscale` (float32). */
const GR = f32(0.2989), GG = f32(0.587), GB = f32(0.114);

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
const grey = (r: number, g: number, b: number) => f32(f32(f32(r * GR) + f32(g * GG)) + f32(b * GB));

/** torchvision's `_blend` with a scalar second image: clamp(ratio * x + (1 - ratio) * other, 0, 1). */
function blendScalar(px: Float32Array, ratio: number, other: number): void {
  const r = f32(ratio), o = f32(f32(1 - ratio) * f32(other));
  for (let i = 0; i < px.length; i++) px[i] = clamp01(f32(f32(r * (px[i] as number)) + o));
}

/** `adjust_brightness`: clamp(f * x, 0, 1). In place. */
export function brightnessPixels(px: Float32Array, factor: number): void {
  blendScalar(px, factor, 0);
}

/** `adjust_contrast`: blend with the mean of the image's grayscale. In place. */
export function contrastPixels(px: Float32Array, factor: number): void {
  const n = px.length / 3;
  let sum = 0;
  for (let i = 0; i < px.length; i += 3) sum += grey(px[i] as number, px[i + 1] as number, px[i + 2] as number);
  blendScalar(px, factor, n > 0 ? sum / n : 0);
}

/** `adjust_saturation`: blend each pixel with its grayscale. In place. */
export function saturationPixels(px: Float32Array, factor: number): void {
  const r = f32(factor), q = f32(1 - factor);
  for (let i = 0; i < px.length; i += 3) {
    const g = f32(q * grey(px[i] as number, px[i + 1] as number, px[i + 2] as number));
    px[i] = clamp01(f32(f32(r * (px[i] as number)) + g));
    px[i + 1] = clamp01(f32(f32(r * (px[i + 1] as number)) + g));
    px[i + 2] = clamp01(f32(f32(r * (px[i + 2] as number)) + g));
  }
}

/** `adjust_hue`: RGB -> HSV (torchvision `_rgb2hsv`), h = (h + shift) mod 1, HSV -> RGB (`_hsv2rgb`). In place. */
export function huePixels(px: Float32Array, shift: number): void {
  const fmod1 = (v: number) => f32(v - Math.floor(v)); // torch.remainder(v, 1.0), result in [0, 1)
  for (let i = 0; i < px.length; i += 3) {
    const r = px[i] as number, g = px[i + 1] as number, b = px[i + 2] as number;
    const maxc = Math.max(r, g, b), minc = Math.min(r, g, b);
    const eqc = maxc === minc;
    const cr = f32(maxc - minc);
    const s = f32(cr / (eqc ? 1 : maxc));
    const d = eqc ? 1 : cr;
    const rc = f32(f32(maxc - r) / d), gc = f32(f32(maxc - g) / d), bc = f32(f32(maxc - b) / d);
    let h: number;
    if (maxc === r) h = f32(bc - gc);
    else if (maxc === g) h = f32(f32(2 + rc) - bc);
    else h = f32(f32(4 + gc) - rc);
    h = fmod1(f32(f32(h / 6) + 1));
    h = fmod1(f32(h + f32(shift)));
    const v = maxc;
    const h6 = f32(h * 6);
    const k = Math.floor(h6);
    const f = f32(h6 - k);
    const p = clamp01(f32(v * f32(1 - s)));
    const q = clamp01(f32(v * f32(1 - f32(s * f))));
    const t = clamp01(f32(v * f32(1 - f32(s * f32(1 - f)))));
    let rr: number, gg: number, bb: number;
    switch (((k % 6) + 6) % 6) {
      case 0: rr = v; gg = t; bb = p; break;
      case 1: rr = q; gg = v; bb = p; break;
      case 2: rr = p; gg = v; bb = t; break;
      case 3: rr = p; gg = q; bb = v; break;
      case 4: rr = t; gg = p; bb = v; break;
      default: rr = v; gg = p; bb = q; break;
    }
    px[i] = rr;
    px[i + 1] = gg;
    px[i + 2] = bb;
  }
}

/** Applies one draw of {@link ColorJitterParams} in its order (torchvision `ColorJitter.forward`). In place. */
export function colorJitterPixels(px: Float32Array, params: ColorJitterParams): void {
  for (const k of params.order) {
    if (k === 0 && params.brightness !== 1) brightnessPixels(px, params.brightness);
    else if (k === 1 && params.contrast !== 1) contrastPixels(px, params.contrast);
    else if (k === 2 && params.saturation !== 1) saturationPixels(px, params.saturation);
    else if (k === 3 && params.hue !== 0) huePixels(px, params.hue);
  }
}
