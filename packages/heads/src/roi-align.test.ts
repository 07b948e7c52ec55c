// RoIAlign and RoIPool properties beyond the torchvision fixtures: exact values on constant and linear
// feature maps, linearity, where the gradient goes, and empty inputs. (Parity with torchvision, values and
// gradients, is in roi-ops.fixtures.test.ts.)
import { tf } from '@detkit/core';
import { describeEachBackend, expectClose } from '@detkit/test-utils';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { roiAlign, roiPool } from './index';

/** Boxes (image pixels, scale 1/4 onto a 12 x 16 map) whose sample points all lie inside the map. */
const insideBox = fc
  .record({ x1: fc.double({ min: 2, max: 40, noNaN: true }), y1: fc.double({ min: 2, max: 28, noNaN: true }), w: fc.double({ min: 1, max: 18, noNaN: true }), h: fc.double({ min: 1, max: 14, noNaN: true }) })
  .map(({ x1, y1, w, h }) => [x1, y1, x1 + w, y1 + h]);

describeEachBackend('roiAlign and roiPool properties', () => {
  it('a constant map pools to the constant (boxes inside the map)', () => {
    fc.assert(
      fc.property(fc.array(insideBox, { minLength: 1, maxLength: 5 }), fc.boolean(), fc.integer({ min: -1, max: 3 }), (boxes, aligned, samplingRatio) => {
        tf.tidy(() => {
          const f = tf.fill([1, 12, 16, 5], 2.5);
          const index = new Array(boxes.length).fill(0);
          expectClose(roiAlign(f, boxes, index, { outputSize: [3, 4], spatialScale: 0.25, samplingRatio, aligned }), tf.fill([boxes.length, 3, 4, 5], 2.5).arraySync());
          expectClose(roiPool(f, boxes, index, { outputSize: [3, 4], spatialScale: 0.25 }), tf.fill([boxes.length, 3, 4, 5], 2.5).arraySync());
        });
      }),
      { numRuns: 25 },
    );
  });

  it('aligned RoIAlign of a linear ramp is the ramp at the bin centres', () => {
    // f(y, x, c) = 3y - 2x + c at cell (y, x); aligned: box corner u (pixels) maps to u * scale - 0.5 cells,
    // and a bin's samples average to its centre on a linear map.
    const [h, w, c] = [12, 16, 3];
    const ramp = tf.tidy(() => tf.add(tf.add(tf.mul(tf.reshape(tf.range(0, h), [1, h, 1, 1]), 3), tf.mul(tf.reshape(tf.range(0, w), [1, 1, w, 1]), -2)), tf.reshape(tf.range(0, c), [1, 1, 1, c])));
    fc.assert(
      fc.property(insideBox, fc.integer({ min: 1, max: 3 }), ([x1, y1, x2, y2], samplingRatio) => {
        tf.tidy(() => {
          const [ph, pw] = [3, 2];
          const expected: number[][][] = [];
          for (let i = 0; i < ph; i++) {
            const row: number[][] = [];
            for (let j = 0; j < pw; j++) {
              const cy = y1! * 0.25 - 0.5 + ((i + 0.5) * (y2! - y1!) * 0.25) / ph;
              const cx = x1! * 0.25 - 0.5 + ((j + 0.5) * (x2! - x1!) * 0.25) / pw;
              row.push([0, 1, 2].map((k) => 3 * cy - 2 * cx + k));
            }
            expected.push(row);
          }
          // Sample points within half a cell of the border are clamped; keep the box's samples in [0, H-1].
          const lo = Math.min(y1! * 0.25 - 0.5, x1! * 0.25 - 0.5);
          const hiY = y2! * 0.25 - 0.5, hiX = x2! * 0.25 - 0.5;
          fc.pre(lo >= 0 && hiY <= h - 1 && hiX <= w - 1);
          expectClose(roiAlign(ramp, [[x1!, y1!, x2!, y2!]], [0], { outputSize: [ph, pw], spatialScale: 0.25, samplingRatio, aligned: true }), [expected], { atol: 1e-4 });
        });
      }),
      { numRuns: 30 },
    );
    ramp.dispose();
  });

  it('RoIAlign is linear in the features', () => {
    tf.tidy(() => {
      const a = tf.randomNormal([2, 6, 7, 6], 0, 1, 'float32', 1);
      const b = tf.randomNormal([2, 6, 7, 6], 0, 1, 'float32', 2);
      const boxes = [[1, 2, 20, 19], [-5, -5, 10, 40], [8, 8, 9, 9]];
      const index = [1, 0, 1];
      const opts = { outputSize: 3, spatialScale: 0.3, samplingRatio: -1 };
      const lhs = roiAlign(tf.add(tf.mul(a, 2), b), boxes, index, opts);
      const rhs = tf.add(tf.mul(roiAlign(a, boxes, index, opts), 2), roiAlign(b, boxes, index, opts));
      expectClose(lhs, rhs.arraySync(), { atol: 1e-5 });
    });
  });

  it('gradients land on the right image; inside boxes spread total mass PH * PW per box and channel', () => {
    tf.tidy(() => {
      const f = tf.randomNormal([3, 10, 10, 5], 0, 1, 'float32', 3);
      const boxes = [[4, 4, 30, 20], [8, 12, 20, 28]];
      const grad = tf.grad((x: tf.Tensor) => tf.sum(roiAlign(x, boxes, [2, 2], { outputSize: [2, 3], spatialScale: 0.25, samplingRatio: 2, aligned: true })))(f);
      const perImage = tf.sum(grad, [1, 2]).arraySync() as number[][];
      expectClose(perImage[0]!, [0, 0, 0, 0, 0]);
      expectClose(perImage[1]!, [0, 0, 0, 0, 0]);
      expectClose(perImage[2]!, [12, 12, 12, 12, 12], { atol: 1e-4 });
      // RoIPool sends each output's gradient to exactly one cell.
      const poolGrad = tf.grad((x: tf.Tensor) => tf.sum(roiPool(x, boxes, [0, 2], { outputSize: [2, 3], spatialScale: 0.25 })))(f);
      expectClose(tf.sum(poolGrad, [0, 1, 2]), [12, 12, 12, 12, 12]);
      expect(tf.sum(tf.abs(tf.slice(poolGrad, [1, 0, 0, 0], [1, 10, 10, 5]))).dataSync()[0]).toBe(0);
    });
  });

  it('zero boxes give [0, PH, PW, C] and a zero gradient; a box with nothing to sample gives zeros', () => {
    tf.tidy(() => {
      const f = tf.randomNormal([1, 5, 5, 3], 0, 1, 'float32', 4);
      for (const op of [roiAlign, roiPool]) {
        const out = op(f, tf.zeros([0, 4]), tf.zeros([0], 'int32'), { outputSize: [2, 2] });
        expect(out.shape).toEqual([0, 2, 2, 3]);
        const g = tf.grad((x: tf.Tensor) => tf.sum(op(x, tf.zeros([0, 4]), tf.zeros([0], 'int32'))))(f);
        expectClose(g, tf.zerosLike(f).arraySync());
        // Entirely outside the map.
        expectClose(op(f, [[100, 100, 120, 130]], [0], { outputSize: 2 }), tf.zeros([1, 2, 2, 3]).arraySync());
      }
    });
  });

  it('there is no gradient with respect to the boxes (as in torchvision)', () => {
    const f = tf.ones([1, 4, 4, 2]);
    expect(() => tf.grad((b: tf.Tensor) => tf.sum(roiAlign(f, b, [0])))(tf.tensor2d([[0, 0, 2, 2]]))).toThrow(/Cannot compute gradient/);
    f.dispose();
  });
});
