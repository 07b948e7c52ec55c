// Parity with torchvision 0.14's roi_align and roi_pool: values and the gradient with respect to the
// features, for every case in fixtures/roi-ops.json, on every Node backend, within 1e-5. The fixtures are
// NCHW (torchvision's layout); detkit's maps are NHWC, so inputs and results are transposed here.
import { tf } from '@detkit/core';
import { describeEachBackend, expectClose } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import { roiAlign, roiPool } from './index';
import { readRoiFixture } from './test-helpers';

const fixture = readRoiFixture();

/** NCHW nested array -> NHWC tensor. */
const nhwc = (x: number[][][][], shape?: number[]) => tf.tidy(() => tf.transpose(tf.tensor4d(x, shape as [number, number, number, number]), [0, 2, 3, 1]));

it('fixtures come from torchvision 0.14', () => {
  expect(fixture.torchvision).toMatch(/^0\.14/);
  expect(fixture.cases.filter((c) => c.fn === 'torchvision.ops.roi_align').length).toBeGreaterThanOrEqual(10);
  expect(fixture.cases.filter((c) => c.fn === 'torchvision.ops.roi_pool').length).toBeGreaterThanOrEqual(6);
});

describeEachBackend('torchvision parity: roi_align and roi_pool', () => {
  for (const c of fixture.cases) {
    it(`${c.fn.split('.').pop()} ${c.name}: values and feature gradient`, () => {
      tf.tidy(() => {
        const features = nhwc(c.features);
        const [b, h, w, ch] = features.shape;
        const boxes = tf.tensor2d(c.boxes.flat(), [c.boxes.length, 4]);
        const index = tf.tensor1d(c.boxImageIndex, 'int32');
        const op = (x: tf.Tensor) =>
          c.fn.endsWith('roi_align')
            ? roiAlign(x, boxes, index, { outputSize: c.outputSize, spatialScale: c.spatialScale, samplingRatio: c.samplingRatio!, aligned: c.aligned! })
            : roiPool(x, boxes, index, { outputSize: c.outputSize, spatialScale: c.spatialScale });
        const k = c.boxes.length;
        const [ph, pw] = c.outputSize;
        const out = op(features);
        expect(out.shape).toEqual([k, ph, pw, ch]);
        // (tfjs-backend-wasm's Transpose divides by zero on empty tensors: compare K = 0 as is.)
        expectClose(k === 0 ? out : tf.transpose(out, [0, 3, 1, 2]), k === 0 ? [] : c.expected, { what: 'output' });
        const upstream = k === 0 ? tf.zeros([0, ph, pw, ch]) : nhwc(c.upstream);
        const grad = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(op(x), upstream)))(features);
        expect(grad.shape).toEqual([b, h, w, ch]);
        expectClose(tf.transpose(grad, [0, 3, 1, 2]), c.expectedGrad, { what: 'gradient' });
      });
    });
  }
});
