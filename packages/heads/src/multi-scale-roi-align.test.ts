// multiScaleRoiAlign: parity with torchvision 0.14's MultiScaleRoIAlign (fixtures/multi-scale-roi-align.json,
// NCHW there, NHWC here; values and the gradients with respect to every level, within 1e-5), FPN level
// assignment worked by hand, empty boxes, typed errors and no tensor leaks, on every Node backend.
import { InvalidArgumentError, InvalidValueError, ShapeError, tf } from '@detkit/core';
import { describeEachBackend, expectClose, expectNoLeaks, readFixture, thrownDetkitError } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import { multiScaleRoiAlign, roiAlign } from './index';
import { seededValues } from './test-helpers';

interface MultiScaleCase {
  fn: string;
  name: string;
  outputSize: [number, number];
  samplingRatio: number;
  imageSize: [number, number];
  scales: number[];
  features: number[][][][][];
  boxes: number[][];
  boxImageIndex: number[];
  levels: number[];
  upstream: number[][][][];
  expected: number[][][][];
  expectedGrads: number[][][][][];
}
const fixture = readFixture(new URL('../fixtures/multi-scale-roi-align.json', import.meta.url)) as { cases: MultiScaleCase[]; torchvision: string };

/** NCHW nested array -> NHWC tensor. */
const nhwc = (x: number[][][][]) => tf.tidy(() => tf.transpose(tf.tensor4d(x), [0, 2, 3, 1]));

it('fixtures come from torchvision 0.14 and hit every level', () => {
  expect(fixture.torchvision).toMatch(/^0\.14/);
  const [c] = fixture.cases;
  expect(c!.fn).toBe('torchvision.ops.MultiScaleRoIAlign');
  expect(c!.scales).toEqual([1 / 4, 1 / 8, 1 / 16, 1 / 32]);
  expect(new Set(c!.levels)).toEqual(new Set([0, 1, 2, 3]));
});

describeEachBackend('multiScaleRoiAlign', () => {
  for (const c of fixture.cases) {
    it(`torchvision parity, ${c.name}: values and gradients of every level`, () => {
      tf.tidy(() => {
        const maps = c.features.map(nhwc);
        const boxes = tf.tensor2d(c.boxes);
        const index = tf.tensor1d(c.boxImageIndex, 'int32');
        const op = (...xs: tf.Tensor[]) => multiScaleRoiAlign(xs, boxes, index, { imageSizes: c.imageSize });
        const out = op(...maps);
        expect(out.shape).toEqual([c.boxes.length, ...c.outputSize, maps[0]!.shape[3]]);
        expectClose(tf.transpose(out, [0, 3, 1, 2]), c.expected, { what: 'output' });
        const upstream = nhwc(c.upstream);
        const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(op(...xs), upstream)))(maps);
        grads.forEach((g, l) => {
          expect(g.shape).toEqual(maps[l]!.shape);
          expectClose(tf.transpose(g, [0, 3, 1, 2]), c.expectedGrads[l], { what: `gradient of level ${l}` });
        });
        // The same rows in another order give the same rows, reordered.
        const order = c.boxes.map((_, i) => (i * 5) % c.boxes.length);
        const shuffled = multiScaleRoiAlign(maps, tf.gather(boxes, order), tf.gather(index, order), { imageSizes: c.imageSize });
        expectClose(shuffled, tf.gather(out, order).arraySync(), { atol: 0, rtol: 0, what: 'shuffled output' });
      });
    });
  }

  it('assigns boxes to levels as FPN eq. 1 (worked by hand)', () => {
    // Image 256 x 256, maps 64, 32, 16, 8: scales 1/4 .. 1/32, so kMin = 2, kMax = 5. Level l is filled
    // with l + 1 (one channel): the first bin of a box (its top-left samples lie inside every map) reads
    // the level it was pooled from. level = floor(4 + log2(sqrt(area) / 224) + 1e-6), clamped to [2, 5]:
    //   3 x 3:       4 + log2(3 / 224) = -2.22 -> -3 -> clamped to 2 (P2, index 0)
    //   0 x 0:       log2(0) = -inf -> clamped to 2 (index 0)
    //   111 x 111:   4 + log2(0.4955) = 2.987 -> 2 (index 0)
    //   112 x 112:   4 + log2(0.5) = 3 exactly (+ 1e-6) -> 3 (P3, index 1)
    //   100 x 400:   sqrt = 200, 4 + log2(0.893) = 3.84 -> 3 (index 1)
    //   223 x 223:   4 + log2(0.9955) = 3.994 -> 3 (index 1)
    //   224 x 224:   4 (P4, index 2)
    //   447 x 447:   4 + log2(1.9955) = 4.997 -> 4 (index 2)
    //   448 x 448:   5 (P5, index 3)
    //   1000 x 1000: 4 + log2(4.464) = 6.16 -> 6 -> clamped to 5 (index 3)
    const sides = [[3, 3], [0, 0], [111, 111], [112, 112], [100, 400], [223, 223], [224, 224], [447, 447], [448, 448], [1000, 1000]];
    const expected = [1, 1, 1, 2, 2, 2, 3, 3, 4, 4];
    tf.tidy(() => {
      const maps = [64, 32, 16, 8].map((s, l) => tf.fill([1, s, s, 1], l + 1));
      const boxes = tf.tensor2d(sides.map(([w, h]) => [0, 0, w!, h!]));
      const out = multiScaleRoiAlign(maps, boxes, tf.zeros([sides.length], 'int32'), { imageSizes: [256, 256] });
      expectClose(tf.reshape(tf.slice(out, [0, 0, 0, 0], [sides.length, 1, 1, 1]), [-1]), expected, { what: 'level + 1' });
      // canonicalLevel 3: every box one level lower (the 3 x 3 .. 223 x 223 boxes all on P2).
      const lower = multiScaleRoiAlign(maps, boxes, tf.zeros([sides.length], 'int32'), { imageSizes: [256, 256], canonicalLevel: 3 });
      expectClose(tf.reshape(tf.slice(lower, [0, 0, 0, 0], [sides.length, 1, 1, 1]), [-1]), [1, 1, 1, 1, 1, 1, 2, 2, 3, 4], { what: 'level + 1' });
    });
  });

  it('one level is roiAlign with the inferred scale; the largest image size counts', () => {
    tf.tidy(() => {
      const x = tf.tensor(seededValues(2 * 10 * 12 * 3, 7), [2, 10, 12, 3]);
      const boxes = tf.tensor2d([[0, 0, 30, 20], [8, 4, 40, 36], [2, 2, 2, 2]]);
      const index = tf.tensor1d([1, 0, 1], 'int32');
      // Height 10 of an 80 px image (the larger of 80 and 60): 2^round(log2(0.125)) = 1/8.
      const out = multiScaleRoiAlign([x], boxes, index, { imageSizes: [[60, 96], [80, 90]], outputSize: [3, 2] });
      expectClose(out, roiAlign(x, boxes, index, { outputSize: [3, 2], spatialScale: 1 / 8, samplingRatio: 2 }).arraySync(), { atol: 0, rtol: 0 });
    });
  });

  it('no boxes: [0, PH, PW, C] and zero gradients', () => {
    tf.tidy(() => {
      const maps = [tf.ones([2, 8, 8, 3]), tf.ones([2, 4, 4, 3])];
      const op = (...xs: tf.Tensor[]) => multiScaleRoiAlign(xs, tf.zeros([0, 4]), tf.zeros([0], 'int32'), { imageSizes: [32, 32] });
      expect(op(...maps).shape).toEqual([0, 7, 7, 3]);
      const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(op(...xs)))(maps);
      expect(grads.map((g) => g.shape)).toEqual([[2, 8, 8, 3], [2, 4, 4, 3]]);
      grads.forEach((g) => expect(tf.max(tf.abs(g)).dataSync()[0]).toBe(0));
    });
  });

  it('typed errors', () => {
    const maps = [tf.zeros([2, 8, 8, 3]), tf.zeros([2, 4, 4, 3])];
    const boxes = [[0, 0, 8, 8], [2, 2, 6, 6]];
    const opts = { imageSizes: [32, 32] as [number, number] };
    tf.tidy(() => {
      expect(thrownDetkitError(() => multiScaleRoiAlign([], boxes, [0, 1], opts))).toBeInstanceOf(InvalidArgumentError);
      const rank = thrownDetkitError(() => multiScaleRoiAlign([maps[0]!, tf.zeros([4, 4, 3])], boxes, [0, 1], opts)) as ShapeError;
      expect(rank).toBeInstanceOf(ShapeError);
      expect(rank.argument).toBe('features[1]');
      const channels = thrownDetkitError(() => multiScaleRoiAlign([maps[0]!, tf.zeros([2, 4, 4, 5])], boxes, [0, 1], opts)) as ShapeError;
      expect(channels).toBeInstanceOf(ShapeError);
      expect(channels.argument).toBe('features[1]');
      expect(channels.expected).toBe('[2, H, W, 3] (as features[0])');
      expect((thrownDetkitError(() => multiScaleRoiAlign([maps[0]!, tf.zeros([1, 4, 4, 3])], boxes, [0, 1], opts)) as ShapeError).argument).toBe('features[1]');
      const gap = thrownDetkitError(() => multiScaleRoiAlign([maps[0]!, tf.zeros([2, 2, 2, 3])], boxes, [0, 1], opts)) as InvalidArgumentError;
      expect(gap).toBeInstanceOf(InvalidArgumentError);
      expect(gap.argument).toBe('features[1]');
      expect((thrownDetkitError(() => multiScaleRoiAlign(maps, [[0, 0, 8]], [0], opts)) as ShapeError).argument).toBe('boxes');
      const nan = thrownDetkitError(() => multiScaleRoiAlign(maps, [[0, 0, 8, 8], [0, 0, Infinity, 1]], [0, 1], opts)) as InvalidValueError;
      expect(nan).toBeInstanceOf(InvalidValueError);
      expect(nan.argument).toBe('boxes');
      expect(nan.index).toBe(1);
      expect((thrownDetkitError(() => multiScaleRoiAlign(maps, boxes, [0, 2], opts)) as InvalidValueError).argument).toBe('boxImageIndex');
      expect((thrownDetkitError(() => multiScaleRoiAlign(maps, boxes, [0, 1], {} as typeof opts)) as InvalidArgumentError).argument).toBe('imageSizes');
      expect((thrownDetkitError(() => multiScaleRoiAlign(maps, boxes, [0, 1], { imageSizes: [0, 0] })) as InvalidArgumentError).argument).toBe('imageSizes');
      expect((thrownDetkitError(() => multiScaleRoiAlign(maps, boxes, [0, 1], { ...opts, outputSize: 0 })) as InvalidArgumentError).argument).toBe('outputSize');
      expect((thrownDetkitError(() => multiScaleRoiAlign(maps, boxes, [0, 1], { ...opts, samplingRatio: 1.5 })) as InvalidArgumentError).argument).toBe('samplingRatio');
      expect((thrownDetkitError(() => multiScaleRoiAlign(maps, boxes, [0, 1], { ...opts, canonicalScale: -1 })) as InvalidArgumentError).argument).toBe('canonicalScale');
      expect((thrownDetkitError(() => multiScaleRoiAlign(maps, boxes, [0, 1], { ...opts, canonicalLevel: 0.5 })) as InvalidArgumentError).argument).toBe('canonicalLevel');
    });
    tf.dispose(maps);
  });

  it('no tensor leaks: forward, gradients, no boxes', async () => {
    const boxes = [[0, 0, 4, 4], [0, 0, 20, 20], [2, 2, 31, 30]];
    const make = () => [tf.tensor(seededValues(2 * 8 * 8 * 3, 1), [2, 8, 8, 3]), tf.ones([2, 4, 4, 3]), tf.ones([2, 2, 2, 3])];
    const opts = { imageSizes: [32, 32] as [number, number], canonicalScale: 16 };
    await expectNoLeaks(() => {
      const xs = make();
      return [xs, multiScaleRoiAlign(xs, boxes, [0, 1, 1], opts)];
    });
    await expectNoLeaks(() => {
      const xs = make();
      return [xs, tf.grads((...ys: tf.Tensor[]) => tf.sum(multiScaleRoiAlign(ys, boxes, [0, 1, 1], opts)))(xs)];
    });
    await expectNoLeaks(() => {
      const xs = make();
      const none = [tf.zeros([0, 4]), tf.zeros([0], 'int32')];
      return [xs, none, tf.grads((...ys: tf.Tensor[]) => tf.sum(multiScaleRoiAlign(ys, none[0]!, none[1]!, opts)))(xs)];
    });
  });
});
