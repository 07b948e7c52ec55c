// The synthetic shapes set: deterministic from its seed, valid boxes, both presets.
import { InvalidArgumentError } from '@detkit/core';
import { describe, expect, it } from 'vitest';
import { SYNTHETIC_PRESETS, syntheticSample, syntheticSource } from './index';

describe('synthetic set', () => {
  it('is a pure function of (seed, split, index)', () => {
    const a = syntheticSample(12, { seed: 3 });
    expect(syntheticSample(12, { seed: 3 })).toEqual(a);
    expect(syntheticSource({ seed: 3 }).get(12)).toEqual(a);
    expect((syntheticSample(12, { seed: 4 }).image as { data: Uint8Array }).data).not.toEqual((a.image as { data: Uint8Array }).data);
    expect((syntheticSample(12, { seed: 3, split: 'val' }).image as { data: Uint8Array }).data).not.toEqual((a.image as { data: Uint8Array }).data);
  });

  for (const preset of ['quick', 'hard'] as const) {
    it(`${preset}: valid objects, several classes, small to large, several per image`, () => {
      const config = SYNTHETIC_PRESETS[preset];
      const src = syntheticSource({ preset, count: 150 });
      expect(src.length).toBe(150);
      expect(src.classes).toEqual(config.classes);
      const S = config.imageSize;
      const seen = new Set<number>();
      let objects = 0, small = 0, large = 0;
      for (let i = 0; i < src.length; i++) {
        const s = src.get(i) as ReturnType<typeof syntheticSample>;
        const img = s.image as { width: number; height: number; data: Uint8Array };
        expect([s.width, s.height, img.width, img.height, img.data.length]).toEqual([S, S, S, S, S * S * 3]);
        const n = s.labels.length;
        expect(n).toBeLessThanOrEqual(config.objects[1]);
        objects += n;
        for (let j = 0; j < n; j++) {
          const [x1, y1, x2, y2] = Array.from(s.boxes.subarray(4 * j, 4 * j + 4)) as [number, number, number, number];
          expect(x1 >= 0 && y1 >= 0 && x2 <= S && y2 <= S && x2 > x1 && y2 > y1).toBe(true);
          expect(Number.isInteger(x1) && Number.isInteger(y2)).toBe(true);
          const area = s.area![j]!;
          expect(area > 0 && area <= (x2 - x1) * (y2 - y1)).toBe(true);
          seen.add(s.labels[j]!);
          const side = Math.max(x2 - x1, y2 - y1);
          if (side < config.objectSize[0] + 8) small++;
          if (side > config.objectSize[1] / 2) large++;
        }
      }
      expect(seen.size).toBe(config.classes.length);
      expect(objects / src.length).toBeGreaterThan(config.objects[0] + 1);
      expect(small).toBeGreaterThan(0);
      expect(large).toBeGreaterThan(0);
    });
  }

  it('shapes are drawn where their boxes are: the box border rows hold object colour', () => {
    // With noise and clutter off on a flat background, every box's first row, last row, first and
    // last column contain a pixel differing from the background (the box is tight around the shape).
    const src = syntheticSource({ count: 30, config: { noise: 0, clutter: 0, maxCover: 0 } });
    for (let i = 0; i < src.length; i++) {
      const s = src.get(i) as ReturnType<typeof syntheticSample>;
      const img = s.image as { width: number; data: Uint8Array };
      const W = img.width;
      const px = (x: number, y: number) => Array.from(img.data.subarray(3 * (y * W + x), 3 * (y * W + x) + 3)).join(',');
      for (let j = 0; j < s.labels.length; j++) {
        const [x1, y1, x2, y2] = Array.from(s.boxes.subarray(4 * j, 4 * j + 4)) as [number, number, number, number];
        const colours = new Map<string, number>();
        for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) colours.set(px(x, y), (colours.get(px(x, y)) ?? 0) + 1);
        // The object's colour: the most frequent colour inside its box that is its pixel count.
        const objectColour = [...colours.entries()].find(([, c]) => c === s.area![j])?.[0];
        expect(objectColour, `object ${j} of image ${i}`).toBeDefined();
        const row = (y: number) => Array.from({ length: x2 - x1 }, (_, k) => px(x1 + k, y)).includes(objectColour!);
        const col = (x: number) => Array.from({ length: y2 - y1 }, (_, k) => px(x, y1 + k)).includes(objectColour!);
        expect(row(y1) && row(y2 - 1) && col(x1) && col(x2 - 1)).toBe(true);
      }
    }
  });

  it('bad options are typed errors', () => {
    expect(() => syntheticSource({ preset: 'huge' as 'quick' })).toThrow(InvalidArgumentError);
    expect(() => syntheticSource({ config: { imageSize: 8 } })).toThrow(/imageSize/);
    expect(() => syntheticSource({ count: -1 })).toThrow(/count/);
    expect(() => syntheticSource({ count: 2 }).get(2)).toThrow(/index/);
    expect(() => syntheticSample(0, { split: 'test' as 'val' })).toThrow(/split/);
  });
});
