// Streaming keeps memory flat: 10,000 synthetic images through the full pipeline (render, letterbox,
// flip, normalise, batch) while the heap and tfjs' tensor count stay where they were after warm-up.
import { setupBackend, tf } from '@detkit/core';
import { beforeAll, expect, it } from 'vitest';
import { createLoader, syntheticSource } from './index';

const gc = (globalThis as { gc?: () => void }).gc;

beforeAll(async () => {
  await setupBackend('cpu');
});

function used(): number {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

// Alone this takes about 3 s; the long timeout is for CI, where every package's tests share 2 cores.
it('streams 10,000 synthetic images with flat memory', { timeout: 240_000 }, async () => {
  expect(gc, 'the data package runs its tests with --expose-gc').toBeTypeOf('function');
  // 64 x 64 images (48 KiB of float32 pixels each once batched), made on demand and never kept.
  const source = syntheticSource({ count: 10_000, config: { imageSize: 64, objectSize: [8, 32], clutter: 2 } });
  const loader = createLoader({ source, imageSize: 64, batchSize: 100, flip: 0.5, seed: 1 });
  const tensorsBefore = tf.memory().numTensors;
  let images = 0, boxes = 0, batches = 0;
  // Heap + array buffers after a full collection, every 10 batches (1,000 images) after warm-up.
  const samples: number[] = [];
  for await (const batch of loader.epoch(0)) {
    images += batch.images.shape[0];
    boxes += batch.targets.reduce((n, t) => n + t.labels.length, 0);
    batch.dispose();
    batches++;
    if (batches >= 20 && batches % 10 === 0) samples.push(used());
  }
  expect(images).toBe(10_000);
  expect(boxes).toBeGreaterThan(10_000);
  expect(tf.memory().numTensors).toBe(tensorsBefore);
  expect(samples).toHaveLength(9);
  // Between the first three samples (images 2,000-4,000) and the last three (8,000-10,000) 6,000 images
  // went through: 6,000 x 64 x 64 x 3 float32 = 281 MiB. Without a leak the samples do not rise (in local
  // runs the growth is <= 0); a leak of 1.5 KiB per image would add 8.8 MiB and fail.
  const growth = mean(samples.slice(-3)) - mean(samples.slice(0, 3));
  expect(growth, `heap + array buffers grew by ${(growth / 2 ** 20).toFixed(1)} MiB: ${samples.map((v) => (v / 2 ** 20).toFixed(1)).join(', ')}`).toBeLessThan(8 * 2 ** 20);
});
