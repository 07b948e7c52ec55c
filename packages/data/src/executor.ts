/**
 * Executors: where the input pipeline's per-image work (load, decode, augment, resize, normalise) runs.
 * The loader hands an executor one batch at a time and gets back the batch's pixels and targets; it
 * makes the tensors itself. {@link createInlineExecutor} runs on the calling thread (any JavaScript
 * runtime); `createWorkerPool` from `@detkit/data/node` runs in worker threads. Both call
 * {@link prepareBatch}, so they give the same bits.
 */
import { DataError, type DataIssue } from './errors';
import { fetchImage, type ImageLoader } from './load-image';
import { loadSampleImage, prepareImage, checkImage, checkSample, sampleIssue, type ImageMeta, type ImageTargets, type PrepareConfig } from './prepare';
import { syntheticSource } from './synthetic';
import type { DetectionSample, RgbImage, SourceSpec } from './types';

export type { SourceSpec } from './types';

/** One image of a {@link BatchRequest}: its index in the source, and the sample unless `source` can make it. */
export interface BatchItem {
  readonly index: number;
  readonly sample?: DetectionSample;
  /** Decoded pixels of the sample's image from a cache, when the executor keeps one. @internal */
  readonly cached?: RgbImage;
}

/** What an executor is asked to prepare. Plain data (structured-cloneable). */
export interface BatchRequest {
  readonly epoch: number;
  readonly config: PrepareConfig;
  readonly items: readonly BatchItem[];
  /** Makes samples for items without one. */
  readonly source?: SourceSpec;
}

/** A prepared batch: the images that could be prepared, packed, and the problems of the others. */
export interface PreparedBatch {
  /** Float32Array[K * H * W * 3]: the K prepared images, normalised, in `kept` order. */
  readonly pixels: Float32Array;
  /** Positions in `request.items` of the prepared images, ascending. */
  readonly kept: readonly number[];
  readonly targets: readonly ImageTargets[];
  readonly meta: readonly ImageMeta[];
  /** Items that could not be prepared (a missing or bad image): their position and the problem. */
  readonly issues: readonly { readonly position: number; readonly issue: DataIssue }[];
}

/** Runs {@link BatchRequest}s. */
export interface LoaderExecutor {
  /** Prepares one batch. Rejects only for faults that are not data problems (those are `issues`). */
  prepareBatch(request: BatchRequest): Promise<PreparedBatch>;
  /** Batches it can prepare at the same time (worker threads); the loader's default prefetch is this + 1 for an executor that is not `inProcess`. */
  readonly concurrency: number;
  /** Whether it runs in this thread: it may then be given samples whose `image` is any {@link ImageSource}, and the loader's `loadImage`. */
  readonly inProcess: boolean;
}

/** A cache of decoded images with a byte budget: an image is kept when it fits, and kept for good. */
export interface ImageCache {
  /** Cached pixels for `key`. */
  get(key: string): RgbImage | undefined;
  /** Keeps `image` under `key` when it fits in what is left of the budget; returns whether it was kept. */
  offer(key: string, image: RgbImage): boolean;
  /** Bytes the cache may hold. */
  readonly budget: number;
  /** Bytes held. */
  readonly bytes: number;
  /** Lookups that found an image / did not. */
  readonly hits: number;
  readonly misses: number;
}

/**
 * A decoded-image cache holding at most `budget` bytes of pixels. Images are added while they fit and
 * never evicted: an epoch visits every image once in random order, so evicting (LRU or otherwise)
 * cannot raise the hit rate above budget / data size, which filling once already gives.
 */
export function createImageCache(budget: number): ImageCache {
  const map = new Map<string, RgbImage>();
  let bytes = 0, hits = 0, misses = 0;
  return {
    get(key) {
      const v = map.get(key);
      if (v) hits++;
      else misses++;
      return v;
    },
    offer(key, image) {
      if (map.has(key) || bytes + image.data.byteLength > budget) return false;
      map.set(key, image);
      bytes += image.data.byteLength;
      return true;
    },
    budget,
    get bytes() {
      return bytes;
    },
    get hits() {
      return hits;
    },
    get misses() {
      return misses;
    },
  };
}

/** The cache key of a sample's image: its path and the size it must have (which decides EXIF handling). */
export function imageCacheKey(sample: DetectionSample): string | null {
  return typeof sample.image === 'string' ? `${sample.width}x${sample.height}:${sample.image}` : null;
}

/** What {@link prepareBatch} needs from its surroundings. */
export interface PrepareBatchDeps {
  /** Reads images given by path or URL. */
  readonly loadImage: ImageLoader;
  /** Called with each image it decoded (to cache it); may return a copy to use instead (e.g. in shared memory). */
  readonly decoded?: (position: number, sample: DetectionSample, image: RgbImage) => RgbImage | void;
  /** The pixel buffer to write into; default a new Float32Array. */
  readonly allocate?: (length: number) => Float32Array;
}

const sources = new Map<string, ReturnType<typeof syntheticSource>>();

/** The sample of an item: its own, or made from the request's source spec. */
function sampleOf(request: BatchRequest, item: BatchItem): DetectionSample {
  if (item.sample) return item.sample;
  if (!request.source || request.source.kind !== 'synthetic') throw new Error(`batch item ${item.index} has no sample and the request no source`);
  const key = JSON.stringify(request.source.options);
  let src = sources.get(key);
  if (!src) {
    src = syntheticSource(request.source.options);
    if (sources.size > 16) sources.clear();
    sources.set(key, src);
  }
  return src.get(item.index) as DetectionSample;
}

/**
 * Prepares every item of a batch (load, decode, check, {@link prepareImage}) into one Float32Array.
 * Data problems (a missing, undecodable or mis-sized image) become `issues`; other errors reject.
 */
export async function prepareBatch(request: BatchRequest, deps: PrepareBatchDeps): Promise<PreparedBatch> {
  const { items, config, epoch } = request;
  const loaded = await Promise.all(
    items.map(async (item, position) => {
      let sample: DetectionSample | undefined;
      try {
        sample = sampleOf(request, item);
        checkSample(sample);
        if (item.cached) {
          checkImage(sample, item.cached);
          return { sample, image: item.cached };
        }
        let image = await loadSampleImage(sample, deps.loadImage);
        if (deps.decoded && typeof sample.image === 'string') image = deps.decoded(position, sample, image) ?? image;
        return { sample, image };
      } catch (e) {
        if (!(e instanceof DataError)) throw e;
        return { issue: sample ? sampleIssue(sample, e) : { file: e.file, record: e.record, kind: e.kind, problem: e.problem } };
      }
    }),
  );
  const [H, W] = config.size;
  const per = H * W * 3;
  const kept: number[] = [];
  const issues: { position: number; issue: DataIssue }[] = [];
  loaded.forEach((l, position) => {
    if ('issue' in l) issues.push({ position, issue: l.issue as DataIssue });
    else kept.push(position);
  });
  const pixels = deps.allocate ? deps.allocate(kept.length * per) : new Float32Array(kept.length * per);
  const targets: ImageTargets[] = [];
  const meta: ImageMeta[] = [];
  kept.forEach((position, k) => {
    const l = loaded[position] as { sample: DetectionSample; image: RgbImage };
    const r = prepareImage(l.sample, l.image, (items[position] as BatchItem).index, epoch, config, pixels, k * per);
    targets.push(r.target);
    meta.push(r.meta);
  });
  return { pixels, kept, targets, meta, issues };
}

/** Options of {@link createInlineExecutor}. */
export interface InlineExecutorOptions {
  /** Reads images given by path or URL; default {@link fetchImage} (in Node pass `loadImageFile`). */
  loadImage?: ImageLoader;
  /** Byte budget of the decoded-image cache (images given by path); default 0 (no cache). */
  cacheBytes?: number;
}

/**
 * An executor that prepares batches on the calling thread (works in browsers). The loader uses one
 * by default; image reads still overlap with training, decoding and augmentation do not.
 */
export function createInlineExecutor(options: InlineExecutorOptions = {}): LoaderExecutor & { readonly cache: ImageCache } {
  const loadImage = options.loadImage ?? fetchImage;
  const cache = createImageCache(options.cacheBytes ?? 0);
  return {
    concurrency: 1,
    inProcess: true,
    cache,
    prepareBatch(request) {
      const items = cache.budget > 0
        ? request.items.map((item) => {
            const key = item.sample ? imageCacheKey(item.sample) : null;
            const cached = key ? cache.get(key) : undefined;
            return cached ? { ...item, cached } : item;
          })
        : request.items;
      return prepareBatch({ ...request, items }, {
        loadImage,
        decoded: (_position, sample, image) => {
          const key = imageCacheKey(sample);
          if (key && cache.budget > 0) cache.offer(key, image);
        },
      });
    },
  };
}
