#!/usr/bin/env node
// How long does the training thread wait for each batch? Runs the loader over PNG files on disk with a
// simulated training step of S ms (a busy loop on the main thread, as a tfjs step occupies it) and
// reports the time the consumer waits for each batch after the first, in-thread vs in a worker pool.
//
//   npx -y pnpm@10 --filter @detkit/data build && node apps/bench/loader-idle.mjs [--step 300] [--batches 12]
//     [--threads 1] [--size 256] [--batch 16] [--images 256] [--augment ssd]
//
// Uses the built @detkit/data (dist/). Images: the synthetic 'hard' preset (256 x 256), written once to a
// temporary folder as PNG, read back with readCoco like a user's COCO folder.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setupBackend } from '@detkit/core';
import { createLoader } from '@detkit/data';
import { createWorkerPool, loadImageFile, readCoco, writeSynthetic } from '@detkit/data/node';

const { values: a } = parseArgs({
  options: {
    step: { type: 'string', default: '300' },
    batches: { type: 'string', default: '12' },
    threads: { type: 'string', default: '1' },
    size: { type: 'string', default: '256' },
    batch: { type: 'string', default: '16' },
    images: { type: 'string', default: '256' },
    augment: { type: 'string', default: 'ssd' },
    backend: { type: 'string', default: 'cpu' },
  },
});
const step = Number(a.step), batches = Number(a.batches), threads = Number(a.threads), size = Number(a.size), batchSize = Number(a.batch), images = Number(a.images);
await setupBackend(a.backend);

const dir = await mkdtemp(path.join(tmpdir(), 'detkit-idle-'));
const files = await writeSynthetic(dir, { preset: 'hard', counts: { train: images }, splits: ['train'] });
const train = await readCoco(files.splits.train.annotationFile, { imageRoot: files.splits.train.imageRoot });

/** Busy main thread for `ms`, like a training step. */
function work(ms) {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x += Math.sqrt(x + 1);
  return x;
}

async function measure(name, options, epoch) {
  const loader = createLoader({ source: train.samples, imageSize: size, batchSize, augment: a.augment, seed: 0, ...options });
  const waits = [];
  const it = loader.epoch(epoch)[Symbol.asyncIterator]();
  for (let b = 0; b < batches; b++) {
    const t0 = performance.now();
    const { value, done } = await it.next();
    const waited = performance.now() - t0;
    if (done) break;
    if (b > 0) waits.push(waited); // the first batch includes start-up (thread start, first decode)
    work(step);
    value.dispose();
  }
  await it.return?.();
  waits.sort((x, y) => x - y);
  const mean = waits.reduce((s, w) => s + w, 0) / waits.length;
  const row = { name, step_ms: step, mean_wait_ms: +mean.toFixed(1), median_ms: +waits[Math.floor(waits.length / 2)].toFixed(1), max_ms: +waits[waits.length - 1].toFixed(1), idle_pct: +((100 * mean) / (step + mean)).toFixed(1) };
  console.log(JSON.stringify(row));
  return row;
}

console.log(`# ${images} PNG images 256 x 256 -> ${size} x ${size}, batch ${batchSize}, augment '${a.augment}', step ${step} ms, ${batches - 1} batches measured, backend ${a.backend}`);
await measure('in-thread', { loadImage: loadImageFile }, 0);
const pool = createWorkerPool({ threads, cacheBytes: 256 << 20 });
await measure(`pool x${threads}, cold cache`, { executor: pool }, 0);
await measure(`pool x${threads}, warm cache`, { executor: pool }, 0);
await pool.close();
await rm(dir, { recursive: true, force: true });
