// createLoader: letterbox / stretch with boxes transformed alike, flips, normalisation, padded batches,
// seeded shuffling, bad images, and no tensor leaks.
import { InvalidArgumentError, tf } from '@detkit/core';
import { describeEachBackend, expectClose } from '@detkit/test-utils';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DataError, boxesToInput, boxesToOriginal, createLoader, encodePng, planResize, syntheticSource, type Batch, type DetectionSample } from './index';
import { loadImageFile } from './node/index';
import { resizeBilinear } from './resize-bilinear';

/** A w x h image of one grey level with the given xyxy boxes. */
function sample(id: number, w: number, h: number, boxes: number[][], opts: { grey?: number; iscrowd?: number[] } = {}): DetectionSample {
  const n = boxes.length;
  return {
    id,
    image: { width: w, height: h, data: new Uint8Array(w * h * 3).fill(opts.grey ?? 51) },
    width: w,
    height: h,
    boxes: Float32Array.from(boxes.flat()),
    labels: Int32Array.from(boxes.map((_, i) => i + 1)),
    iscrowd: Uint8Array.from(opts.iscrowd ?? new Array(n).fill(0)),
    difficult: new Uint8Array(n),
  };
}

async function collect(loader: ReturnType<typeof createLoader>, epoch = 0): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of loader.epoch(epoch)) out.push(b);
  return out;
}

describe('resize plans', () => {
  it('letterbox: one scale, centred; boxes map there and back', () => {
    // 100 x 50 (w x h) into 64 x 64: s = min(64 / 50, 64 / 100) = 0.64 -> 64 x 32, offset y (64 - 32) / 2 = 16.
    const plan = planResize(100, 50, [64, 64], 'letterbox');
    expect(plan).toMatchObject({ size: [32, 64], scale: [0.64, 0.64], offset: [16, 0] });
    // [10, 5, 30, 25] -> [6.4, 5 * 0.64 + 16, 19.2, 25 * 0.64 + 16] = [6.4, 19.2, 19.2, 32].
    expectClose(boxesToInput([10, 5, 30, 25], plan), [6.4, 19.2, 19.2, 32]);
    // Flipped: x mirrored in the 64-wide resized image: [64 - 19.2, ., 64 - 6.4, .].
    expectClose(boxesToInput([10, 5, 30, 25], { ...plan, flipped: true }), [44.8, 19.2, 57.6, 32]);
  });

  it('stretch: per-axis scales', () => {
    const plan = planResize(100, 50, [64, 64], 'stretch');
    expect(plan).toMatchObject({ size: [64, 64], scale: [1.28, 0.64], offset: [0, 0] });
    expectClose(boxesToInput([10, 5, 30, 25], plan), [6.4, 6.4, 19.2, 32]);
  });

  it('boxesToOriginal inverts boxesToInput (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 8, max: 900 }), fc.integer({ min: 8, max: 900 }), fc.integer({ min: 16, max: 640 }), fc.integer({ min: 16, max: 640 }),
        fc.boolean(), fc.boolean(), fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })), { maxLength: 5 }),
        (w, h, H, W, stretch, flipped, rel) => {
          const boxes = rel.flatMap(([a, b, c, d]) => [Math.min(a, c) * w, Math.min(b, d) * h, Math.max(a, c) * w, Math.max(b, d) * h]);
          const plan = planResize(w, h, [H, W], stretch ? 'stretch' : 'letterbox', flipped);
          const back = boxesToOriginal(boxesToInput(boxes, plan), plan);
          back.forEach((v, i) => expect(Math.abs(v - (boxes[i] as number))).toBeLessThan(1e-3 * Math.max(w, h)));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describeEachBackend('createLoader', () => {
  it('letterboxes images and boxes alike; pads boxes to the batch maximum with a mask', async () => {
    const source = [sample(0, 100, 50, [[10, 5, 30, 25], [0, 0, 100, 50]]), sample(1, 32, 32, [])];
    const [batch] = await collect(createLoader({ source, imageSize: 64, batchSize: 2, shuffle: false, normalize: false }));
    expect(batch!.images.shape).toEqual([2, 64, 64, 3]);
    expect(batch!.boxes.shape).toEqual([2, 2, 4]);
    expectClose(batch!.boxes, [[[6.4, 19.2, 19.2, 32], [0, 16, 64, 48]], [[0, 0, 0, 0], [0, 0, 0, 0]]]);
    expect(batch!.labels.arraySync()).toEqual([[1, 2], [-1, -1]]);
    expect(batch!.mask.arraySync()).toEqual([[1, 1], [0, 0]]);
    expectClose(batch!.targets[0]!.boxes, [6.4, 19.2, 19.2, 32, 0, 16, 64, 48]);
    expect(batch!.targets[1]!.labels).toHaveLength(0);
    expect(batch!.meta.map((m) => m.id)).toEqual([0, 1]);
    // Pixels: grey 51 / 255 = 0.2 inside the 64 x 32 band (rows 16..47), 0 padding above and below.
    const px = batch!.images.arraySync() as number[][][][];
    expectClose(px[0]![16]![5]!, [0.2, 0.2, 0.2]);
    expectClose(px[0]![47]![63]!, [0.2, 0.2, 0.2]);
    expectClose(px[0]![15]![5]!, [0, 0, 0]);
    expectClose(px[0]![48]![5]!, [0, 0, 0]);
    // The 32 x 32 image is scaled 2x to fill the input.
    expectClose(px[1]![0]![0]!, [0.2, 0.2, 0.2]);
    batch!.dispose();
  });

  it('normalises with ImageNet statistics by default', async () => {
    const [batch] = await collect(createLoader({ source: [sample(0, 8, 8, [])], imageSize: 8, batchSize: 1 }));
    // (0.2 - mean) / std per channel.
    expectClose((batch!.images.arraySync() as number[][][][])[0]![3]![3]!, [(0.2 - 0.485) / 0.229, (0.2 - 0.456) / 0.224, (0.2 - 0.406) / 0.225]);
    batch!.dispose();
  });

  it('flips the image and its boxes together', async () => {
    // An 8 x 4 image, left half black, right half white; one box over the white half.
    const s = sample(0, 8, 4, [[4, 0, 8, 4]]);
    const data = (s.image as { data: Uint8Array }).data;
    for (let y = 0; y < 4; y++) for (let x = 0; x < 8; x++) data.fill(x < 4 ? 0 : 255, 3 * (y * 8 + x), 3 * (y * 8 + x) + 3);
    const [batch] = await collect(createLoader({ source: [s], imageSize: [4, 8], batchSize: 1, flip: 1, normalize: false }));
    expect(batch!.meta[0]!.flipped).toBe(true);
    expectClose(batch!.targets[0]!.boxes, [0, 0, 4, 4]);
    const row = (batch!.images.arraySync() as number[][][][])[0]![0]!;
    expect(row.map((p) => p[0])).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);
    batch!.dispose();
  });

  it('drops crowd regions by default, keeps them when asked', async () => {
    const s = sample(0, 10, 10, [[0, 0, 5, 5], [5, 5, 10, 10]], { iscrowd: [0, 1] });
    const [a] = await collect(createLoader({ source: [s], imageSize: 10, batchSize: 1 }));
    expect(Array.from(a!.targets[0]!.labels)).toEqual([1]);
    const [b] = await collect(createLoader({ source: [s], imageSize: 10, batchSize: 1, dropCrowd: false }));
    expect(Array.from(b!.targets[0]!.iscrowd)).toEqual([0, 1]);
    a!.dispose();
    b!.dispose();
  });

  it('shuffles with a seeded permutation per epoch; augmentation depends on (seed, epoch, index) only', async () => {
    const source = Array.from({ length: 10 }, (_, i) => sample(i, 8, 8, [[1, 1, 4, 4]]));
    const loader = createLoader({ source, imageSize: 8, batchSize: 3, seed: 11, flip: 0.5 });
    expect(loader.batchesPerEpoch).toBe(4);
    const ids = async (e: number) => (await collect(loader, e)).flatMap((b) => (b.dispose(), b.meta.map((m) => [m.id, m.flipped])));
    const e0 = await ids(0);
    expect(e0).toEqual(await ids(0));
    expect(e0.map(([id]) => id).sort((a, b) => (a as number) - (b as number))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(e0.map(([id]) => id)).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect((await ids(1)).map(([id]) => id)).not.toEqual(e0.map(([id]) => id));
    const flips = e0.filter(([, f]) => f).length;
    expect(flips > 0 && flips < 10).toBe(true);
    // Same seed, other batch size: each image gets the same flip.
    const other = createLoader({ source, imageSize: 8, batchSize: 4, seed: 11, flip: 0.5 });
    const e0b = (await collect(other, 0)).flatMap((b) => (b.dispose(), b.meta.map((m) => [m.id, m.flipped])));
    expect(new Map(e0b as [number, boolean][])).toEqual(new Map(e0 as [number, boolean][]));
    expect((await collect(createLoader({ source, imageSize: 8, batchSize: 3, dropLast: true }))).map((b) => (b.dispose(), b.meta.length))).toEqual([3, 3, 3]);
  });

  it('jitter changes pixels, deterministically', async () => {
    const source = syntheticSource({ count: 2, config: { imageSize: 32 } });
    const run = async () => {
      const [b] = await collect(createLoader({ source, imageSize: 32, batchSize: 2, jitter: { brightness: 0.5, hue: 0.2 }, seed: 3 }));
      const v = b!.images.dataSync().slice();
      b!.dispose();
      return v;
    };
    const plain = await collect(createLoader({ source, imageSize: 32, batchSize: 2, seed: 3 }));
    const a = await run();
    expect(await run()).toEqual(a);
    expect(a).not.toEqual(plain[0]!.images.dataSync());
    plain[0]!.dispose();
  });

  it('a missing or mis-sized image: DataError naming file and sample, or skipped and counted', async () => {
    const good = sample(0, 8, 8, [[1, 1, 4, 4]]);
    const missing = { ...sample(1, 8, 8, []), image: '/nonexistent/detkit/img.png' };
    const mis = { ...sample(2, 8, 8, []), image: encodePng({ width: 4, height: 4, data: new Uint8Array(48) }) };
    const strict = createLoader({ source: [good, missing], imageSize: 8, batchSize: 2, shuffle: false, loadImage: loadImageFile });
    await expect(collect(strict)).rejects.toMatchObject({ kind: 'missing-image', file: '/nonexistent/detkit/img.png' });
    const sized = createLoader({ source: [mis], imageSize: 8, batchSize: 1 });
    const e = await collect(sized).catch((err: DataError) => err);
    expect(e).toBeInstanceOf(DataError);
    expect((e as DataError).message).toBe('data: sample 2: is 4 x 4 pixels but its annotation says 8 x 8');
    const lenient = createLoader({ source: [good, missing, mis], imageSize: 8, batchSize: 3, shuffle: false, loadImage: loadImageFile, onInvalid: 'skip' });
    const [batch] = await collect(lenient);
    expect(batch!.meta.map((m) => m.id)).toEqual([0]);
    expect(lenient.skipped).toMatchObject({ count: 2, byKind: { 'missing-image': 1, 'bad-image': 1 } });
    expect(lenient.skipped.examples[0]).toMatchObject({ file: '/nonexistent/detkit/img.png', record: 'sample 1' });
    batch!.dispose();
    // Without a loader, a path gets the default fetch, whose error says what to pass in Node.
    const e2 = await collect(createLoader({ source: [missing], imageSize: 8, batchSize: 1 })).catch((err: DataError) => err);
    expect((e2 as DataError).message).toContain('loadImageFile');
  });

  it('bad options: typed errors', async () => {
    expect(() => createLoader({ source: [], imageSize: 0, batchSize: 1 })).toThrow(InvalidArgumentError);
    expect(() => createLoader({ source: [], imageSize: 8, batchSize: 0 })).toThrow(/batchSize/);
    expect(() => createLoader({ source: [], imageSize: 8, batchSize: 1, flip: 2 })).toThrow(/flip/);
    expect(() => createLoader({ source: [], imageSize: 8, batchSize: 1, jitter: { hue: 0.7 } })).toThrow(/jitter.hue/);
    expect(() => createLoader({ source: [], imageSize: 8, batchSize: 1, resize: 'crop' as 'stretch' })).toThrow(/resize/);
    const tooMany = createLoader({ source: [sample(0, 8, 8, [[0, 0, 1, 1], [1, 1, 2, 2]])], imageSize: 8, batchSize: 1, maxBoxes: 1 });
    await expect(collect(tooMany)).rejects.toThrow(/maxBoxes/);
    expect(await collect(createLoader({ source: [], imageSize: 8, batchSize: 4 }))).toEqual([]);
  });

  it('leaves no tensors behind once batches are disposed', async () => {
    const before = tf.memory().numTensors;
    const loader = createLoader({ source: syntheticSource({ count: 12, config: { imageSize: 48 } }), imageSize: [40, 56], batchSize: 5, flip: 0.5, jitter: { brightness: 0.3, contrast: 0.3, saturation: 0.3, hue: 0.1 } });
    for await (const b of loader.epoch(0)) b.dispose();
    await collect(createLoader({ source: [sample(0, 8, 8, [[0, 0, 1, 1], [1, 1, 2, 2]])], imageSize: 8, batchSize: 1, maxBoxes: 1 })).catch(() => null);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describeEachBackend('resizeBilinear', () => {
  it('samples as tf.image.resizeBilinear with half-pixel centres', () => {
    let seed = 1;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 255;
    for (const [w, h, nw, nh] of [[7, 5, 13, 9], [40, 30, 16, 12], [9, 9, 9, 20], [1, 3, 4, 4]] as const) {
      const src = Float32Array.from({ length: w * h * 3 }, rand);
      const want = tf.tidy(() => tf.image.resizeBilinear(tf.tensor3d(src, [h, w, 3]), [nh, nw], false, true).arraySync());
      expectClose(resizeBilinear(src, w, h, nw, nh), want, { atol: 1e-3, what: `${w}x${h} -> ${nw}x${nh}` });
    }
  });
});
