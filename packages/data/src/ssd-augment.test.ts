// SSD augmentation (torchvision references' RandomIoUCrop / RandomZoomOut / RandomPhotometricDistort):
// the IoU-crop constraint, crop validity, and through the loader: boxes inside, counts never grow,
// flags carried, deterministic per (seed, epoch, index).
import { InvalidArgumentError } from '@detkit/core';
import { describeEachBackend } from '@detkit/test-utils';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLoader, createRandom, type Batch, type DetectionSample } from './index';
import { resizeBilinear, resizeWindow } from './resize-bilinear';
import { SSD_IOU_CROP_OPTIONS, resolveAugment, sampleIouCrop, samplePhotometric, sampleZoomOut } from './ssd-augment';

const crop = resolveAugment('test', 'ssd').iouCrop!;
const zoom = resolveAugment('test', 'ssd').zoomOut!;

function iou(a: ArrayLike<number>, b: readonly number[]): number {
  const iw = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const ih = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = iw * ih;
  return inter / ((a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - inter);
}

const boxesArb = (w: number, h: number) =>
  fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0.02, max: 1, noNaN: true }), fc.double({ min: 0.02, max: 1, noNaN: true })), { minLength: 0, maxLength: 8 })
    .map((bs) => Float32Array.from(bs.flatMap(([x, y, bw, bh]) => { const x1 = x * w * 0.9, y1 = y * h * 0.9; return [x1, y1, Math.min(w, x1 + bw * w * 0.5 + 1), Math.min(h, y1 + bh * h * 0.5 + 1)]; })));

describe('sampleIouCrop', () => {
  it('a crop is valid and meets its IoU constraint; kept boxes have centres inside and are clipped (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 900 }), fc.integer({ min: 4, max: 900 }), fc.integer(), (w, h, seed) => {
        const boxes = fc.sample(boxesArb(w, h), { seed, numRuns: 1 })[0]!;
        const n = boxes.length / 4;
        const r = sampleIouCrop(createRandom(seed), w, h, boxes, crop);
        expect(r.keep.length).toBeLessThanOrEqual(n);
        expect(r.boxes.length).toBe(4 * r.keep.length);
        if (!r.crop) {
          expect(r.keep.length).toBe(n);
          expect(Array.from(r.boxes)).toEqual(Array.from(boxes));
          return;
        }
        const [l, t, cw, ch] = r.crop;
        // Crop: integer, inside the frame, sides within [0.3, 1] of the frame's, aspect in [0.5, 2].
        expect([l, t, cw, ch].every(Number.isInteger)).toBe(true);
        expect(l >= 0 && t >= 0 && l + cw <= w && t + ch <= h && cw > 0 && ch > 0).toBe(true);
        expect(cw).toBeGreaterThanOrEqual(Math.floor(0.3 * w));
        expect(ch).toBeGreaterThanOrEqual(Math.floor(0.3 * h));
        expect(cw / ch >= 0.5 && cw / ch <= 2).toBe(true);
        expect(r.minIou).toBeLessThan(1);
        expect(SSD_IOU_CROP_OPTIONS).toContain(r.minIou);
        expect(r.keep.length).toBeGreaterThan(0);
        let best = 0;
        r.keep.forEach((j, k) => {
          const b = boxes.subarray(4 * j, 4 * j + 4);
          const cx = (b[0]! + b[2]!) / 2, cy = (b[1]! + b[3]!) / 2;
          expect(l < cx && cx < l + cw && t < cy && cy < t + ch).toBe(true);
          best = Math.max(best, iou(b, [l, t, l + cw, t + ch]));
          // Shifted and clipped to the crop, non-empty.
          const o = r.boxes.subarray(4 * k, 4 * k + 4);
          expect(o[0]).toBeCloseTo(Math.min(cw, Math.max(0, b[0]! - l)), 4);
          expect(o[3]).toBeCloseTo(Math.min(ch, Math.max(0, b[3]! - t)), 4);
          expect(o[0]! >= 0 && o[1]! >= 0 && o[2]! <= cw && o[3]! <= ch && o[2]! > o[0]! && o[3]! > o[1]!).toBe(true);
        });
        // Boxes left out have their centres outside the crop.
        for (let j = 0; j < n; j++) {
          if (r.keep.includes(j)) continue;
          const cx = (boxes[4 * j]! + boxes[4 * j + 2]!) / 2, cy = (boxes[4 * j + 1]! + boxes[4 * j + 3]!) / 2;
          expect(l < cx && cx < l + cw && t < cy && cy < t + ch).toBe(false);
        }
        // The SSD constraint: some kept box overlaps the crop by at least the drawn minimum IoU.
        expect(best).toBeGreaterThanOrEqual(r.minIou - 1e-6);
      }),
      { numRuns: 300 },
    );
  });

  it('draws each minimum IoU about equally often, and crops about 6/7 of the images with a box', () => {
    const boxes = Float32Array.from([40, 40, 160, 140]);
    const counts = new Map<number, number>();
    let cropped = 0;
    const N = 3500;
    for (let s = 0; s < N; s++) {
      const r = sampleIouCrop(createRandom(s), 200, 180, boxes, crop);
      counts.set(r.minIou, (counts.get(r.minIou) ?? 0) + 1);
      if (r.crop) cropped++;
    }
    // The round that ended: "keep" (1) ends 1/7 of first rounds, but options that fail 40 trials lead to
    // another round, so 0.9 ends fewer rounds than 0. Each option ending some rounds is what is checked.
    for (const o of SSD_IOU_CROP_OPTIONS) expect(counts.get(o) ?? 0).toBeGreaterThan(0);
    // P(no crop) = P(eventually drawing 1.0 before a success) >= 1/7; well under 1/2 with a large box.
    expect(cropped / N).toBeGreaterThan(0.5);
    expect(cropped / N).toBeLessThan(6 / 7 + 0.03);
  });

  it('an image without boxes is never cropped', () => {
    for (let s = 0; s < 50; s++) expect(sampleIouCrop(createRandom(s), 100, 100, new Float32Array(0), crop).crop).toBeNull();
  });
});

describe('sampleZoomOut / samplePhotometric', () => {
  it('zoom-out: p 0.5, canvas side 1..4 x the image, image inside the canvas at integer offsets', () => {
    let fired = 0;
    for (let s = 0; s < 2000; s++) {
      const z = sampleZoomOut(createRandom(s), 120, 80, zoom);
      if (!z) continue;
      fired++;
      expect(z.canvasWidth >= 120 && z.canvasWidth <= 480 && z.canvasHeight >= 80 && z.canvasHeight <= 320).toBe(true);
      expect(Math.abs(z.canvasWidth / 120 - z.canvasHeight / 80)).toBeLessThan(0.02); // one ratio, both sides
      expect(z.left >= 0 && z.left + 120 <= z.canvasWidth && z.top >= 0 && z.top + 80 <= z.canvasHeight).toBe(true);
    }
    expect(fired / 2000).toBeGreaterThan(0.45);
    expect(fired / 2000).toBeLessThan(0.55);
  });

  it('photometric: each piece fires with p 0.5, factors within their ranges, a permutation of 3 channels', () => {
    const ph = resolveAugment('test', 'ssd').photometric!;
    let b = 0, perm = 0;
    for (let s = 0; s < 2000; s++) {
      const p = samplePhotometric(createRandom(s), ph);
      if (p.brightness !== undefined) {
        b++;
        expect(p.brightness >= 0.875 && p.brightness <= 1.125).toBe(true);
      }
      if (p.contrast !== undefined) expect(p.contrast >= 0.5 && p.contrast <= 1.5).toBe(true);
      if (p.hue !== undefined) expect(Math.abs(p.hue)).toBeLessThanOrEqual(0.05);
      if (p.permutation) {
        perm++;
        expect([...p.permutation].sort()).toEqual([0, 1, 2]);
      }
    }
    expect(b / 2000).toBeGreaterThan(0.45);
    expect(perm / 2000).toBeGreaterThan(0.45);
  });

  it('bad options: typed errors naming the option', () => {
    expect(() => resolveAugment('createLoader', 'ssd300' as 'ssd')).toThrow(InvalidArgumentError);
    expect(() => resolveAugment('createLoader', { zoomOut: { sideRange: [0.5, 2] } })).toThrow(/augment.zoomOut.sideRange/);
    expect(() => resolveAugment('createLoader', { iouCrop: { trials: 0 } })).toThrow(/augment.iouCrop.trials/);
    expect(() => resolveAugment('createLoader', { photometric: { p: 2 } })).toThrow(/augment.photometric.p/);
    expect(() => resolveAugment('createLoader', { crop: true } as never)).toThrow(/augment.crop/);
  });
});

describe('resizeWindow', () => {
  it('equals materialising the canvas window and resizing it (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: -15, max: 15 }), fc.integer({ min: -15, max: 15 }),
        fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 25 }), fc.integer({ min: 1, max: 25 }), fc.boolean(),
        (w, h, x, y, ww, wh, nw, nh, mirror) => {
          const src = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37) % 256);
          const fill = [123, 117, 104] as const;
          const canvas = new Float32Array(ww * wh * 3);
          for (let r = 0; r < wh; r++) for (let c = 0; c < ww; c++) for (let k = 0; k < 3; k++) {
            const ix = x + c, iy = y + r;
            canvas[3 * (r * ww + c) + k] = ix >= 0 && ix < w && iy >= 0 && iy < h ? src[3 * (iy * w + ix) + k]! : fill[k]!;
          }
          let want = resizeBilinear(canvas, ww, wh, nw, nh);
          if (mirror) {
            const m = new Float32Array(want.length);
            for (let r = 0; r < nh; r++) for (let c = 0; c < nw; c++) for (let k = 0; k < 3; k++) m[3 * (r * nw + c) + k] = want[3 * (r * nw + (nw - 1 - c)) + k]!;
            want = m;
          }
          const got = resizeWindow(src, w, h, { x, y, width: ww, height: wh }, fill, nw, nh, mirror);
          got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-3));
        },
      ),
      { numRuns: 200 },
    );
  });
});

function sample(id: number, w: number, h: number, boxes: number[][], flags: { iscrowd?: number[]; difficult?: number[] } = {}): DetectionSample {
  const n = boxes.length;
  return {
    id,
    image: { width: w, height: h, data: Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 13 + id) % 256) },
    width: w,
    height: h,
    boxes: Float32Array.from(boxes.flat()),
    labels: Int32Array.from(boxes.map((_, i) => i)),
    iscrowd: Uint8Array.from(flags.iscrowd ?? new Array(n).fill(0)),
    difficult: Uint8Array.from(flags.difficult ?? new Array(n).fill(0)),
  };
}

describeEachBackend('createLoader({ augment })', () => {
  const source = Array.from({ length: 24 }, (_, i) =>
    sample(i, 60 + (i % 5) * 17, 50 + (i % 3) * 23, [[5, 5, 30, 40], [20, 10, 55, 45], [0, 0, 10 + i, 12]], { difficult: [0, 1, 0], iscrowd: [0, 0, i % 2] }),
  );
  const run = async (augment: 'ssd' | 'ssdlite', epoch: number, seed = 3) => {
    const out: { targets: Batch['targets']; meta: Batch['meta']; pixels: Float32Array }[] = [];
    const loader = createLoader({ source, imageSize: [48, 64], batchSize: 5, augment, seed, dropCrowd: false, normalize: false });
    for await (const b of loader.epoch(epoch)) {
      out.push({ targets: b.targets, meta: b.meta, pixels: b.images.dataSync() as Float32Array });
      b.dispose();
    }
    return out;
  };

  for (const augment of ['ssd', 'ssdlite'] as const) {
    it(`${augment}: boxes stay inside the image, counts never grow, labels and flags follow their boxes`, async () => {
      let changed = 0, windows = 0;
      for (const epoch of [0, 1, 2]) {
        for (const b of await run(augment, epoch)) {
          b.targets.forEach((t, k) => {
            const m = b.meta[k]!;
            const s = source[m.id as number]!;
            const n = t.labels.length;
            expect(n).toBeLessThanOrEqual(s.labels.length);
            if (n < s.labels.length) changed++;
            if (m.window) windows++;
            const [oy, ox] = m.offset, [nh, nw] = m.size;
            for (let j = 0; j < n; j++) {
              const [x1, y1, x2, y2] = t.boxes.subarray(4 * j, 4 * j + 4);
              expect(x1! >= ox - 1e-4 && y1! >= oy - 1e-4 && x2! <= ox + nw + 1e-4 && y2! <= oy + nh + 1e-4).toBe(true);
              expect(x2! > x1! && y2! > y1!).toBe(true);
              // Label j of the sample is j; its flags come with it.
              const orig = t.labels[j]!;
              expect(t.difficult[j]).toBe(s.difficult[orig]);
              expect(t.iscrowd[j]).toBe(s.iscrowd[orig]);
            }
            expect(new Set(t.labels).size).toBe(n); // no object duplicated
          });
        }
      }
      expect(windows).toBeGreaterThan(10); // it does crop (and zoom out, for 'ssd')
      expect(changed).toBeGreaterThan(0); // and drops objects whose centres fall outside the crop
    });
  }

  it('is deterministic per (seed, epoch, index), whatever the batch size', async () => {
    const a = await run('ssd', 1);
    expect(await run('ssd', 1)).toEqual(a);
    expect((await run('ssd', 2)).map((b) => b.meta)).not.toEqual(a.map((b) => b.meta));
    expect((await run('ssd', 1, 4)).map((b) => b.meta)).not.toEqual(a.map((b) => b.meta));
    const byId = (bs: Awaited<ReturnType<typeof run>>) => new Map(bs.flatMap((b) => b.meta.map((m, k) => [m.id, [m, Array.from(b.targets[k]!.boxes)]])));
    const loader = createLoader({ source, imageSize: [48, 64], batchSize: 7, augment: 'ssd', seed: 3, dropCrowd: false, normalize: false });
    const other: Awaited<ReturnType<typeof run>> = [];
    for await (const b of loader.epoch(1)) {
      other.push({ targets: b.targets, meta: b.meta, pixels: new Float32Array(0) });
      b.dispose();
    }
    expect(byId(other)).toEqual(byId(a));
  });

  it("a zoomed-out image shows the fill (torchvision's mean 123, 117, 104) around it", async () => {
    const flat: DetectionSample = { ...sample(0, 40, 40, [[10, 10, 30, 30]]), image: { width: 40, height: 40, data: new Uint8Array(40 * 40 * 3).fill(255) } };
    let seen = 0;
    for (let seed = 0; seed < 40; seed++) {
      const loader = createLoader({ source: [flat], imageSize: 40, batchSize: 1, augment: { zoomOut: { p: 1 } }, seed, normalize: false, flip: 0 });
      for await (const b of loader.epoch(0)) {
        const m = b.meta[0]!;
        const px = b.images.dataSync();
        // The window is the canvas; where the image is not, the fill shows (corner pixel away from the image).
        const [x1, y1, x2, y2] = m.window!;
        expect(x1 <= 0 && y1 <= 0 && x2 >= 40 && y2 >= 40).toBe(true);
        if (x1 < -20) {
          seen++;
          expect(Array.from(px.subarray(0, 3)).map((v) => Math.round(v * 255))).toEqual([123, 117, 104]);
        }
        b.dispose();
      }
    }
    expect(seen).toBeGreaterThan(5);
  });
});
