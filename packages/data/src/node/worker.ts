// The worker-thread side of createWorkerPool (Node): prepares one batch per task with the same
// prepareBatch the in-thread executor runs. Paths are read from disk (or fetched, for http(s) URLs).
// Pixels go back in SharedArrayBuffers: nothing is copied between threads.
import { fileURLToPath } from 'node:url';
import { prepareBatch, type BatchRequest, type PreparedBatch } from '../executor';
import { fetchImage, type ImageLoader } from '../load-image';
import type { RgbImage } from '../types';
import { loadImageFile } from './load-image-file';

/** One task: a batch, and how many bytes of decoded images the pool's cache can still take. */
export interface WorkerTask {
  readonly request: BatchRequest;
  readonly cacheRoom: number;
}

/** A prepared batch, with the images decoded for it that the pool may cache (positions into the request's items). */
export interface WorkerResult extends PreparedBatch {
  readonly decoded: readonly { readonly position: number; readonly image: RgbImage }[];
}

const loadImage: ImageLoader = (source, options) => {
  if (/^https?:\/\//i.test(source)) return fetchImage(source, options);
  return loadImageFile(source.startsWith('file:') ? fileURLToPath(source) : source, options);
};

/** Copies pixels into shared memory, so the pool's cache and other workers use them without copies. */
function shared(image: RgbImage): RgbImage {
  const data = new Uint8Array(new SharedArrayBuffer(image.data.byteLength));
  data.set(image.data);
  return { width: image.width, height: image.height, data };
}

/** Piscina's task function. */
export default async function prepareInWorker(task: WorkerTask): Promise<WorkerResult> {
  let room = task.cacheRoom;
  const decoded: { position: number; image: RgbImage }[] = [];
  const result = await prepareBatch(task.request, {
    loadImage,
    decoded: (position, _sample, image) => {
      if (image.data.byteLength > room) return undefined;
      room -= image.data.byteLength;
      const s = shared(image);
      decoded.push({ position, image: s });
      return s;
    },
    allocate: (length) => new Float32Array(new SharedArrayBuffer(length * 4)),
  });
  return { ...result, decoded };
}
