// Invariants checked on random configurations (fast-check): they hold for any valid options, not just the fixtures.
import { tf } from '@detkit/core';
import { describeEachBackend } from '@detkit/test-utils';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { anchorsInsideImage, generateAnchors, generateMultiLevelAnchors, ssdBoxesPerLocation, ssdDefaultBoxes } from './index';

const grid = fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 6 }));
const stride = fc.oneof(fc.integer({ min: 1, max: 64 }), fc.tuple(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 64 })));
const sizes = fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 4 });
const ratios = fc.array(fc.double({ min: 0.2, max: 5, noNaN: true }), { minLength: 1, maxLength: 4 });
const pairOf = (s: number | [number, number]): [number, number] => (typeof s === 'number' ? [s, s] : s);

/** A midpoint of two float32 coordinates equals `want` up to their rounding (an ulp is <= 1.2e-7 relative). */
const midpointIs = (c1: number, c2: number, want: number) => Math.abs((c1 + c2) / 2 - want) <= 1e-6 * (1 + Math.abs(c1) + Math.abs(c2));

describeEachBackend('properties', () => {
  it('generateAnchors: h·w·A anchors, centred on (x + offset)·stride with side size/√r by size·√r', () => {
    fc.assert(
      fc.property(grid, stride, sizes, ratios, fc.constantFrom(0, 0.5, 0.25), fc.boolean(), ([h, w], s, sz, rs, offset, round) => {
        const t = generateAnchors({ featureSize: [h, w], stride: s, sizes: sz, ratios: rs, offset, round });
        const a = t.dataSync();
        t.dispose();
        const A = sz.length * rs.length;
        expect(a.length).toBe(4 * h * w * A);
        const [sy, sx] = pairOf(s);
        for (let n = 0; n < h * w * A; n++) {
          const k = n % A;
          const [y, x] = [Math.floor(n / A / w), Math.floor(n / A) % w];
          const [r, size] = [rs[Math.floor(k / sz.length)]!, sz[k % sz.length]!];
          const [x1, y1, x2, y2] = [a[4 * n]!, a[4 * n + 1]!, a[4 * n + 2]!, a[4 * n + 3]!];
          expect(midpointIs(x1, x2, (x + offset) * sx)).toBe(true);
          expect(midpointIs(y1, y2, (y + offset) * sy)).toBe(true);
          // Rounding moves each half side by at most 0.5.
          const slack = round ? 1 + 1e-3 : 1e-3;
          expect(Math.abs(x2 - x1 - size / Math.sqrt(r))).toBeLessThanOrEqual(slack);
          expect(Math.abs(y2 - y1 - size * Math.sqrt(r))).toBeLessThanOrEqual(slack);
          if (round) expect(Number.isInteger(x1 - (x + offset) * sx) && Number.isInteger(y2 - (y + offset) * sy)).toBe(true);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('generateMultiLevelAnchors is the levels concatenated, split by counts', () => {
    const level = fc.record({ featureSize: grid, stride, sizes, ratios });
    fc.assert(
      fc.property(fc.array(level, { maxLength: 4 }), fc.constantFrom(0, 0.5), (levels, offset) => {
        const multi = generateMultiLevelAnchors({ levels, offset });
        const parts = levels.map((l) => generateAnchors({ ...l, offset }));
        expect(multi.counts).toEqual(parts.map((p) => p.shape[0]));
        expect(multi.anchorsPerLocation).toEqual(levels.map((l) => l.sizes.length * l.ratios.length));
        expect(Array.from(multi.anchors.dataSync())).toEqual(parts.flatMap((p) => Array.from(p.dataSync())));
        tf.dispose([multi.anchors, ...parts]);
      }),
      { numRuns: 40 },
    );
  });

  it('anchorsInsideImage keeps exactly the anchors within the image plus border, in order', () => {
    const box = fc
      .tuple(fc.integer({ min: -50, max: 150 }), fc.integer({ min: -50, max: 150 }), fc.integer({ min: 0, max: 120 }), fc.integer({ min: 0, max: 120 }))
      .map(([x, y, w, h]) => [x, y, x + w, y + h]);
    fc.assert(
      fc.property(fc.array(box, { maxLength: 40 }), fc.integer({ min: 1, max: 120 }), fc.integer({ min: 1, max: 120 }), fc.integer({ min: -5, max: 20 }), (boxes, H, W, b) => {
        const t = tf.tensor2d(boxes.flat(), [boxes.length, 4]);
        const inside = anchorsInsideImage(t, [H, W], { allowedBorder: b });
        const expected = boxes.flatMap(([x1, y1, x2, y2], i) => (x1! >= -b && y1! >= -b && x2! <= W + b && y2! <= H + b ? [i] : []));
        expect(Array.from(inside.dataSync())).toEqual(expected);
        tf.dispose([t, inside]);
      }),
      { numRuns: 60 },
    );
  });

  it('ssdDefaultBoxes: Σ h·w·(2 + 2·ratios) boxes; centres on the cells; clipped sides within the image', () => {
    const level = fc.record({ size: fc.integer({ min: 0, max: 6 }), ratios: fc.array(fc.integer({ min: 2, max: 4 }), { maxLength: 2 }) });
    fc.assert(
      fc.property(fc.array(level, { minLength: 1, maxLength: 4 }), fc.integer({ min: 16, max: 400 }), fc.integer({ min: 16, max: 400 }), fc.boolean(), (levels, H, W, clip) => {
        const config = { imageSize: [H, W] as [number, number], featureMapSizes: levels.map((l) => l.size), aspectRatios: levels.map((l) => l.ratios), clip };
        const boxes = ssdDefaultBoxes(config);
        const v = boxes.dataSync();
        boxes.dispose();
        const perLocation = ssdBoxesPerLocation(config);
        expect(v.length / 4).toBe(levels.reduce((n, l, k) => n + l.size * l.size * perLocation[k]!, 0));
        let n = 0;
        levels.forEach(({ size }, k) => {
          for (let i = 0; i < size * size * perLocation[k]!; i++, n++) {
            const cell = Math.floor(i / perLocation[k]!);
            const [cy, cx] = [((Math.floor(cell / size) + 0.5) / size) * H, (((cell % size) + 0.5) / size) * W];
            expect(Math.abs((v[4 * n]! + v[4 * n + 2]!) / 2 - cx)).toBeLessThan(1e-3);
            expect(Math.abs((v[4 * n + 1]! + v[4 * n + 3]!) / 2 - cy)).toBeLessThan(1e-3);
            if (clip) {
              expect(v[4 * n + 2]! - v[4 * n]!).toBeLessThanOrEqual(W * (1 + 1e-6));
              expect(v[4 * n + 3]! - v[4 * n + 1]!).toBeLessThanOrEqual(H * (1 + 1e-6));
            }
          }
        });
      }),
      { numRuns: 40 },
    );
  });
});
