import { availableParallelism } from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from '@detkit/core';
import { Piscina } from 'piscina';
import { createImageCache, imageCacheKey, type BatchRequest, type ImageCache, type LoaderExecutor, type PreparedBatch } from '../executor';
import type { WorkerResult, WorkerTask } from './worker';

/** Options of {@link createWorkerPool}. */
export interface WorkerPoolOptions {
  /** Worker threads; default max(1, min(4, cores - 1)) (one core is left to training). */
  threads?: number;
  /**
   * Byte budget of the decoded-image cache, shared by all workers (pixels in SharedArrayBuffers, 3 bytes
   * per pixel); default 0. Images given by path are kept once decoded while they fit, so later epochs
   * skip reading and decoding them.
   */
  cacheBytes?: number;
  /**
   * The worker script; default `worker.js` beside this module (`dist/worker.js` of the package). For
   * tests and custom bundles.
   */
  workerFile?: string | URL;
}

/** The worker script beside this module: `worker.js` in the ESM build, `worker.cjs` in the CommonJS one. */
function defaultWorkerFile(): string | URL {
  // In CommonJS `__filename` is defined (and import.meta is not); in ESM the reverse.
  if (typeof __filename === 'string') return path.join(path.dirname(__filename), 'worker.cjs');
  return new URL('./worker.js', import.meta.url);
}

/** A pool of worker threads that prepares the loader's batches; close it when done. */
export interface WorkerPool extends LoaderExecutor {
  /** The threads. */
  readonly threads: number;
  /** The decoded-image cache (its `bytes`, `hits` and `misses` say how it is doing). */
  readonly cache: ImageCache;
  /** Stops the threads (waits for running tasks). */
  close(): Promise<void>;
}

/**
 * Worker threads for the input pipeline (Node): `createLoader({ ..., executor: createWorkerPool() })`
 * decodes, augments, resizes and normalises images off the training thread, `prefetch` batches ahead
 * (default threads + 1), through `piscina`. One task per batch; pixels come back in shared memory and
 * the training thread only makes the tensors. The batches equal the in-thread loader's bit for bit
 * (the same `prepareBatch` runs in both).
 *
 * Samples whose source has a `spec` (the synthetic set) are made in the worker from their index;
 * others are sent with their pixels or path. Paths are read as files (or fetched, for http(s) URLs): a
 * custom `loadImage` cannot cross into a thread and is refused with a pool.
 *
 * ```ts
 * const pool = createWorkerPool({ threads: 2, cacheBytes: 512 << 20 });
 * const loader = createLoader({ source: train.samples, imageSize: 300, batchSize: 32, augment: 'ssd', executor: pool });
 * for await (const batch of loader.epoch(0)) { ...; batch.dispose(); }
 * await pool.close();
 * ```
 */
export function createWorkerPool(options: WorkerPoolOptions = {}): WorkerPool {
  const op = 'createWorkerPool';
  const threads = options.threads ?? Math.max(1, Math.min(4, availableParallelism() - 1));
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) throw new InvalidArgumentError(op, 'threads', `must be an integer in [1, 256], got ${String(threads)}`);
  const cacheBytes = options.cacheBytes ?? 0;
  if (!Number.isSafeInteger(cacheBytes) || cacheBytes < 0) throw new InvalidArgumentError(op, 'cacheBytes', `must be an integer >= 0, got ${String(cacheBytes)}`);
  const file = options.workerFile ?? defaultWorkerFile();
  const piscina = new Piscina<WorkerTask, WorkerResult>({
    filename: file instanceof URL ? file.href : file,
    minThreads: threads,
    maxThreads: threads,
    concurrentTasksPerWorker: 1,
    idleTimeout: 60_000,
  });
  const cache = createImageCache(cacheBytes);
  let closed = false;
  return {
    threads,
    concurrency: threads,
    inProcess: false,
    cache,
    async prepareBatch(request: BatchRequest): Promise<PreparedBatch> {
      if (closed) throw new InvalidArgumentError('WorkerPool.prepareBatch', 'pool', 'is closed');
      const keys = request.items.map((item) => (item.sample && cache.budget > 0 ? imageCacheKey(item.sample) : null));
      const items = request.items.map((item, k) => {
        const key = keys[k];
        const cached = key ? cache.get(key) : undefined;
        return cached ? { ...item, cached } : item;
      });
      const result = await piscina.run({ request: { ...request, items }, cacheRoom: cache.budget - cache.bytes });
      for (const { position, image } of result.decoded) {
        const key = keys[position];
        if (key) cache.offer(key, image);
      }
      const { pixels, kept, targets, meta, issues } = result;
      return { pixels, kept, targets, meta, issues };
    },
    async close() {
      closed = true;
      await piscina.destroy();
    },
  };
}
