/**
 * Preparing one image for the model input: the per-sample work of the input pipeline (targets, SSD
 * augmentation, resize, flip, colour jitter, normalisation), in plain JavaScript on typed arrays, with
 * no tfjs: it runs the same, bit for bit, on the training thread and in worker threads.
 */
import { sampleColorJitter, type ColorJitterOptions } from './color-jitter';
import { decodeImage } from './decode-image';
import { DataError, type DataIssue } from './errors';
import type { ImageLoader } from './load-image';
import { brightnessPixels, colorJitterPixels, contrastPixels, huePixels, saturationPixels } from './photometric';
import { createRandom, mixSeed } from './random';
import { resizeWindow, type PixelWindow } from './resize-bilinear';
import { boxesToInput, planResize, type ResizeMode, type ResizePlan } from './resize-plan';
import { photometricActive, sampleIouCrop, samplePhotometric, sampleZoomOut, type PhotometricParams, type ResolvedAugment } from './ssd-augment';
import type { DetectionSample, RgbImage } from './types';

/** Per-channel mean and standard deviation, in [0, 1] pixel units. */
export interface Normalization {
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

/** The targets of one image, in model-input pixels. */
export interface ImageTargets {
  /** Float32Array[N * 4], xyxy in input pixels. */
  readonly boxes: Float32Array;
  /** Int32Array[N], class indices. */
  readonly labels: Int32Array;
  /** Uint8Array[N]. */
  readonly iscrowd: Uint8Array;
  /** Uint8Array[N]. */
  readonly difficult: Uint8Array;
}

/**
 * Where one image landed in the model input: its sample id, the resize plan (`originalSize` is the
 * size of the region that was resized), and, when SSD augmentation cropped or zoomed out, that region
 * in the original image's pixels.
 */
export interface ImageMeta extends ResizePlan {
  readonly id: number | string;
  /**
   * [x1, y1, x2, y2] of the resized region in original-image pixels (x1, y1 < 0 or x2, y2 beyond the
   * image after a zoom-out); absent when it is the whole image. `boxesToOriginal(b, meta)` gives
   * coordinates in this region; add (x1, y1) for original-image pixels.
   */
  readonly window?: readonly [number, number, number, number];
}

/** Everything {@link prepareImage} needs besides the sample: plain data, so it can be sent to a worker. */
export interface PrepareConfig {
  readonly size: readonly [number, number];
  readonly resize: ResizeMode;
  readonly seed: number;
  readonly flip: number;
  readonly jitter: ColorJitterOptions | null;
  readonly normalize: Normalization | false;
  readonly dropCrowd: boolean;
  readonly dropDifficult: boolean;
  readonly augment: ResolvedAugment;
}

/** Seed tag of the flip / jitter stream, so it never coincides with the shuffling stream. */
const AUGMENT_STREAM = 0x41554721;
/** Seed tag of the SSD augmentation stream (photometric distort, zoom-out, IoU crop). */
const SSD_STREAM = 0x53534421;

/** The sample's objects after dropCrowd / dropDifficult. */
function keptObjects(sample: DetectionSample, c: PrepareConfig) {
  const keep: number[] = [];
  for (let j = 0; j < sample.labels.length; j++) {
    if ((c.dropCrowd && sample.iscrowd[j]) || (c.dropDifficult && sample.difficult[j])) continue;
    keep.push(j);
  }
  const boxes = new Float32Array(keep.length * 4);
  keep.forEach((j, m) => boxes.set(sample.boxes.subarray(4 * j, 4 * j + 4), 4 * m));
  return { keep, boxes };
}

function applyPhotometric(px: Float32Array, p: PhotometricParams): void {
  if (p.brightness !== undefined) brightnessPixels(px, p.brightness);
  if (p.contrastFirst && p.contrast !== undefined) contrastPixels(px, p.contrast);
  if (p.saturation !== undefined) saturationPixels(px, p.saturation);
  if (p.hue !== undefined) huePixels(px, p.hue);
  if (!p.contrastFirst && p.contrast !== undefined) contrastPixels(px, p.contrast);
  const perm = p.permutation;
  if (perm && !(perm[0] === 0 && perm[1] === 1 && perm[2] === 2)) {
    for (let i = 0; i < px.length; i += 3) {
      const r = px[i] as number, g = px[i + 1] as number, b = px[i + 2] as number;
      const v = [r, g, b];
      px[i] = v[perm[0]] as number;
      px[i + 1] = v[perm[1]] as number;
      px[i + 2] = v[perm[2]] as number;
    }
  }
}

/**
 * Prepares sample `index` of `epoch` for the model input, writing its normalised pixels into
 * `out[offset .. offset + H * W * 3)` (letterbox padding stays as `out` holds it: 0). Random choices
 * come from streams seeded by (seed, epoch, index) only.
 *
 * Order (torchvision's `'ssd'` preset, then the model's resize): drop crowd / difficult objects;
 * photometric distort (on the image, [0, 1] floats); zoom-out (canvas of `fill`); IoU crop (boxes whose
 * centre is inside, clipped); horizontal flip; resize (letterbox or stretch, bilinear); colour jitter
 * (`jitter`, on the resized image); normalise.
 *
 * @param image - The decoded pixels, of the sample's size.
 */
export function prepareImage(sample: DetectionSample, image: RgbImage, index: number, epoch: number, c: PrepareConfig, out: Float32Array, offset: number): { target: ImageTargets; meta: ImageMeta } {
  const W = c.size[1];
  const random = createRandom(mixSeed(c.seed, epoch, index, AUGMENT_STREAM));
  const flipped = c.flip > 0 && random() < c.flip;
  const jitter = c.jitter ? sampleColorJitter(random, c.jitter) : null;
  const { keep: kept, boxes: keptBoxes } = keptObjects(sample, c);
  let keep = kept;
  let boxes: Float32Array<ArrayBufferLike> = keptBoxes;

  // SSD augmentation: the pixels stay where they are; a window over the (virtual) canvas is tracked.
  const a = c.augment;
  const ssd = a.photometric || a.zoomOut || a.iouCrop ? createRandom(mixSeed(c.seed, epoch, index, SSD_STREAM)) : null;
  let src: Uint8Array<ArrayBufferLike> | Float32Array<ArrayBufferLike> = image.data;
  let unit = 1 / 255;
  let fill: [number, number, number] = [0, 0, 0];
  if (ssd && a.photometric) {
    const p = samplePhotometric(ssd, a.photometric);
    if (photometricActive(p)) {
      const px = new Float32Array(image.data.length);
      for (let i = 0; i < px.length; i++) px[i] = (image.data[i] as number) / 255;
      applyPhotometric(px, p);
      src = px;
      unit = 1;
    }
  }
  let win: PixelWindow = { x: 0, y: 0, width: image.width, height: image.height };
  if (ssd && a.zoomOut) {
    const z = sampleZoomOut(ssd, image.width, image.height, a.zoomOut);
    if (z) {
      win = { x: -z.left, y: -z.top, width: z.canvasWidth, height: z.canvasHeight };
      const shifted = new Float32Array(boxes.length);
      for (let i = 0; i < boxes.length; i += 4) {
        shifted[i] = (boxes[i] as number) + z.left;
        shifted[i + 1] = (boxes[i + 1] as number) + z.top;
        shifted[i + 2] = (boxes[i + 2] as number) + z.left;
        shifted[i + 3] = (boxes[i + 3] as number) + z.top;
      }
      boxes = shifted;
      const f = a.zoomOut.fill;
      fill = unit === 1 ? [f[0] / 255, f[1] / 255, f[2] / 255] : [f[0], f[1], f[2]];
    }
  }
  if (ssd && a.iouCrop) {
    const r = sampleIouCrop(ssd, win.width, win.height, boxes, a.iouCrop);
    if (r.crop) {
      const [l, t, w, h] = r.crop;
      win = { x: win.x + l, y: win.y + t, width: w, height: h };
      keep = Array.from(r.keep, (k) => keep[k] as number);
      boxes = r.boxes;
    }
  }

  const plan = planResize(win.width, win.height, c.size, c.resize, flipped);
  const [nh, nw] = plan.size;
  const whole = win.x === 0 && win.y === 0 && win.width === image.width && win.height === image.height;
  let rgb: Float32Array<ArrayBufferLike> | Uint8Array<ArrayBufferLike> =
    whole && !flipped && nh === image.height && nw === image.width ? src : resizeWindow(src, image.width, image.height, win, fill, nw, nh, flipped);
  if (jitter) {
    const px = rgb instanceof Float32Array && rgb !== src ? rgb : new Float32Array(rgb.length);
    if (px !== rgb) for (let i = 0; i < px.length; i++) px[i] = rgb[i] as number;
    if (unit !== 1) for (let i = 0; i < px.length; i++) px[i] = (px[i] as number) * unit;
    colorJitterPixels(px, jitter);
    rgb = px;
    unit = 1;
  }
  const norm = c.normalize;
  const m0 = norm ? norm.mean[0] : 0, m1 = norm ? norm.mean[1] : 0, m2 = norm ? norm.mean[2] : 0;
  const s0 = norm ? 1 / norm.std[0] : 1, s1 = norm ? 1 / norm.std[1] : 1, s2 = norm ? 1 / norm.std[2] : 1;
  const [oy, ox] = plan.offset;
  for (let y = 0; y < nh; y++) {
    let o = offset + 3 * ((y + oy) * W + ox);
    let i = 3 * y * nw;
    for (let x = 0; x < nw; x++, o += 3, i += 3) {
      out[o] = ((rgb[i] as number) * unit - m0) * s0;
      out[o + 1] = ((rgb[i + 1] as number) * unit - m1) * s1;
      out[o + 2] = ((rgb[i + 2] as number) * unit - m2) * s2;
    }
  }
  const target: ImageTargets = {
    boxes: boxesToInput(boxes, plan),
    labels: Int32Array.from(keep, (j) => sample.labels[j] as number),
    iscrowd: Uint8Array.from(keep, (j) => sample.iscrowd[j] as number),
    difficult: Uint8Array.from(keep, (j) => sample.difficult[j] as number),
  };
  const meta: ImageMeta = whole ? { id: sample.id, ...plan } : { id: sample.id, ...plan, window: [win.x, win.y, win.x + win.width, win.y + win.height] };
  return { target, meta };
}

/** Where a sample's problem is reported: the image file and the sample, as the loader names them. */
export function sampleIssue(sample: DetectionSample, e: DataError): DataIssue {
  const where = `sample ${JSON.stringify(sample.id)}`;
  if (e.record) return { file: e.file, record: e.record, kind: e.kind, problem: e.problem };
  return { file: e.file, record: typeof sample.image === 'string' || e.file !== where ? where : '', kind: e.kind, problem: e.problem };
}

/**
 * Decodes a sample's image (path via `loadImage`, encoded bytes, or pixels as they are) and checks it
 * against the sample's size. The annotation's size is passed on as `expectedSize` (EXIF orientation).
 *
 * @throws {@link DataError} for a missing, undecodable or mis-sized image, naming the file and sample.
 */
export async function loadSampleImage(sample: DetectionSample, loadImage: ImageLoader): Promise<RgbImage> {
  const where = `sample ${JSON.stringify(sample.id)}`;
  const img = sample.image;
  const decodeOptions = { expectedSize: { width: sample.width, height: sample.height } };
  let image: RgbImage;
  if (typeof img === 'string') image = await loadImage(img, decodeOptions);
  else if (img instanceof Uint8Array) image = decodeImage(img, where, decodeOptions);
  else image = img;
  checkImage(sample, image);
  return image;
}

/**
 * Checks a sample's record before its image is read: consistent array lengths, a positive integer
 * size, finite boxes with x1 < x2 and y1 < y2. Readers check this already; samples from custom sources
 * may not have been.
 *
 * @throws {@link DataError} naming the sample (`'malformed-record'`, `'box-not-finite'`, `'box-inverted'`).
 */
export function checkSample(sample: DetectionSample): void {
  const where = `sample ${JSON.stringify(sample.id)}`;
  const file = typeof sample.image === 'string' ? sample.image : where;
  const record = typeof sample.image === 'string' ? where : '';
  const bad = (kind: DataIssue['kind'], problem: string) => new DataError({ file, record, kind, problem });
  const n = sample.labels?.length;
  if (!(sample.boxes instanceof Float32Array) || !(sample.labels instanceof Int32Array) || sample.boxes.length !== 4 * n || sample.iscrowd?.length !== n || sample.difficult?.length !== n) {
    throw bad('malformed-record', `has inconsistent targets (boxes Float32Array[4N], labels Int32Array[N], iscrowd and difficult Uint8Array[N] expected; got ${sample.boxes?.length} box values and ${n} labels)`);
  }
  if (!(Number.isSafeInteger(sample.width) && sample.width > 0 && Number.isSafeInteger(sample.height) && sample.height > 0)) {
    throw bad('malformed-record', `has size ${String(sample.width)} x ${String(sample.height)}, expected positive integers`);
  }
  for (let j = 0; j < n; j++) {
    const b = sample.boxes.subarray(4 * j, 4 * j + 4);
    if (!b.every(Number.isFinite)) throw bad('box-not-finite', `box ${j} [${Array.from(b).join(', ')}] has a NaN or infinite coordinate`);
    if (!((b[2] as number) > (b[0] as number) && (b[3] as number) > (b[1] as number))) throw bad('box-inverted', `box ${j} [${Array.from(b).join(', ')}] has x2 <= x1 or y2 <= y1`);
  }
}

/** Checks decoded pixels against the sample's size. @throws {@link DataError} `'bad-image'`. */
export function checkImage(sample: DetectionSample, image: RgbImage): void {
  const where = `sample ${JSON.stringify(sample.id)}`;
  const img = sample.image;
  if (image.width !== sample.width || image.height !== sample.height) {
    throw new DataError({
      file: typeof img === 'string' ? img : where,
      record: typeof img === 'string' ? where : '',
      kind: 'bad-image',
      problem: `is ${image.width} x ${image.height} pixels but its annotation says ${sample.width} x ${sample.height}`,
    });
  }
  if (image.data.length !== image.width * image.height * 3) {
    throw new DataError({ file: where, record: '', kind: 'bad-image', problem: `has ${image.data.length} bytes of pixels, expected ${image.width} x ${image.height} x 3` });
  }
}
