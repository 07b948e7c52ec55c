// The pipeline's plain-JavaScript colour adjustments agree with the tfjs ones (torchvision formulas).
import { tf } from '@detkit/core';
import { describeEachBackend, expectClose } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import { adjustBrightness, adjustContrast, adjustHue, adjustSaturation, colorJitter } from './index';
import { brightnessPixels, colorJitterPixels, contrastPixels, huePixels, saturationPixels } from './photometric';

describeEachBackend('plain-JS colour adjustments', () => {
  const w = 9, h = 7;
  let seed = 5;
  const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const img = Float32Array.from({ length: w * h * 3 }, rand);
  img.set([0.5, 0.5, 0.5, 1, 1, 1, 0, 0, 0, 0.2, 0.9, 0.9], 0); // grey, white, black, r < g = b ties
  const viaTf = (f: (t: tf.Tensor) => tf.Tensor) => tf.tidy(() => f(tf.tensor3d(img, [h, w, 3])).dataSync() as Float32Array);
  const viaJs = (f: (px: Float32Array) => void) => {
    const px = img.slice();
    f(px);
    return px;
  };
  const cases: [string, (t: tf.Tensor) => tf.Tensor, (px: Float32Array) => void][] = [
    ['brightness 1.3', (t) => adjustBrightness(t, 1.3), (p) => brightnessPixels(p, 1.3)],
    ['brightness 0.6', (t) => adjustBrightness(t, 0.6), (p) => brightnessPixels(p, 0.6)],
    ['contrast 1.4', (t) => adjustContrast(t, 1.4), (p) => contrastPixels(p, 1.4)],
    ['contrast 0.5', (t) => adjustContrast(t, 0.5), (p) => contrastPixels(p, 0.5)],
    ['saturation 1.5', (t) => adjustSaturation(t, 1.5), (p) => saturationPixels(p, 1.5)],
    ['saturation 0.3', (t) => adjustSaturation(t, 0.3), (p) => saturationPixels(p, 0.3)],
    ['hue +0.05', (t) => adjustHue(t, 0.05), (p) => huePixels(p, 0.05)],
    ['hue -0.4', (t) => adjustHue(t, -0.4), (p) => huePixels(p, -0.4)],
  ];
  for (const [name, t, js] of cases) {
    it(`${name}: equals the tfjs op within 1e-6`, () => {
      expectClose(viaJs(js), viaTf(t), { atol: 1e-6, what: name });
    });
  }

  it('a whole ColorJitter draw, in its order', () => {
    const params = { order: [3, 1, 0, 2], brightness: 1.2, contrast: 0.8, saturation: 1.3, hue: -0.1 };
    expectClose(viaJs((p) => colorJitterPixels(p, params)), viaTf((x) => colorJitter(x, params)), { atol: 1e-6 });
    expect(tf.memory().numTensors).toBeGreaterThanOrEqual(0);
  });
});
