// Colour adjustments, against torchvision.transforms.functional's tensor formulas worked by hand.
import { tf } from '@detkit/core';
import { describeEachBackend, expectClose, expectNoLeaks } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import { adjustBrightness, adjustContrast, adjustHue, adjustSaturation, colorJitter, createRandom, sampleColorJitter } from './index';

// Two pixels: p1 = (0.2, 0.4, 0.6), p2 = (0.8, 0.8, 0.8), as a 1 x 2 image.
const img = () => tf.tensor3d([[[0.2, 0.4, 0.6], [0.8, 0.8, 0.8]]]);
// rgb_to_grayscale: 0.2989 r + 0.587 g + 0.114 b -> p1: 0.05978 + 0.2348 + 0.0684 = 0.36298; p2: 0.8 * 0.9999 = 0.79992.
const g1 = 0.36298, g2 = 0.79992;

describeEachBackend('colour jitter', () => {
  it('adjustBrightness: clamp(f * img, 0, 1)', () => {
    expectClose(adjustBrightness(img(), 1.5), [[[0.3, 0.6, 0.9], [1, 1, 1]]]);
    expectClose(adjustBrightness(img(), 0), [[[0, 0, 0], [0, 0, 0]]]);
  });

  it('adjustContrast: blend with the mean grayscale of the image', () => {
    // mean = (0.36298 + 0.79992) / 2 = 0.58145; f = 0.5: 0.5 * x + 0.5 * 0.58145.
    const m = (g1 + g2) / 2;
    expectClose(adjustContrast(img(), 0.5), [[[0.1 + m / 2, 0.2 + m / 2, 0.3 + m / 2], [0.4 + m / 2, 0.4 + m / 2, 0.4 + m / 2]]]);
    // Batches: the mean is per image.
    const batch = tf.stack([img(), tf.reverse(img(), 1)]);
    const out = adjustContrast(batch, 0.5).arraySync() as number[][][][];
    expectClose(out[1]![0]![1]!, [0.1 + m / 2, 0.2 + m / 2, 0.3 + m / 2]);
  });

  it('adjustSaturation: blend with the grayscale image (0 gives grey)', () => {
    expectClose(adjustSaturation(img(), 0), [[[g1, g1, g1], [g2, g2, g2]]]);
    // f = 2: clamp(2 x - g): p1 -> (0.4 - 0.36298, 0.8 - 0.36298, 1.2 - 0.36298).
    expectClose(adjustSaturation(img(), 2), [[[0.4 - g1, 0.8 - g1, 1.2 - g1], [1.6 - g2, 1.6 - g2, 1.6 - g2]]]); // p2: 2 * 0.8 - 0.79992
  });

  it('adjustHue: rotate the hue, keep value and saturation', () => {
    // p1: max 0.6 (blue), min 0.2, s = 2/3; hb = 4 + gc - rc = 4 + 0.5 - 1 = 3.5, h = 3.5 / 6. Shift
    // 0.5: h = 1/12, sector 0, f = 0.5: (v, t, p) = (0.6, 0.6 (1 - 2/3 * 0.5), 0.6 (1 - 2/3)) = (0.6, 0.4, 0.2).
    // p2 is grey (s = 0): unchanged.
    expectClose(adjustHue(img(), 0.5), [[[0.6, 0.4, 0.2], [0.8, 0.8, 0.8]]]);
    // Pure red shifted by 1/3 is green, by -1/3 blue.
    expectClose(adjustHue(tf.tensor3d([[[1, 0, 0]]]), 1 / 3), [[[0, 1, 0]]], { atol: 1e-5 });
    expectClose(adjustHue(tf.tensor3d([[[1, 0, 0]]]), -1 / 3), [[[0, 0, 1]]], { atol: 1e-5 });
    expectClose(adjustHue(img(), 0), img().arraySync());
  });

  it('sampleColorJitter draws factors in torchvision ColorJitter ranges, seeded', () => {
    const a = sampleColorJitter(createRandom(1), { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 });
    expect(sampleColorJitter(createRandom(1), { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 })).toEqual(a);
    expect([...a.order].sort()).toEqual([0, 1, 2, 3]);
    for (const k of ['brightness', 'contrast', 'saturation'] as const) expect(a[k] >= 0.6 && a[k] <= 1.4).toBe(true);
    expect(Math.abs(a.hue) <= 0.1).toBe(true);
    expect(sampleColorJitter(createRandom(1), {})).toMatchObject({ brightness: 1, contrast: 1, saturation: 1, hue: 0 });
  });

  it('colorJitter applies the draw in its order; no leaks', async () => {
    const x = img();
    const params = { order: [3, 0, 1, 2], brightness: 1.2, contrast: 0.8, saturation: 1.1, hue: 0.05 };
    const want = adjustSaturation(adjustContrast(adjustBrightness(adjustHue(x, 0.05), 1.2), 0.8), 1.1);
    expectClose(colorJitter(x, params), want.arraySync());
    await expectNoLeaks(() => colorJitter(x, params));
    await expectNoLeaks(() => [adjustHue(x, 0.3), adjustContrast(x, 1.3), adjustSaturation(x, 0.3), adjustBrightness(x, 2)]);
  });
});
