import { InvalidArgumentError, booleanOption, numberOption, tf } from '@detkit/core';
import { anchorCount, finiteAnchors, gridSize, imageSize as imageSizeOption, positiveList } from './internal';

const { fround } = Math;

/** The SSD default-box layout: feature maps, aspect ratios, scales and steps (torchvision's DefaultBoxGenerator). */
export interface SsdDefaultBoxesConfig {
  /** `[height, width]` of the input image in pixels; boxes are scaled to it. */
  readonly imageSize: readonly [number, number];
  /** Each level's feature map, `[height, width]` in cells or one integer for a square map; finest first. */
  readonly featureMapSizes: readonly (number | readonly [number, number])[];
  /**
   * Extra aspect ratios per level, width / height. Each ratio `ar` adds two boxes per location,
   * `(s·√ar, s/√ar)` and `(s/√ar, s·√ar)`, to the two square ones `s_k` and `√(s_k · s_{k+1})`. A level may
   * have none.
   */
  readonly aspectRatios: readonly (readonly number[])[];
  /**
   * Box scales as fractions of the image, one per level plus one (`s_{k+1}` for the last level's second
   * square box). When left out they are spaced linearly from `minRatio` to `maxRatio` and followed by 1.0,
   * as torchvision computes them (`[minRatio, maxRatio]` for a single level).
   */
  readonly scales?: readonly number[];
  /** Smallest scale when `scales` is left out. Default {@link SSD_MIN_RATIO} (0.15, torchvision). */
  readonly minRatio?: number;
  /** Largest scale when `scales` is left out. Default {@link SSD_MAX_RATIO} (0.9, torchvision). */
  readonly maxRatio?: number;
  /**
   * Pixels per cell for each level: the centre of cell (x, y) is `((x + 0.5) · step / width, (y + 0.5) · step
   * / height)` of the image. When left out a level's cells tile the image exactly (`(x + 0.5) / w`).
   */
  readonly steps?: readonly number[];
  /**
   * Clamp each box's normalised width and height to [0, 1] before scaling, as torchvision does (default
   * `true`). Centres are not moved, so boxes near the border may still reach past the image.
   */
  readonly clip?: boolean;
}

/** torchvision `DefaultBoxGenerator(min_ratio=0.15)`: the smallest default-box scale when none are given. */
export const SSD_MIN_RATIO = 0.15;

/** torchvision `DefaultBoxGenerator(max_ratio=0.9)`: the largest default-box scale (before the final 1.0). */
export const SSD_MAX_RATIO = 0.9;

function freezeConfig(config: SsdDefaultBoxesConfig): Readonly<SsdDefaultBoxesConfig> {
  for (const value of Object.values(config)) {
    if (Array.isArray(value)) {
      value.forEach((v) => Array.isArray(v) && Object.freeze(v));
      Object.freeze(value);
    }
  }
  return Object.freeze(config);
}

/**
 * SSD300 (Liu et al. 2016) as torchvision's `ssd300_vgg16` configures its `DefaultBoxGenerator`: feature maps
 * 38, 19, 10, 5, 3, 1; aspect ratios [2], [2, 3], [2, 3], [2, 3], [2], [2]; scales 0.07, 0.15, 0.33, 0.51,
 * 0.69, 0.87, 1.05; steps 8, 16, 32, 64, 100, 300; clip. The paper's 8,732 boxes.
 * Spread it to change a field: `ssdDefaultBoxes({ ...SSD300, clip: false })`.
 */
export const SSD300: Readonly<SsdDefaultBoxesConfig> = freezeConfig({
  imageSize: [300, 300],
  featureMapSizes: [38, 19, 10, 5, 3, 1],
  aspectRatios: [[2], [2, 3], [2, 3], [2, 3], [2], [2]],
  scales: [0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05],
  steps: [8, 16, 32, 64, 100, 300],
  clip: true,
});

/**
 * SSDlite320 as torchvision's `ssdlite320_mobilenet_v3_large` configures its `DefaultBoxGenerator`: feature
 * maps 20, 10, 5, 3, 2, 1 (MobileNetV3-Large at 320 x 320), aspect ratios [2, 3] on every level, scales
 * from `minRatio` 0.2 to `maxRatio` 0.95, no steps, clip. 3,234 boxes.
 */
export const SSDLITE320: Readonly<SsdDefaultBoxesConfig> = freezeConfig({
  imageSize: [320, 320],
  featureMapSizes: [20, 10, 5, 3, 2, 1],
  aspectRatios: [[2, 3], [2, 3], [2, 3], [2, 3], [2, 3], [2, 3]],
  minRatio: 0.2,
  maxRatio: 0.95,
  clip: true,
});

/**
 * Default boxes per location for each level, `2 + 2 · aspectRatios[k].length` (torchvision's
 * `DefaultBoxGenerator.num_anchors_per_location`): what an SSD head's output channels are built from.
 */
export function ssdBoxesPerLocation(config: Pick<SsdDefaultBoxesConfig, 'aspectRatios'>): number[] {
  const op = 'ssdBoxesPerLocation';
  const ratios = config?.aspectRatios;
  if (!Array.isArray(ratios)) throw new InvalidArgumentError(op, 'aspectRatios', 'must be an array with one array of ratios per level');
  return ratios.map((r, k) => 2 + 2 * positiveList(op, `aspectRatios[${k}]`, r, true).length);
}

/** torchvision's scales: given, or linear from minRatio to maxRatio followed by 1.0. Float64, as in Python. */
function resolveScales(op: string, config: SsdDefaultBoxesConfig, levels: number): number[] {
  if (config.scales !== undefined) {
    const scales = positiveList(op, 'scales', config.scales);
    if (scales.length !== levels + 1) {
      throw new InvalidArgumentError(op, 'scales', `must have one scale per level plus one (${levels + 1}), got ${scales.length}`);
    }
    return scales;
  }
  const min = numberOption(op, 'minRatio', config.minRatio ?? SSD_MIN_RATIO, { min: 0, minExclusive: true });
  const max = numberOption(op, 'maxRatio', config.maxRatio ?? SSD_MAX_RATIO, { min: 0, minExclusive: true });
  if (levels <= 1) return [min, max];
  const range = max - min;
  const scales = Array.from({ length: levels }, (_, k) => min + (range * k) / (levels - 1));
  scales.push(1.0);
  return scales;
}

/**
 * SSD's default boxes (Liu et al. 2016, section 2.2); matches torchvision's `DefaultBoxGenerator` (its
 * `forward` for one image: xyxy pixels after its own cxcywh-normalised computation).
 *
 * For level k with scale `s_k` the boxes at each location are, in this order: the square `s_k`, the
 * square `√(s_k · s_{k+1})`, then for each aspect ratio `ar` the pair `(w, h) = (s_k·√ar, s_k/√ar)` and
 * `(s_k/√ar, s_k·√ar)`; widths and heights are fractions of the image, clamped to [0, 1] when `clip`.
 * Locations run row by row (y, then x), levels one after another, finest first: the order an SSD head
 * flattens its `[N, A·C, H, W]` outputs in. The centre of cell (x, y) is `((x + 0.5) / f_x, (y + 0.5) / f_y)`
 * with `f_x = width / step` (or the map's width without steps). A box is then
 * `((cx - w/2) · width, (cy - h/2) · height, (cx + w/2) · width, (cy + h/2) · height)`, in float32 in
 * torchvision's order.
 *
 * @param config - see {@link SsdDefaultBoxesConfig}; {@link SSD300} and {@link SSDLITE320} are presets.
 * @returns Tensor[sum_k h_k · w_k · (2 + 2 · aspectRatios[k].length), 4], float32, xyxy pixels
 *   (8,732 boxes for SSD300).
 * @throws InvalidArgumentError naming the option when the config is invalid (mismatched lengths, a
 *   non-positive ratio or scale).
 */
export function ssdDefaultBoxes(config: SsdDefaultBoxesConfig): tf.Tensor2D {
  const op = 'ssdDefaultBoxes';
  if (config === null || typeof config !== 'object') throw new InvalidArgumentError(op, 'config', 'must be an object');
  const [height, width] = imageSizeOption(op, 'imageSize', config.imageSize);
  if (height === 0 || width === 0) throw new InvalidArgumentError(op, 'imageSize', `must be [height, width] with sizes > 0, got [${height}, ${width}]`);
  const maps = config.featureMapSizes;
  if (!Array.isArray(maps)) throw new InvalidArgumentError(op, 'featureMapSizes', 'must be an array with one size per level');
  const grids = maps.map((m, k) => gridSize(op, `featureMapSizes[${k}]`, m, true));
  const levels = grids.length;
  if (!Array.isArray(config.aspectRatios) || config.aspectRatios.length !== levels) {
    throw new InvalidArgumentError(op, 'aspectRatios', `must have one array of ratios per level (${levels})`);
  }
  const perLocation = ssdBoxesPerLocation(config);
  const steps = config.steps === undefined ? undefined : positiveList(op, 'steps', config.steps, true);
  if (steps !== undefined && steps.length !== levels) {
    throw new InvalidArgumentError(op, 'steps', `must have one step per level (${levels}), got ${steps.length}`);
  }
  const scales = resolveScales(op, config, levels);
  const clip = booleanOption(op, 'clip', config.clip, { default: true });

  const total = anchorCount(op, 'featureMapSizes', grids.reduce((n, [h, w], k) => n + h * w * (perLocation[k] as number), 0));
  const out = new Float32Array(4 * total);
  const W = fround(width);
  const H = fround(height);
  const clamp = (v: number) => (clip ? Math.min(Math.max(v, 0), 1) : v);
  let o = 0;
  grids.forEach(([fh, fw], k) => {
    // The (w, h) pairs, computed in float64 as torchvision's Python does, then stored as float32.
    const sk = scales[k] as number;
    const pairs = [sk, sk, Math.sqrt(sk * (scales[k + 1] as number))];
    pairs.push(pairs[2] as number);
    for (const ar of config.aspectRatios[k] as number[]) {
      const sq = Math.sqrt(ar);
      pairs.push(sk * sq, sk / sq, sk / sq, sk * sq);
    }
    // Half sizes: 0.5 * float32 is exact.
    const half = pairs.map((v) => clamp(fround(v)) / 2);
    const xf = fround(steps ? width / (steps[k] as number) : fw);
    const yf = fround(steps ? height / (steps[k] as number) : fh);
    for (let y = 0; y < fh; y++) {
      const cy = fround((y + 0.5) / yf);
      for (let x = 0; x < fw; x++) {
        const cx = fround((x + 0.5) / xf);
        for (let p = 0; p < half.length; p += 2) {
          const hw = half[p] as number;
          const hh = half[p + 1] as number;
          out[o++] = fround(cx - hw) * W;
          out[o++] = fround(cy - hh) * H;
          out[o++] = fround(cx + hw) * W;
          out[o++] = fround(cy + hh) * H;
        }
      }
    }
  });
  return tf.tensor2d(finiteAnchors(op, 'config', out), [total, 4], 'float32');
}
