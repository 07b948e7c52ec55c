import { InvalidArgumentError, tf } from '@detkit/core';
import { checkColorJitter, type ColorJitterOptions } from './color-jitter';
import { DataError, emptySkipReport, reportIssue, type OnInvalid, type SkipReport } from './errors';
import { createInlineExecutor, type BatchItem, type BatchRequest, type LoaderExecutor, type PreparedBatch } from './executor';
import { type ImageLoader } from './load-image';
import type { ImageMeta, Normalization, PrepareConfig } from './prepare';
import { mixSeed, permutation } from './random';
import { inputSize, type ResizeMode } from './resize-plan';
import { resolveAugment, type AugmentOptions, type AugmentPreset } from './ssd-augment';
import type { DetectionSample, SampleSource, SourceSpec } from './types';

export type { ImageMeta, ImageTargets, Normalization } from './prepare';
import type { ImageTargets } from './prepare';

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
  /** Probability of a horizontal flip per image (boxes flipped alike); default 0 (off), or 0.5 when `augment` is given and is not 'none' (torchvision's hflip_prob). */
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
  /**
   * Reads images given by path or URL; default `fetchImage`. In Node: `loadImageFile` from
   * `@detkit/data/node`. Only for the default (in-thread) executor: a worker pool reads files itself.
   */
  loadImage?: ImageLoader;
  /**
   * SSD data augmentation, as torchvision's detection references: `'ssd'` (photometric distort,
   * zoom-out with the mean as fill, IoU crop, and `flip` defaulting to 0.5), `'ssdlite'` (IoU crop,
   * `flip` 0.5), `'none'` (default), or the pieces with their options. Applied to the original image
   * before it is fitted to `imageSize`; boxes, labels and flags follow. See `AugmentOptions`.
   */
  augment?: AugmentPreset | AugmentOptions;
  /**
   * Where images are prepared: default an in-thread executor (`createInlineExecutor({ loadImage,
   * cacheBytes })`); in Node, `createWorkerPool()` from `@detkit/data/node` prepares them in worker
   * threads. The batches are the same, bit for bit.
   */
  executor?: LoaderExecutor;
  /** Batches prepared ahead of the one being used; default 1 in-thread (it overlaps file reads only), the pool's threads + 1 with a worker pool. */
  prefetch?: number;
  /** Byte budget of the default executor's decoded-image cache (images given by path); default 0. */
  cacheBytes?: number;
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
  readonly meta: readonly ImageMeta[];
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
  const augment = resolveAugment(op, o.augment);
  const preset = o.augment !== undefined && o.augment !== 'none';
  const flip = o.flip ?? (preset ? 0.5 : 0);
  if (typeof flip !== 'number' || !(flip >= 0 && flip <= 1)) throw new InvalidArgumentError(op, 'flip', `must be a probability in [0, 1], got ${String(flip)}`);
  checkColorJitter(op, o.jitter ?? {});
  const norm = o.normalize === undefined ? IMAGENET_NORMALIZATION : o.normalize;
  if (norm !== false && (!norm || norm.mean?.length !== 3 || norm.std?.length !== 3 || !norm.std.every((v) => v > 0))) {
    throw new InvalidArgumentError(op, 'normalize', 'must be false or { mean: [r, g, b], std: [r, g, b] } with std > 0');
  }
  if (o.maxBoxes !== undefined && (!Number.isInteger(o.maxBoxes) || o.maxBoxes < 0)) throw new InvalidArgumentError(op, 'maxBoxes', `must be an integer >= 0, got ${String(o.maxBoxes)}`);
  const onInvalid = o.onInvalid ?? 'throw';
  if (onInvalid !== 'throw' && onInvalid !== 'skip') throw new InvalidArgumentError(op, 'onInvalid', `must be 'throw' or 'skip', got ${JSON.stringify(onInvalid)}`);
  const seed = o.seed ?? 0;
  if (!Number.isSafeInteger(seed)) throw new InvalidArgumentError(op, 'seed', `must be an integer, got ${String(seed)}`);
  if (o.executor !== undefined) {
    if (typeof o.executor?.prepareBatch !== 'function') throw new InvalidArgumentError(op, 'executor', 'must be a LoaderExecutor (createInlineExecutor(), or createWorkerPool() from @detkit/data/node)');
    if (!o.executor.inProcess && o.loadImage) {
      throw new InvalidArgumentError(op, 'loadImage', 'cannot be used with a worker executor: workers read paths themselves (files, or http(s) URLs with fetch)');
    }
    if (o.cacheBytes !== undefined) throw new InvalidArgumentError(op, 'cacheBytes', "belongs to the executor when one is given (createWorkerPool({ cacheBytes }))");
  }
  if (o.cacheBytes !== undefined && !(Number.isSafeInteger(o.cacheBytes) && o.cacheBytes >= 0)) throw new InvalidArgumentError(op, 'cacheBytes', `must be an integer >= 0, got ${String(o.cacheBytes)}`);
  const jitter: ColorJitterOptions | null = o.jitter && (o.jitter.brightness || o.jitter.contrast || o.jitter.saturation || o.jitter.hue) ? { ...o.jitter } : null;
  const config: PrepareConfig = {
    size,
    resize,
    seed,
    flip,
    jitter,
    normalize: norm === false ? false : { mean: [...norm.mean], std: [...norm.std] },
    dropCrowd: o.dropCrowd ?? true,
    dropDifficult: o.dropDifficult ?? false,
    augment,
  };
  return { config, onInvalid };
}

/**
 * The input pipeline: streams batches from a source, fitting each image to the model input
 * (letterbox or stretch, bilinear with half-pixel centres as `tf.image.resizeBilinear(..., false, true)`
 * and `torch.nn.functional.interpolate(..., align_corners=False)`, no antialiasing), with boxes
 * transformed alike, optional SSD augmentation (`augment`), a seeded horizontal flip, seeded
 * photometric jitter (torchvision `ColorJitter`), normalisation, and padding of boxes to a common count.
 *
 * ```ts
 * const loader = createLoader({ source: syntheticSource(), imageSize: 128, batchSize: 16, flip: 0.5 });
 * for await (const batch of loader.epoch(0)) {
 *   // batch.images [16, 128, 128, 3]; batch.boxes [16, M, 4] + batch.mask; batch.targets per image
 *   batch.dispose();
 * }
 * ```
 *
 * The images are prepared by an executor (in this thread by default, or in worker threads with
 * `createWorkerPool` from `@detkit/data/node`), `prefetch` batches ahead; the batches do not depend on
 * which. Each image is checked when it is loaded: a missing or undecodable image, or one whose decoded
 * size differs from the annotation's, is a {@link DataError} naming the file and sample (or, with
 * `onInvalid: 'skip'`, left out of its batch and counted in `skipped`).
 */
export function createLoader(options: LoaderOptions): Loader {
  const { config, onInvalid } = checkOptions(options);
  const source = sourceOf(options.source);
  const { batchSize, dropLast = false } = options;
  const shuffle = options.shuffle ?? true;
  const executor =
    options.executor ?? createInlineExecutor({ ...(options.loadImage ? { loadImage: options.loadImage } : {}), ...(options.cacheBytes ? { cacheBytes: options.cacheBytes } : {}) });
  const prefetch = options.prefetch ?? (executor.inProcess ? 1 : executor.concurrency + 1);
  if (!Number.isInteger(prefetch) || prefetch < 1) throw new InvalidArgumentError('createLoader', 'prefetch', `must be an integer >= 1, got ${String(prefetch)}`);
  const spec: SourceSpec | undefined = !executor.inProcess ? source.spec : undefined;
  const skipped = emptySkipReport();
  const n = source.length;
  const batches = dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);

  /** Sends batch `b` of an epoch to the executor; samples are made here unless the executor can make them. */
  async function request(indices: number[], epoch: number): Promise<{ prepared: PreparedBatch; early: { position: number; error: DataError }[] }> {
    const early: { position: number; error: DataError }[] = [];
    const items: BatchItem[] = [];
    const positions: number[] = [];
    for (let k = 0; k < indices.length; k++) {
      const index = indices[k] as number;
      if (spec) {
        items.push({ index });
        positions.push(k);
        continue;
      }
      try {
        items.push({ index, sample: await source.get(index) });
        positions.push(k);
      } catch (e) {
        if (!(e instanceof DataError)) throw e;
        early.push({ position: k, error: e });
      }
    }
    const req: BatchRequest = { epoch, config, items, ...(spec ? { source: spec } : {}) };
    const prepared = await executor.prepareBatch(req);
    // Positions back to the batch's own order.
    return {
      prepared: { ...prepared, kept: prepared.kept.map((p) => positions[p] as number), issues: prepared.issues.map((i) => ({ position: positions[i.position] as number, issue: i.issue })) },
      early,
    };
  }

  function tensors(prepared: PreparedBatch): Batch {
    const [H, W] = config.size;
    const { targets, meta } = prepared;
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
      images: tf.tensor4d(prepared.pixels, [b, H, W, 3]),
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
    const order = shuffle ? permutation(n, mixSeed(config.seed, e)) : Int32Array.from({ length: n }, (_, i) => i);
    const indicesOf = (b: number) => Array.from(order.subarray(b * batchSize, Math.min(n, (b + 1) * batchSize)));
    const pending: Promise<Awaited<ReturnType<typeof request>>>[] = [];
    let next = 0;
    const fill = () => {
      while (next < batches && pending.length < prefetch) {
        const p = request(indicesOf(next++), e);
        p.catch(() => {}); // awaited in order below; this only keeps an abandoned prefetch from being an unhandled rejection
        pending.push(p);
      }
    };
    fill();
    while (pending.length > 0) {
      const { prepared, early } = await (pending.shift() as Promise<Awaited<ReturnType<typeof request>>>);
      fill();
      // Problems in batch order: the first one throws under 'throw', each is counted under 'skip'.
      const problems = [...early.map((x) => ({ position: x.position, issue: x.error as DataError | { file: string; record: string; kind: DataError['kind']; problem: string } })), ...prepared.issues].sort((a, b) => a.position - b.position);
      for (const { issue } of problems) {
        if (onInvalid !== 'skip') {
          const { file, record, kind, problem } = issue;
          throw new DataError({ file, record, kind, problem }, { skippable: true, ...(issue instanceof DataError ? { cause: issue } : {}) });
        }
        reportIssue('skip', skipped, { file: issue.file, record: issue.record, kind: issue.kind, problem: issue.problem });
      }
      if (prepared.targets.length === 0) continue;
      yield tensors(prepared);
    }
  }

  return {
    size: n,
    batchesPerEpoch: batches,
    skipped,
    epoch,
  };
}
