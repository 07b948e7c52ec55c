import { InvalidArgumentError } from '@detkit/core';
import { createRandom, mixSeed, randomInt, uniform, type Random } from './random';
import type { DetectionSample, RgbImage, SampleSource } from './types';

/** The shapes the synthetic set draws; each is one class. */
export type ShapeKind = 'rectangle' | 'ellipse' | 'triangle' | 'cross' | 'diamond' | 'ring';

/** Everything that defines a synthetic set besides the seed. */
export interface SyntheticConfig {
  /** Side of the square images, in pixels. */
  readonly imageSize: number;
  /** The classes, in label order. */
  readonly classes: readonly ShapeKind[];
  /** Objects per image, [min, max] inclusive (fewer when no free place is found). */
  readonly objects: readonly [number, number];
  /** Longer side of an object in pixels, [min, max], skewed towards small ones (min + (max - min) u^2). */
  readonly objectSize: readonly [number, number];
  /** Largest ratio of longer to shorter side. */
  readonly maxAspect: number;
  /** Largest fraction of an object's box that another object's box may cover (limits occlusion). */
  readonly maxCover: number;
  /** Standard deviation of the per-pixel noise, in 0..255 units. */
  readonly noise: number;
  /** Number of clutter strokes (thin lines and specks that are not objects). */
  readonly clutter: number;
  /** Object colours: saturation and value ranges (HSV, 0..1); backgrounds are darker and greyer. */
  readonly objectSaturation: readonly [number, number];
  readonly objectValue: readonly [number, number];
  readonly backgroundValue: readonly [number, number];
  /** Triangles point in any of four directions (else always up). */
  readonly rotateTriangles: boolean;
  /** Default number of images of each split. */
  readonly trainCount: number;
  readonly valCount: number;
}

/** Built-in sizes of the synthetic set. */
export type SyntheticPreset = 'quick' | 'hard';

/**
 * The two built-in synthetic sets.
 * - `quick`: 128 x 128 images, 4 clearly distinct shapes (rectangle, ellipse, triangle, cross) in
 *   saturated colours on a dark, noisy background with a little clutter, 1-6 objects of 12-64 px,
 *   little occlusion; 2000 train / 500 val images. Learnable by a small detector in minutes on a CPU.
 * - `hard`: 256 x 256 images, 6 shapes (adds diamond and ring; triangles in four orientations), 2-10
 *   objects of 8-160 px, lower contrast, more noise, clutter and occlusion; 6000 train / 1000 val.
 */
export const SYNTHETIC_PRESETS: Readonly<Record<SyntheticPreset, SyntheticConfig>> = {
  quick: {
    imageSize: 128,
    classes: ['rectangle', 'ellipse', 'triangle', 'cross'],
    objects: [1, 6],
    objectSize: [12, 64],
    maxAspect: 1.6,
    maxCover: 0.35,
    noise: 8,
    clutter: 4,
    objectSaturation: [0.55, 1],
    objectValue: [0.75, 1],
    backgroundValue: [0.12, 0.4],
    rotateTriangles: false,
    trainCount: 2000,
    valCount: 500,
  },
  hard: {
    imageSize: 256,
    classes: ['rectangle', 'ellipse', 'triangle', 'cross', 'diamond', 'ring'],
    objects: [2, 10],
    objectSize: [8, 160],
    maxAspect: 2.5,
    maxCover: 0.6,
    noise: 20,
    clutter: 16,
    objectSaturation: [0.3, 1],
    objectValue: [0.45, 1],
    backgroundValue: [0.1, 0.6],
    rotateTriangles: true,
    trainCount: 6000,
    valCount: 1000,
  },
};

/** Version of the generator's output; bumped whenever the same seed would draw different images. */
export const SYNTHETIC_VERSION = 1;

/** Which split of a synthetic set. Train and val images come from independent random streams. */
export type SyntheticSplit = 'train' | 'val';

/** Options of {@link syntheticSample} and {@link syntheticSource}. */
export interface SyntheticOptions {
  /** Built-in size, default `'quick'`. */
  preset?: SyntheticPreset;
  /** Override parts of the preset (e.g. `{ imageSize: 64 }` for fast tests). */
  config?: Partial<SyntheticConfig>;
  /** Seed, default 0: the same seed draws the same images, bit for bit. */
  seed?: number;
  /** Default `'train'`. */
  split?: SyntheticSplit;
  /** Number of images, default the preset's count for the split. */
  count?: number;
}

/** The preset with the overrides of `options` applied, checked. */
export function syntheticConfig(options: SyntheticOptions = {}): SyntheticConfig {
  const preset = options.preset ?? 'quick';
  const base = SYNTHETIC_PRESETS[preset];
  if (!base) throw new InvalidArgumentError('syntheticConfig', 'preset', `must be 'quick' or 'hard', got ${JSON.stringify(preset)}`);
  const c = { ...base, ...options.config };
  if (!Number.isInteger(c.imageSize) || c.imageSize < 16) throw new InvalidArgumentError('syntheticConfig', 'imageSize', `must be an integer >= 16, got ${c.imageSize}`);
  if (!(c.objects[0] >= 0 && c.objects[1] >= c.objects[0])) throw new InvalidArgumentError('syntheticConfig', 'objects', `must be [min, max] with 0 <= min <= max, got [${c.objects.join(', ')}]`);
  if (!(c.objectSize[0] >= 2 && c.objectSize[1] >= c.objectSize[0])) throw new InvalidArgumentError('syntheticConfig', 'objectSize', `must be [min, max] with 2 <= min <= max, got [${c.objectSize.join(', ')}]`);
  if (c.classes.length === 0) throw new InvalidArgumentError('syntheticConfig', 'classes', 'must name at least one shape');
  return c;
}

const SPLIT_CODE: Record<SyntheticSplit, number> = { train: 1, val: 2 };

/** HSV (all 0..1) to RGB bytes written into `out`; arithmetic only, identical on every engine. */
function hsvToRgb(h: number, s: number, v: number, out: number[] = [0, 0, 0]): number[] {
  const h6 = h * 6;
  const i = Math.floor(h6) % 6;
  const f = h6 - Math.floor(h6);
  const p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s);
  let r: number, g: number, b: number;
  switch (i) {
    case 0: r = v; g = t; b = p; break;
    case 1: r = q; g = v; b = p; break;
    case 2: r = p; g = v; b = t; break;
    case 3: r = p; g = q; b = v; break;
    case 4: r = t; g = p; b = v; break;
    default: r = v; g = p; b = q;
  }
  out[0] = Math.round(r * 255);
  out[1] = Math.round(g * 255);
  out[2] = Math.round(b * 255);
  return out;
}

/** Whether the point (u, v) of the unit square lies in `shape` (u right, v down). */
function inside(shape: ShapeKind, u: number, v: number, orient: number): boolean {
  const x = 2 * u - 1, y = 2 * v - 1; // [-1, 1]
  switch (shape) {
    case 'rectangle':
      return true;
    case 'ellipse':
      return x * x + y * y <= 1;
    case 'ring': {
      const r = x * x + y * y;
      return r <= 1 && r >= 0.3;
    }
    case 'diamond':
      return Math.abs(x) + Math.abs(y) <= 1;
    case 'cross':
      return Math.abs(x) <= 1 / 3 || Math.abs(y) <= 1 / 3;
    case 'triangle': {
      // Apex up: the half-width grows from 0 at the top (y = -1) to 1 at the base (y = 1).
      const [a, b] = orient === 0 ? [x, y] : orient === 1 ? [x, -y] : orient === 2 ? [y, x] : [y, -x];
      return Math.abs(a) <= (b + 1) / 2;
    }
  }
}

interface Placed {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

function coverFraction(a: Placed, b: Placed): number {
  const iw = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const ih = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  return Math.max(inter / ((a.x2 - a.x1) * (a.y2 - a.y1)), inter / ((b.x2 - b.x1) * (b.y2 - b.y1)));
}

/** Draws a 1-px line of `rgb` from (x0, y0) to (x1, y1) by sampling along it. */
function drawLine(img: Uint8Array, size: number, x0: number, y0: number, x1: number, y1: number, rgb: readonly number[], thick: number): void {
  const steps = Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))) + 1;
  for (let s = 0; s <= steps; s++) {
    const t = s / steps;
    const cx = Math.floor(x0 + (x1 - x0) * t), cy = Math.floor(y0 + (y1 - y0) * t);
    for (let dy = 0; dy < thick; dy++) {
      for (let dx = 0; dx < thick; dx++) {
        const px = cx + dx, py = cy + dy;
        if (px < 0 || py < 0 || px >= size || py >= size) continue;
        const o = 3 * (py * size + px);
        img[o] = rgb[0] as number;
        img[o + 1] = rgb[1] as number;
        img[o + 2] = rgb[2] as number;
      }
    }
  }
}

/**
 * Adds triangular noise with standard deviation `std` to every byte: each 32-bit draw of an inlined
 * mulberry32 gives two 16-bit uniforms whose sum is triangular on [0, 2) (std sqrt(1/6) after
 * centring). Integer arithmetic plus one multiply, so it is both fast and identical on every engine.
 */
function addNoise(img: Uint8Array, std: number, seed: number): void {
  const scale = (std * Math.sqrt(6)) / 65536;
  let a = seed | 0;
  for (let i = 0; i < img.length; i++) {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    t ^= t >>> 14;
    const tri = (t & 0xffff) + ((t >>> 16) & 0xffff) - 65535; // in (-65536, 65536), triangular
    const v = (img[i] as number) + tri * scale + 0.5;
    img[i] = v < 0 ? 0 : v > 255 ? 255 : v; // a Uint8Array store truncates: round half up
  }
}

/** Renders one image from `random`; returns the pixels and the objects (tight boxes, pixel areas). */
function render(c: SyntheticConfig, random: Random): { image: RgbImage; boxes: number[]; labels: number[]; area: number[] } {
  const S = c.imageSize;
  const img = new Uint8Array(S * S * 3);
  // Background: a grey-ish base colour with a linear brightness gradient.
  const bgH = random(), bgS = uniform(random, 0, 0.35), bgV = uniform(random, c.backgroundValue[0], c.backgroundValue[1]);
  const gx = uniform(random, -0.12, 0.12), gy = uniform(random, -0.12, 0.12);
  // At fixed hue and saturation, RGB is proportional to the value v: one colour at v = 1, scaled.
  const rgb = hsvToRgb(bgH, bgS, 1);
  const [br, bg, bb] = [(rgb[0] as number) / 255, (rgb[1] as number) / 255, (rgb[2] as number) / 255];
  for (let y = 0; y < S; y++) {
    const vy = bgV + gy * ((2 * y) / S - 1);
    for (let x = 0; x < S; x++) {
      const v = 255 * Math.min(1, Math.max(0, vy + gx * ((2 * x) / S - 1)));
      const o = 3 * (y * S + x);
      img[o] = Math.round(v * br);
      img[o + 1] = Math.round(v * bg);
      img[o + 2] = Math.round(v * bb);
    }
  }
  // Clutter drawn first, so objects lie on top of it: thin lines and small specks, not objects.
  const clutterColour = () => hsvToRgb(random(), uniform(random, 0, 0.8), uniform(random, 0.2, 0.9));
  for (let k = 0; k < c.clutter; k++) {
    const rgb = clutterColour();
    if (random() < 0.6) {
      drawLine(img, S, random() * S, random() * S, random() * S, random() * S, rgb, 1);
    } else {
      drawLine(img, S, random() * S, random() * S, random() * S, random() * S, rgb, 1);
      const sx = Math.floor(random() * S), sy = Math.floor(random() * S);
      drawLine(img, S, sx, sy, sx, sy, rgb, 2); // a 2 x 2 speck
    }
  }
  // Objects.
  const n = randomInt(random, c.objects[0], c.objects[1]);
  const placed: Placed[] = [];
  const boxes: number[] = [], labels: number[] = [], area: number[] = [];
  const maxSide = Math.min(c.objectSize[1], S);
  const minSide = Math.min(c.objectSize[0], maxSide);
  for (let k = 0; k < n; k++) {
    const label = randomInt(random, 0, c.classes.length - 1);
    const shape = c.classes[label] as ShapeKind;
    // Sizes skewed towards small objects (u^2), aspect ratio uniform: arithmetic only (no exp / log,
    // which engines may round differently), so every engine draws the same images.
    const u = random();
    const long = Math.round(minSide + (maxSide - minSide) * u * u);
    const short = Math.max(2, Math.round(long / uniform(random, 1, c.maxAspect)));
    const [w, h] = random() < 0.5 ? [long, short] : [short, long];
    const orient = c.rotateTriangles ? randomInt(random, 0, 3) : 0;
    const hue = random(), sat = uniform(random, c.objectSaturation[0], c.objectSaturation[1]), val = uniform(random, c.objectValue[0], c.objectValue[1]);
    let spot: Placed | null = null;
    for (let attempt = 0; attempt < 30 && spot === null; attempt++) {
      const x1 = randomInt(random, 0, S - w), y1 = randomInt(random, 0, S - h);
      const cand = { x1, y1, x2: x1 + w, y2: y1 + h };
      if (placed.every((p) => coverFraction(p, cand) <= c.maxCover)) spot = cand;
    }
    if (spot === null) continue;
    hsvToRgb(hue, sat, val, rgb);
    let minX = S, minY = S, maxX = -1, maxY = -1, count = 0;
    for (let py = spot.y1; py < spot.y2; py++) {
      const v = (py + 0.5 - spot.y1) / h;
      for (let px = spot.x1; px < spot.x2; px++) {
        if (!inside(shape, (px + 0.5 - spot.x1) / w, v, orient)) continue;
        const o = 3 * (py * S + px);
        img[o] = rgb[0] as number;
        img[o + 1] = rgb[1] as number;
        img[o + 2] = rgb[2] as number;
        if (px < minX) minX = px;
        if (px > maxX) maxX = px;
        if (py < minY) minY = py;
        if (py > maxY) maxY = py;
        count++;
      }
    }
    if (count === 0) continue;
    placed.push(spot);
    // The tight box of the drawn pixels: [first column, first row, last column + 1, last row + 1].
    boxes.push(minX, minY, maxX + 1, maxY + 1);
    labels.push(label);
    area.push(count);
  }
  // Sensor noise over everything: triangular noise (sum of two uniforms) scaled to std `noise`.
  if (c.noise > 0) addNoise(img, c.noise, Math.floor(random() * 4294967296));
  return { image: { width: S, height: S, data: img }, boxes, labels, area };
}

/**
 * Synthetic image `index` of a split: a deterministic function of (seed, split, index), so any image
 * can be made on its own, in any order, and is identical every time and on every engine.
 *
 * The image is `image` (an {@link RgbImage}); boxes are tight xyxy boxes of the drawn pixels of each
 * shape (the full shape, even where a later shape covers part of it), `area` its pixel count, labels
 * index `config.classes`; `id` is `index`.
 */
export function syntheticSample(index: number, options: SyntheticOptions = {}): DetectionSample {
  const c = syntheticConfig(options);
  return sampleOf(c, index, options.seed ?? 0, options.split ?? 'train');
}

function sampleOf(c: SyntheticConfig, index: number, seed: number, split: SyntheticSplit): DetectionSample {
  const code = SPLIT_CODE[split];
  if (code === undefined) throw new InvalidArgumentError('syntheticSample', 'split', `must be 'train' or 'val', got ${JSON.stringify(split)}`);
  if (!Number.isSafeInteger(index) || index < 0) throw new InvalidArgumentError('syntheticSample', 'index', `must be an integer >= 0, got ${index}`);
  const r = render(c, createRandom(mixSeed(seed, code, index, SYNTHETIC_VERSION)));
  const n = r.labels.length;
  return {
    id: index,
    image: r.image,
    width: c.imageSize,
    height: c.imageSize,
    boxes: Float32Array.from(r.boxes),
    labels: Int32Array.from(r.labels),
    iscrowd: new Uint8Array(n),
    difficult: new Uint8Array(n),
    area: Float32Array.from(r.area),
  };
}

/**
 * A synthetic split as a lazy {@link SampleSource}: `get(i)` renders image i when asked and nothing is
 * kept, so a pipeline over it streams in constant memory however long it is.
 */
export function syntheticSource(options: SyntheticOptions = {}): SampleSource & { readonly config: SyntheticConfig; get(index: number): DetectionSample } {
  const config = syntheticConfig(options);
  const split = options.split ?? 'train';
  const seed = options.seed ?? 0;
  const length = options.count ?? (split === 'train' ? config.trainCount : config.valCount);
  if (!Number.isSafeInteger(length) || length < 0) throw new InvalidArgumentError('syntheticSource', 'count', `must be an integer >= 0, got ${length}`);
  return {
    config,
    length,
    classes: config.classes,
    spec: { kind: 'synthetic', options: { ...(options.preset ? { preset: options.preset } : {}), ...(options.config ? { config: { ...options.config } } : {}), seed, split, count: length } },
    get(index: number) {
      if (!(index >= 0 && index < length)) throw new InvalidArgumentError('syntheticSource', 'index', `must be in [0, ${length}), got ${index}`);
      return sampleOf(config, index, seed, split);
    },
  };
}
