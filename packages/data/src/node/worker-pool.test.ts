// createWorkerPool: batches from worker threads equal the in-thread loader's bit for bit (files on
// disk, the synthetic set rendered in the worker, in-memory pixels; SSD augmentation and jitter), the
// decoded-image cache, bad images reported with file and sample, skipped or fatal.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InvalidArgumentError, tf } from '@detkit/core';
import { describeEachBackend } from '@detkit/test-utils';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { DataError, createInlineExecutor, createLoader, encodePng, syntheticSample, syntheticSource, type DetectionSample, type LoaderOptions, type SampleSource } from '../index';
import { createWorkerPool, loadImageFile, type WorkerPool } from './index';

let dir = '';
let pool: WorkerPool;
const files: DetectionSample[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'detkit-pool-'));
  pool = createWorkerPool({ threads: 2, cacheBytes: 1 << 20, workerFile: inject('dataWorkerFile') });
  // 14 synthetic images of several sizes written as PNG files.
  for (let i = 0; i < 14; i++) {
    const s = syntheticSample(i, { config: { imageSize: 32 + 8 * (i % 4) } });
    const file = path.join(dir, `${i}.png`);
    await writeFile(file, encodePng(s.image as { width: number; height: number; data: Uint8Array }));
    files.push({ ...s, image: file });
  }
});
afterAll(async () => {
  await pool.close();
  await rm(dir, { recursive: true, force: true });
});

/** Every batch of one epoch, as plain arrays (pixels, padded boxes, labels, mask, targets, meta). */
async function epochOf(options: LoaderOptions, epoch: number) {
  const loader = createLoader(options);
  const out = [];
  for await (const b of loader.epoch(epoch)) {
    // Pixels compared as bytes: bit for bit.
    out.push({ images: new Uint8Array((b.images.dataSync() as Float32Array).slice().buffer), boxes: b.boxes.dataSync().slice(), labels: b.labels.dataSync().slice(), mask: b.mask.dataSync().slice(), targets: b.targets, meta: b.meta });
    b.dispose();
  }
  return { batches: out, skipped: loader.skipped };
}

describeEachBackend('createWorkerPool', () => {
  it('gives the same batches as the in-thread loader, bit for bit: files on disk, SSD augmentation, jitter', async () => {
    const base = { source: files, imageSize: [40, 48] as [number, number], batchSize: 4, seed: 7, augment: 'ssd' as const, jitter: { brightness: 0.3, hue: 0.1 } };
    for (const epoch of [0, 3]) {
      const inline = await epochOf({ ...base, loadImage: loadImageFile }, epoch);
      const pooled = await epochOf({ ...base, executor: pool }, epoch);
      expect(pooled.batches.length).toBe(4);
      expect(pooled).toEqual(inline);
    }
    // The second pass over the files was served from the cache.
    expect(pool.cache.hits).toBeGreaterThan(0);
    expect(pool.cache.bytes).toBeGreaterThan(0);
    expect(pool.cache.bytes).toBeLessThanOrEqual(1 << 20);
  });

  it('the in-thread cache: same batches, later epochs read no file', async () => {
    const base = { source: files, imageSize: 40, batchSize: 5, seed: 2, augment: 'ssdlite' as const };
    const plain = await epochOf({ ...base, loadImage: loadImageFile }, 1);
    const inline = createInlineExecutor({ loadImage: loadImageFile, cacheBytes: 1 << 20 });
    expect(await epochOf({ ...base, executor: inline }, 1)).toEqual(plain);
    expect([inline.cache.hits, inline.cache.misses]).toEqual([0, files.length]);
    let reads = 0;
    const counting = createInlineExecutor({ loadImage: (p, o) => (reads++, loadImageFile(p, o)), cacheBytes: 1 << 20 });
    await epochOf({ ...base, executor: counting }, 0);
    expect(reads).toBe(files.length);
    expect(await epochOf({ ...base, executor: counting }, 1)).toEqual(plain);
    expect(reads).toBe(files.length); // all from the cache
    // A budget that holds none: nothing kept, every image read again.
    const tiny = createInlineExecutor({ loadImage: loadImageFile, cacheBytes: 100 });
    await epochOf({ ...base, executor: tiny }, 0);
    expect(tiny.cache.bytes).toBe(0);
  });

  it('the synthetic set is rendered in the worker from its spec; a source without one sends its pixels', async () => {
    const synth = syntheticSource({ count: 9, config: { imageSize: 40 }, seed: 2 });
    expect(synth.spec).toEqual({ kind: 'synthetic', options: { config: { imageSize: 40 }, seed: 2, split: 'train', count: 9 } });
    const base = { imageSize: 40, batchSize: 4, seed: 1, augment: 'ssdlite' as const };
    const inline = await epochOf({ ...base, source: synth }, 1);
    expect(await epochOf({ ...base, source: synth, executor: pool }, 1)).toEqual(inline);
    const plain: SampleSource = { length: synth.length, classes: synth.classes, get: (i) => synth.get(i) }; // no spec
    expect(await epochOf({ ...base, source: plain, executor: pool }, 1)).toEqual(inline);
  });

  it('a bad image: a DataError naming the file and sample, or skipped and counted, as with the in-thread loader', async () => {
    const broken = path.join(dir, 'broken.png');
    await writeFile(broken, new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 0, 0]));
    const nanBoxes = files[7]!.boxes.slice();
    nanBoxes[2] = NaN;
    const source = [
      ...files.slice(0, 5),
      { ...files[5]!, id: 'bad', image: broken },
      { ...files[6]!, id: 'gone', image: path.join(dir, 'missing.png') },
      { ...files[7]!, id: 'nan', boxes: nanBoxes }, // a bad record from a custom source
    ];
    const base = { source, imageSize: 32, batchSize: 3, shuffle: false };
    const err = await epochOf({ ...base, executor: pool }, 0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err).toMatchObject({ file: broken, record: 'sample "bad"', kind: 'bad-image' });
    const skipInline = await epochOf({ ...base, loadImage: loadImageFile, onInvalid: 'skip' }, 0);
    const skipPool = await epochOf({ ...base, executor: pool, onInvalid: 'skip' }, 0);
    expect(skipPool).toEqual(skipInline);
    expect(skipPool.skipped).toMatchObject({ count: 3, byKind: { 'bad-image': 1, 'missing-image': 1, 'box-not-finite': 1 } });
    expect(skipPool.skipped.examples[2]).toMatchObject({ file: files[7]!.image, record: 'sample "nan"' });
    expect(skipPool.skipped.examples[2]!.problem).toContain('box 0 [');
    expect(skipPool.batches.flatMap((b) => b.meta.map((m) => m.id))).toEqual([0, 1, 2, 3, 4]);
  });

  it('bad options: typed errors', () => {
    expect(() => createWorkerPool({ threads: 0 })).toThrow(InvalidArgumentError);
    expect(() => createWorkerPool({ cacheBytes: -1 })).toThrow(/cacheBytes/);
    expect(() => createLoader({ source: files, imageSize: 8, batchSize: 1, executor: pool, loadImage: loadImageFile })).toThrow(/loadImage/);
    expect(() => createLoader({ source: files, imageSize: 8, batchSize: 1, executor: pool, cacheBytes: 10 })).toThrow(/cacheBytes/);
    expect(() => createLoader({ source: files, imageSize: 8, batchSize: 1, prefetch: 0 })).toThrow(/prefetch/);
  });

  it('leaves no tensors behind', async () => {
    const before = tf.memory().numTensors;
    await epochOf({ source: files, imageSize: 32, batchSize: 5, executor: pool, augment: 'ssd' }, 0);
    expect(tf.memory().numTensors).toBe(before);
  });
});
