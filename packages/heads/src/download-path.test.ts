// GPU-class backends (webgl, webgpu, tensorflow) have no in-place typed-array path: there @detkit/core's
// runTypedArrayKernel runs the same kernels over downloaded copies. This suite simulates such a backend in
// Node (tfjs-backend-cpu's kernels registered under another name, so detkit's cpu/wasm fast path is not
// taken) and checks RoIAlign and RoIPool values and gradients against torchvision there, and that the
// heads and the selection steps run and differentiate.
import { hasTypedArrayPath, tf } from '@detkit/core';
import { expectClose } from '@detkit/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROPOSAL_PRESETS, createRpnHead, postprocessDetections, proposalLayer, roiAlign, roiPool } from './index';
import { gridAnchors, readRoiFixture, seededValues } from './test-helpers';

const NAME = 'detkit-test-download';

const fixture = readRoiFixture();
const nhwc = (x: number[][][][]) => tf.tidy(() => tf.transpose(tf.tensor4d(x), [0, 2, 3, 1]));

describe('the download path of GPU-class backends (simulated)', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    const Cpu = (tf.findBackend('cpu') as object).constructor as new () => tf.KernelBackend;
    if (tf.findBackendFactory(NAME) === null) {
      tf.registerBackend(NAME, () => new Cpu());
      for (const kernel of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...kernel, backendName: NAME });
    }
    await tf.setBackend(NAME);
    await tf.ready();
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('is not an in-place backend', () => {
    expect(tf.getBackend()).toBe(NAME);
    expect(hasTypedArrayPath()).toBe(false);
  });

  for (const c of fixture.cases.filter((k) => k.boxes.length > 0)) {
    it(`${c.fn.split('.').pop()} ${c.name}: values and gradient match torchvision`, () => {
      tf.tidy(() => {
        const features = nhwc(c.features);
        const op = (x: tf.Tensor) =>
          c.fn.endsWith('roi_align')
            ? roiAlign(x, c.boxes, c.boxImageIndex, { outputSize: c.outputSize, spatialScale: c.spatialScale, samplingRatio: c.samplingRatio!, aligned: c.aligned! })
            : roiPool(x, c.boxes, c.boxImageIndex, { outputSize: c.outputSize, spatialScale: c.spatialScale });
        expectClose(tf.transpose(op(features), [0, 3, 1, 2]), c.expected, { what: 'output' });
        const upstream = nhwc(c.upstream);
        const grad = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(op(x), upstream)))(features);
        expectClose(tf.transpose(grad, [0, 3, 1, 2]), c.expectedGrad, { what: 'gradient' });
      });
    });
  }

  it('RPN head trains, and proposals and detections come out, without leaks', () => {
    const head = createRpnHead({ inChannels: 3, midChannels: 4, numAnchors: 2, seed: 1 });
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = tf.tensor(seededValues(1 * 6 * 6 * 3, 2), [1, 6, 6, 3]);
      const { grads } = tf.variableGrads(() => {
        const o = head.apply(x);
        return tf.add(tf.sum(o.objectness), tf.sum(o.deltas)) as tf.Scalar;
      }, Object.values(head.variables));
      expect(Object.keys(grads).sort(), JSON.stringify(Object.keys(grads))).toEqual(Object.values(head.variables).map((v) => v.name).sort());
      const out = head.apply(x);
      const anchors = tf.tensor2d(gridAnchors(6, 6, 16, [32], [0.5, 1]), [72, 4]);
      const proposals = proposalLayer({ objectness: out.objectness, deltas: out.deltas, anchors, imageSizes: [96, 96] }, PROPOSAL_PRESETS.test);
      expect(proposals.boxes[0]!.shape[1]).toBe(4);
      const dets = postprocessDetections({ classLogits: tf.tensor(seededValues(72 * 3, 3), [72, 3]), boxDeltas: tf.zeros([72, 12]), referenceBoxes: anchors, imageSizes: [96, 96] }, { scoreThreshold: 0, nmsThreshold: 0.5, detectionsPerImage: 10 });
      expect(dets[0]!.boxes.shape).toEqual([10, 4]);
    });
    expect(tf.memory().numTensors).toBe(before);
    head.dispose();
  });
});
