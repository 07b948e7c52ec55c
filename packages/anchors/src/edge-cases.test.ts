// Cases worked by hand: the documented order, offsets, strides, scales, empty grids, inclusive edges, SSD details.
import { tf } from '@detkit/core';
import { describeEachBackend, expectClose } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import {
  anchorsInsideImage,
  cellAnchors,
  generateAnchors,
  generateMultiLevelAnchors,
  ssdBoxesPerLocation,
  ssdDefaultBoxes,
  SSD300,
  SSDLITE320,
} from './index';

describeEachBackend('edge cases', () => {
  it('order: location row-major (y, then x), then ratio, then size', () => {
    const [h, w] = [2, 3];
    const sizes = [10, 20];
    const ratios = [0.25, 1, 4]; // sqrt is exact: w = size / sqrt(r), h = size * sqrt(r)
    const anchors = generateAnchors({ featureSize: [h, w], stride: [7, 5], sizes, ratios, round: false }).arraySync();
    expect(anchors).toHaveLength(h * w * 6);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        ratios.forEach((r, i) => {
          sizes.forEach((s, j) => {
            const a = anchors[((y * w + x) * ratios.length + i) * sizes.length + j]!;
            const [bw, bh] = [s / Math.sqrt(r), s * Math.sqrt(r)];
            expect(a).toEqual([5 * x - bw / 2, 7 * y - bh / 2, 5 * x + bw / 2, 7 * y + bh / 2]);
          });
        });
      }
    }
  });

  it('offset 0.5 centres anchors in their cells; offset 0 puts them on the corners', () => {
    const at = (offset: number) => generateAnchors({ featureSize: [2, 2], stride: 16, sizes: [32], ratios: [1], offset }).arraySync();
    // Size 32 ratio 1: half side 16. Corner centres (0, 0), (16, 0), (0, 16), (16, 16); cell centres + 8.
    expect(at(0)).toEqual([[-16, -16, 16, 16], [0, -16, 32, 16], [-16, 0, 16, 32], [0, 0, 32, 32]]);
    expect(at(0.5)).toEqual([[-8, -8, 24, 24], [8, -8, 40, 24], [-8, 8, 24, 40], [8, 8, 40, 40]]);
  });

  it('scales multiply baseSize, which defaults to the stride', () => {
    const bySizes = generateAnchors({ featureSize: [3, 2], stride: 16, sizes: [128, 256, 512] });
    const byScales = generateAnchors({ featureSize: [3, 2], stride: 16, scales: [8, 16, 32] });
    const byBase = generateAnchors({ featureSize: [3, 2], stride: [16, 8], scales: [4, 8, 16], baseSize: 32 });
    expect(byScales.arraySync()).toEqual(bySizes.arraySync());
    // Same sizes, x stride 8 instead of 16: x centres halve.
    const xs = (t: tf.Tensor) => (t.arraySync() as number[][]).map((a) => (a[0]! + a[2]!) / 2);
    expect(xs(byBase)).toEqual(xs(bySizes).map((v) => v / 2));
    tf.dispose([bySizes, byScales, byBase]);
  });

  it('cell anchors round half to even, like torch.round', () => {
    // Size 1, 3, 5 at ratio 1: half sides 0.5, 1.5, 2.5 round to 0, 2, 2 (Math.round would give 1, 2, 3).
    expect(cellAnchors({ sizes: [1, 3, 5], ratios: [1] }).arraySync()).toEqual([[-0, -0, 0, 0], [-2, -2, 2, 2], [-2, -2, 2, 2]]);
    expect(cellAnchors({ sizes: [1, 3, 5], ratios: [1], round: false }).arraySync()).toEqual([[-0.5, -0.5, 0.5, 0.5], [-1.5, -1.5, 1.5, 1.5], [-2.5, -2.5, 2.5, 2.5]]);
    expect(cellAnchors({ scales: [2], baseSize: 8 }).shape).toEqual([3, 4]);
  });

  it('empty feature maps give [0, 4] anchors; empty levels count 0', () => {
    expect(generateAnchors({ featureSize: [0, 7], stride: 8, sizes: [32] }).shape).toEqual([0, 4]);
    const multi = generateMultiLevelAnchors({
      imageSize: [64, 64],
      levels: [{ featureSize: [8, 8], sizes: [16] }, { featureSize: [0, 0], sizes: [32, 64] }, { featureSize: [2, 2], sizes: [64] }],
    });
    expect(multi.counts).toEqual([8 * 8 * 3, 0, 2 * 2 * 3]);
    expect(multi.anchorsPerLocation).toEqual([3, 6, 3]);
    expect(multi.anchors.shape).toEqual([204, 4]);
    const empty = generateMultiLevelAnchors({ levels: [] });
    expect(empty.anchors.shape).toEqual([0, 4]);
    expect(empty.counts).toEqual([]);
  });

  it('multi-level anchors are the single levels concatenated, with derived strides', () => {
    const multi = generateMultiLevelAnchors({
      imageSize: [100, 70],
      offset: 0.5,
      levels: [
        { featureSize: [13, 9], sizes: [16, 32] },
        { featureSize: [4, 3], stride: 25, scales: [2], ratios: [1] },
      ],
    });
    // floor(100 / 13) = 7, floor(70 / 9) = 7.
    expect(multi.strides).toEqual([[7, 7], [25, 25]]);
    const a = generateAnchors({ featureSize: [13, 9], stride: 7, sizes: [16, 32], offset: 0.5 });
    const b = generateAnchors({ featureSize: [4, 3], stride: 25, sizes: [50], ratios: [1], offset: 0.5 });
    expect(multi.anchors.arraySync()).toEqual([...a.arraySync(), ...b.arraySync()]);
    tf.dispose([multi.anchors, a, b]);
  });

  it('anchorsInsideImage: inclusive edges, allowedBorder, empty input', () => {
    const anchors = [[0, 0, 800, 600], [-1, 0, 10, 10], [0, 0, 800.5, 600], [790, 590, 800, 600], [-16, -16, 816, 616]];
    expect(Array.from(anchorsInsideImage(anchors, [600, 800]).dataSync())).toEqual([0, 3]);
    expect(Array.from(anchorsInsideImage(anchors, [600, 800], { allowedBorder: 1 }).dataSync())).toEqual([0, 1, 2, 3]);
    expect(Array.from(anchorsInsideImage(anchors, [600, 800], { allowedBorder: 16 }).dataSync())).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(anchorsInsideImage(anchors, [600, 800], { allowedBorder: Infinity }).dataSync())).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(anchorsInsideImage(anchors, [600, 800], { allowedBorder: -10 }).dataSync())).toEqual([]);
    const none = anchorsInsideImage(tf.zeros([0, 4]), [10, 10]);
    expect(none.shape).toEqual([0]);
    expect(none.dtype).toBe('int32');
  });

  it("SSD300: the paper's 8,732 boxes, 4 or 6 per location", () => {
    expect(ssdBoxesPerLocation(SSD300)).toEqual([4, 6, 6, 6, 4, 4]);
    expect(ssdBoxesPerLocation(SSDLITE320)).toEqual([6, 6, 6, 6, 6, 6]);
    // 38² · 4 + 19² · 6 + 10² · 6 + 5² · 6 + 3² · 4 + 1 · 4 = 5776 + 2166 + 600 + 150 + 36 + 4.
    const boxes = ssdDefaultBoxes(SSD300);
    expect(boxes.shape).toEqual([8732, 4]);
    // First box: centre 0.5 / (300 / 8) = 1/75 of the image = 4 px, side 0.07 · 300 = 21 px.
    expectClose(tf.slice(boxes, [0, 0], [1, 4]), [[-6.5, -6.5, 14.5, 14.5]]);
    expect(ssdDefaultBoxes(SSDLITE320).shape).toEqual([3234, 4]);
  });

  it('SSD clip clamps widths and heights to the image, not centres', () => {
    // The last SSD300 level: one location at the centre (150, 150), s = 0.87, s' = sqrt(0.87 · 1.05).
    // Ratio 2 gives w = 0.87 · sqrt(2) = 1.2304 of the image, clamped to 1 with clip.
    const last = (clip: boolean) => (ssdDefaultBoxes({ ...SSD300, clip }).arraySync() as number[][]).slice(-4);
    const s = 0.87 * 300;
    const s2 = Math.sqrt(0.87 * 1.05) * 300;
    const [w, h] = [0.87 * Math.SQRT2 * 300, (0.87 / Math.SQRT2) * 300];
    const box = (bw: number, bh: number) => [150 - bw / 2, 150 - bh / 2, 150 + bw / 2, 150 + bh / 2];
    expectClose(last(false).flat(), [box(s, s), box(s2, s2), box(w, h), box(h, w)], { atol: 1e-4 });
    expectClose(last(true).flat(), [box(s, s), box(s2, s2), box(300, h), box(h, 300)], { atol: 1e-4 });
    // Near the corner a clipped box still reaches past the image: clip is not clipBoxes.
    expect(Math.min(...(ssdDefaultBoxes(SSD300).arraySync() as number[][])[0]!)).toBeLessThan(0);
  });

  it('SSD presets are frozen', () => {
    expect(Object.isFrozen(SSD300)).toBe(true);
    expect(Object.isFrozen(SSD300.aspectRatios)).toBe(true);
    expect(Object.isFrozen(SSD300.aspectRatios[1])).toBe(true);
    expect(() => (SSD300.featureMapSizes as number[]).push(1)).toThrow(TypeError);
  });
});
