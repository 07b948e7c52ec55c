import { InvalidArgumentError, tf } from '@detkit/core';
import { checkColorJitter, colorJitter, sampleColorJitter, type ColorJitterOptions } from './color-jitter';
import { decodeImage } from './decode-image';
import { DataError, emptySkipReport, reportIssue, type OnInvalid, type SkipReport } from './errors';
import { fetchImage, type ImageLoader } from './load-image';
import { createRandom, mixSeed, permutation } from './random';
import { flipHorizontal, resizeBilinear } from './resize-bilinear';
import { boxesToInput, inputSize, planResize, type ResizeMode, type ResizePlan } from './resize-plan';
import type { DetectionSample, RgbImage, SampleSource } from './types';

/** Per-channel mean and standard deviation, in [0, 1] pixel units. */
export interface Normalization {
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

/** ImageNet statistics, torchvision's defaults for detection backbones (`GeneralizedRCNNTransform`). */
export const IMAGENET_NORMALIZATION: Normalization = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/** Options of {@link createLoader}. */
export interface LoaderOptions {
  /** The samples: an array, or a {@link SampleSource} such as the synthetic set (made on demand). */
  source: readonly DetectionSample[] | SampleSource;
  /** Model input size: one number (square) or [height, width]. */
  imageSize: number | readonly [number, number];
  /** Images per batch. */
  batchSize: number;
  /** How images are fitted to `imageSize`; default `'letterbox'`. */
  resize?: ResizeMode;
  /** Shuffle each epoch with a permutation seeded by (seed, epoch); default true. */
  shuffle?: boolean;
  /** Seed of shuffling and augmentation; default 0. */
  seed?: number;
  /** Probability of a horizontal flip per image (boxes flipped alike); default 0 (off). */
  flip?: number;
  /** Photometric jitter, torchvision `ColorJitter` semantics; default off. */
  jitter?: ColorJitterOptions;
  /** Normalisation after scaling pixels to [0, 1]; default ImageNet's; `false` leaves [0, 1]. */
  normalize?: Normalization | false;
  /** Boxes per image in the padded tensors; default the largest count in each batch. An image with more is an error. */
  maxBoxes?: number;
  /** Leave out the last batch when it is smaller than `batchSize`; default false. */
  dropLast?: boolean;
  /** Leave crowd regions out of the targets (torchvision's detection references do); default true. */
  dropCrowd?: boolean;
  /** Leave VOC difficult objects out of the targets; default false (detectron2 trains on them). */
  dropDifficult?: boolean;
  /** An image that is missing or does not decode: throw (default), or skip it and count it in `skipped`. */
  onInvalid?: OnInvalid;
  /** Reads images given by path or URL; default {@link fetchImage}. In Node: `loadImageFile` from `@detkit/data/node`. */
  loadImage?: ImageLoader;
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
 * One batch, what a trainer feeds a model. The boxes are given twice: padded tensors for batched losses,
 * and per-image arrays for matchers that take one image at a time. Dispose the tensors with `dispose()`.
 */
export interface Batch {
  /** Tensor[B, H, W, 3], float32, normalised; letterbox padding is 0. */
  readonly images: tf.Tensor4D;
  /** Tensor[B, M, 4], float32, xyxy in input pixels; padding rows are 0. M = maxBoxes or the batch's largest count. */
  readonly boxes: tf.Tensor3D;
  /** Tensor[B, M], int32, class indices; -1 in padding. */
  readonly labels: tf.Tensor2D;
  /** Tensor[B, M], float32, 1 for a real box, 0 for padding. */
  readonly mask: tf.Tensor2D;
  /** Per image: the same boxes and labels, unpadded, with their flags. */
  readonly targets: readonly ImageTargets[];
  /** Per image: sample id and where it landed in the input (map predictions back with `boxesToOriginal`). */
  readonly meta: readonly ({ readonly id: number | string } & ResizePlan)[];
  /** Disposes `images`, `boxes`, `labels` and `mask`. */
  dispose(): void;
}

/** A configured input pipeline. */
export interface Loader {
  /** Number of samples in the source. */
  readonly size: number;
  /** Batches in one epoch (fewer when images are skipped). */
  readonly batchesPerEpoch: number;
  /** Images skipped so far under `onInvalid: 'skip'`, over all epochs. */
  readonly skipped: SkipReport;
  /**
   * Streams the batches of one epoch. Order and augmentation depend only on (seed, epoch, sample
   * index), so an epoch can be replayed exactly. Images are decoded one batch ahead; nothing else
   * is held, so memory stays flat however large the source.
   */
  epoch(epoch?: number): AsyncGenerator<Batch, void, undefined>;
}

interface Loaded {
  sample: DetectionSample;
  image: RgbImage;
}

function sourceOf(source: LoaderOptions['source']): SampleSource {
  if (Array.isArray(source)) {
    const arr = source as readonly DetectionSample[];
    return { length: arr.length, classes: [], get: (i) => arr[i] as DetectionSample };
  }
  return source as SampleSource;
}

function checkOptions(o: LoaderOptions) {
  const op = 'createLoader';
  if (o.source === null || typeof o.source !== 'object' || typeof (o.source as { length?: unknown }).length !== 'number') {
    throw new InvalidArgumentError(op, 'source', 'must be an array of samples or a SampleSource');
  }
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new InvalidArgumentError(op, 'batchSize', `must be an integer >= 1, got ${String(o.batchSize)}`);
  const size = inputSize(op, o.imageSize);
  const resize = o.resize ?? 'letterbox';
  if (resize !== 'letterbox' && resize !== 'stretch') throw new InvalidArgumentError(op, 'resize', `must be 'letterbox' or 'stretch', got ${JSON.stringify(resize)}`);
  const flip = o.flip ?? 0;
  if (typeof flip !== 'number' || !(flip >= 0 && flip <= 1)) throw new InvalidArgumentError(op, 'flip', `must be a probability in [0, 1], got ${String(flip)}`);
  checkColorJitter(op, o.jitter ?? {});
  const norm = o.normalize === undefined ? IMAGENET_NORMALIZATION : o.normalize;
  if (norm !== false && (!norm || norm.mean?.length !== 3 || norm.std?.length !== 3 || !norm.std.every((v) => v > 0))) {
    throw new InvalidArgumentError(op, 'normalize', 'must be false or { mean: [r, g, b], std: [r, g, b] } with std > 0');
  }
  if (o.maxBoxes !== undefined && (!Number.isInteger(o.maxBoxes) || o.maxBoxes < 0)) throw new InvalidArgumentError(op, 'maxBoxes', `must be an integer >= 0, got ${String(o.maxBoxes)}`);
  const onInvalid = o.onInvalid ?? 'throw';
  if (onInvalid !== 'throw' && onInvalid !== 'skip') throw new InvalidArgumentError(op, 'onInvalid', `must be 'throw' or 'skip', got ${JSON.stringify(onInvalid)}`);
  return { size, resize, flip, norm, onInvalid };
}

/** Seed tag of the augmentation stream, so it never coincides with the shuffling stream. */
const AUGMENT_STREAM = 0x41554721;

/**
 * The input pipeline: streams batches from a source, fitting each image to the model input
 * (letterbox or stretch, bilinear with half-pixel centres as `tf.image.resizeBilinear(..., false, true)`
 * and `torch.nn.functional.interpolate(..., align_corners=False)`, no antialiasing), with boxes transformed alike, a seeded horizontal flip, seeded photometric
 * jitter (torchvision `ColorJitter`), normalisation, and padding of boxes to a common count.
 *
 * ```ts
 * const loader = createLoader({ source: syntheticSource(), imageSize: 128, batchSize: 16, flip: 0.5 });
 * for await (const batch of loader.epoch(0)) {
 *   // batch.images [16, 128, 128, 3]; batch.boxes [16, M, 4] + batch.mask; batch.targets per image
 *   batch.dispose();
 * }
 * ```
 *
 * Each image is checked when it is loaded: a missing or undecodable image, or one whose decoded size
 * differs from the annotation's, is a {@link DataError} naming the file and sample (or, with
 * `onInvalid: 'skip'`, left out of its batch and counted in `skipped`).
 */
export function createLoader(options: LoaderOptions): Loader {
  const { size, resize, flip, norm, onInvalid } = checkOptions(options);
  const source = sourceOf(options.source);
  const { batchSize, dropLast = false, dropCrowd = true, dropDifficult = false } = options;
  const seed = options.seed ?? 0;
  const shuffle = options.shuffle ?? true;
  const jitter = options.jitter ?? {};
  const jitterOn = Boolean(jitter.brightness || jitter.contrast || jitter.saturation || jitter.hue);
  const loadImage = options.loadImage ?? fetchImage;
  const skipped = emptySkipReport();
  const n = source.length;
  const batches = dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);

  /** Loads sample `index`; a DataError under 'skip' is returned (reported in batch order later), not thrown. */
  async function load(index: number): Promise<Loaded | DataError> {
    const sample = await source.get(index);
    const where = `sample ${JSON.stringify(sample.id)}`;
    try {
      const img = sample.image;
      let image: RgbImage;
      const decodeOptions = { expectedSize: { width: sample.width, height: sample.height } };
      if (typeof img === 'string') image = await loadImage(img, decodeOptions);
      else if (img instanceof Uint8Array) image = decodeImage(img, where, decodeOptions);
      else image = img;
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
      return { sample, image };
    } catch (e) {
      if (!(e instanceof DataError) || onInvalid !== 'skip') throw e;
      return e.record ? e : new DataError({ file: e.file, record: where, kind: e.kind, problem: e.problem });
    }
  }

  function assemble(items: Loaded[], indices: number[], epoch: number): Batch {
    const targets: ImageTargets[] = [];
    const meta: ({ id: number | string } & ResizePlan)[] = [];
    const [H, W] = size;
    // The batch is prepared in one Float32Array (flip, resize, jitter, normalise, pad) and uploaded as
    // one tensor: faster than per-image tensor ops on every backend.
    const pixels = new Float32Array(items.length * H * W * 3);
    const mean = norm ? norm.mean : [0, 0, 0];
    const scale = norm ? norm.std.map((s) => 1 / s) : [1, 1, 1];
    items.forEach(({ sample, image }, k) => {
      const random = createRandom(mixSeed(seed, epoch, indices[k] as number, AUGMENT_STREAM));
      const flipped = flip > 0 && random() < flip;
      const params = jitterOn ? sampleColorJitter(random, jitter) : null;
      const plan = planResize(sample.width, sample.height, size, resize, flipped);
      const [nh, nw] = plan.size;
      // Flipping before resizing equals flipping after: half-pixel bilinear sampling is symmetric.
      const src = flipped ? flipHorizontal(image.data, image.width, image.height) : image.data;
      let rgb: ArrayLike<number> = nh === image.height && nw === image.width ? src : resizeBilinear(src, image.width, image.height, nw, nh);
      let unit = 1 / 255;
      if (params) {
        rgb = tf.tidy(() => colorJitter(tf.div(tf.tensor3d(rgb as Float32Array | Uint8Array, [nh, nw, 3], 'float32'), 255), params).dataSync() as Float32Array);
        unit = 1;
      }
      const [oy, ox] = plan.offset;
      const base = k * H * W * 3;
      for (let y = 0; y < nh; y++) {
        let o = base + 3 * ((y + oy) * W + ox);
        let i = 3 * y * nw;
        for (let x = 0; x < nw; x++, o += 3, i += 3) {
          pixels[o] = ((rgb[i] as number) * unit - (mean[0] as number)) * (scale[0] as number);
          pixels[o + 1] = ((rgb[i + 1] as number) * unit - (mean[1] as number)) * (scale[1] as number);
          pixels[o + 2] = ((rgb[i + 2] as number) * unit - (mean[2] as number)) * (scale[2] as number);
        }
      }
      // Targets.
      const keep: number[] = [];
      for (let j = 0; j < sample.labels.length; j++) {
        if ((dropCrowd && sample.iscrowd[j]) || (dropDifficult && sample.difficult[j])) continue;
        keep.push(j);
      }
      const boxesIn = new Float32Array(keep.length * 4);
      keep.forEach((j, m) => boxesIn.set(sample.boxes.subarray(4 * j, 4 * j + 4), 4 * m));
      targets.push({
        boxes: boxesToInput(boxesIn, plan),
        labels: Int32Array.from(keep, (j) => sample.labels[j] as number),
        iscrowd: Uint8Array.from(keep, (j) => sample.iscrowd[j] as number),
        difficult: Uint8Array.from(keep, (j) => sample.difficult[j] as number),
      });
      meta.push({ id: sample.id, ...plan });
    });
    const most = targets.reduce((m, t) => Math.max(m, t.labels.length), 0);
    const m = options.maxBoxes ?? most;
    if (most > m) {
      const k = targets.findIndex((t) => t.labels.length > m);
      throw new InvalidArgumentError('createLoader', 'maxBoxes', `is ${m}, but sample ${JSON.stringify(meta[k]?.id)} has ${targets[k]?.labels.length} boxes`);
    }
    const b = targets.length;
    const boxes = new Float32Array(b * m * 4);
    const labels = new Int32Array(b * m).fill(-1);
    const mask = new Float32Array(b * m);
    targets.forEach((t, i) => {
      boxes.set(t.boxes, i * m * 4);
      labels.set(t.labels, i * m);
      mask.fill(1, i * m, i * m + t.labels.length);
    });
    const batch = {
      images: tf.tensor4d(pixels, [b, H, W, 3]),
      boxes: tf.tensor3d(boxes, [b, m, 4]),
      labels: tf.tensor2d(labels, [b, m], 'int32'),
      mask: tf.tensor2d(mask, [b, m]),
      targets,
      meta,
      dispose() {
        tf.dispose([batch.images, batch.boxes, batch.labels, batch.mask]);
      },
    };
    return batch;
  }

  async function* epoch(e = 0): AsyncGenerator<Batch, void, undefined> {
    if (!Number.isSafeInteger(e) || e < 0) throw new InvalidArgumentError('Loader.epoch', 'epoch', `must be an integer >= 0, got ${e}`);
    const order = shuffle ? permutation(n, mixSeed(seed, e)) : Int32Array.from({ length: n }, (_, i) => i);
    const indicesOf = (b: number) => Array.from(order.subarray(b * batchSize, Math.min(n, (b + 1) * batchSize)));
    const fetchBatch = (b: number) => {
      const p = Promise.all(indicesOf(b).map(load));
      p.catch(() => {}); // awaited below; this only keeps an abandoned prefetch from being an unhandled rejection
      return p;
    };
    let next = batches > 0 ? fetchBatch(0) : null;
    for (let b = 0; b < batches; b++) {
      const loaded = await (next as Promise<(Loaded | DataError)[]>);
      // Decode the next batch while this one is being used.
      next = b + 1 < batches ? fetchBatch(b + 1) : null;
      const indices = indicesOf(b);
      const items: Loaded[] = [];
      const kept: number[] = [];
      loaded.forEach((l, k) => {
        if (l instanceof DataError) {
          reportIssue('skip', skipped, l);
          return;
        }
        items.push(l);
        kept.push(indices[k] as number);
      });
      if (items.length === 0) continue;
      yield assemble(items, kept, e);
    }
  }

  return {
    size: n,
    batchesPerEpoch: batches,
    skipped,
    epoch,
  };
}
