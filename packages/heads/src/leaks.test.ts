// No tensor leaks: every public op and head leaves tf.memory().numTensors as it found it (outputs
// disposed), in the forward pass and in the backward pass (tf.grad / tf.variableGrads), including the
// tensors that the custom gradients save for the backward pass.
import { tf } from '@detkit/core';
import { describeEachBackend, expectNoLeaks } from '@detkit/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as heads from './index';
import { gridAnchors, seededValues } from './test-helpers';

const boxes = [[0, 0, 20, 20], [4, 8, 30, 16], [10, 10, 10, 10]];
const index = [0, 1, 1];
const features = () => tf.tensor(seededValues(2 * 8 * 8 * 3, 1), [2, 8, 8, 3]);

describeEachBackend('no tensor leaks', () => {
  let rpn: heads.RpnHead;
  let box: heads.BoxHead;
  let ssd: heads.SsdHead;
  beforeAll(() => {
    rpn = heads.createRpnHead({ inChannels: 3, midChannels: 4, numAnchors: 2, seed: 1 });
    box = heads.createBoxHead({ inChannels: 3, poolSize: 2, representationSize: 4, numClasses: 3, seed: 2 });
    ssd = heads.createSsdHead({ inChannels: [3, 3], numAnchors: [2, 3], numClasses: 3, seed: 3 });
  });
  afterAll(() => [rpn, box, ssd].forEach((h) => h.dispose()));

  // No tf.tidy around the calls: anything an op leaves behind is counted. Inputs made here are returned, so
  // expectNoLeaks disposes them with the outputs.
  const grad = (f: (x: tf.Tensor) => tf.Tensor) => () => {
    const x = features();
    return [x, tf.grad((y: tf.Tensor) => tf.sum(f(y)))(x)];
  };
  const withInputs = (make: () => tf.Tensor[], f: (...xs: tf.Tensor[]) => unknown) => () => {
    const xs = make();
    return [xs, f(...xs)];
  };
  const variableGrads = (head: () => heads.HeadWeights, f: () => tf.Tensor) => () => {
    const { value, grads } = tf.variableGrads(() => tf.sum(f()) as tf.Scalar, Object.values(head().variables));
    return [value, ...Object.values(grads)];
  };

  const cases: Record<string, () => unknown> = {
    roiAlign: withInputs(() => [features()], (x) => heads.roiAlign(x!, boxes, index, { outputSize: 2, spatialScale: 0.5 })),
    'roiAlign, no boxes': withInputs(() => [features(), tf.zeros([0, 4]), tf.zeros([0], 'int32')], (x, b, i) => heads.roiAlign(x!, b!, i!)),
    'roiAlign gradient': grad((x) => heads.roiAlign(x, boxes, index, { outputSize: 2, spatialScale: 0.5, samplingRatio: 2, aligned: true })),
    'roiAlign gradient, no boxes': grad((x) => heads.roiAlign(x, tf.zeros([0, 4]), tf.zeros([0], 'int32'))),
    roiPool: withInputs(() => [features()], (x) => heads.roiPool(x!, boxes, index, { outputSize: 2, spatialScale: 0.5 })),
    'roiPool gradient': grad((x) => heads.roiPool(x, boxes, index, { outputSize: 2, spatialScale: 0.5 })),
    'RPN head': withInputs(() => [features(), tf.ones([2, 2, 2, 3])], (a, b) => rpn.apply([a!, b!])),
    'RPN head gradients': variableGrads(() => rpn, () => { const o = rpn.apply(features()); return tf.add(tf.sum(o.objectness), tf.sum(o.deltas)); }),
    'RPN head input gradient': grad((x) => rpn.apply(x).deltas),
    'box head': withInputs(() => [tf.ones([5, 2, 2, 3])], (x) => box.apply(x!)),
    'box head, nested-array input': () => box.apply([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]]),
    'box head gradients': variableGrads(() => box, () => { const o = box.apply(tf.ones([5, 12])); return tf.add(tf.sum(o.classLogits), tf.sum(o.boxDeltas)); }),
    'box head, no RoIs': withInputs(() => [tf.zeros([0, 2, 2, 3])], (x) => box.apply(x!)),
    'SSD head': withInputs(() => [features(), tf.ones([2, 3, 3, 3])], (a, b) => ssd.apply([a!, b!])),
    'SSD head gradients': variableGrads(() => ssd, () => { const o = ssd.apply([features(), tf.ones([2, 3, 3, 3])]); return tf.add(tf.sum(o.classLogits), tf.sum(o.boxDeltas)); }),
    proposalLayer: withInputs(
      () => [tf.tensor(seededValues(2 * 128, 4), [2, 128]), tf.tensor(seededValues(2 * 128 * 4, 5).map((v) => v * 0.2), [2, 128, 4]), tf.tensor2d(gridAnchors(8, 8, 16, [32], [0.5, 1]), [128, 4])],
      (objectness, deltas, anchors) => heads.proposalLayer({ objectness: objectness!, deltas: deltas!, anchors: anchors!, imageSizes: [128, 128] }, { preNmsTopN: 50, postNmsTopN: 20 }),
    ),
    postprocessDetections: withInputs(
      () => [tf.tensor(seededValues(12, 6), [4, 3]), tf.tensor(seededValues(48, 7), [4, 12])],
      (logits, deltas) => heads.postprocessDetections({ classLogits: logits!, boxDeltas: deltas!, referenceBoxes: [[0, 0, 10, 10], [5, 5, 30, 30], [1, 2, 3, 4], [0, 0, 50, 50]], imageSizes: [[40, 40], [40, 40]], boxesPerImage: [3, 1] }, { ...heads.FASTER_RCNN_POSTPROCESS, scoreThreshold: 0 }),
    ),
    'postprocessDetections, SSD': withInputs(
      () => [tf.tensor(seededValues(24, 8), [2, 4, 3]), tf.tensor(seededValues(32, 9), [2, 4, 4])],
      (logits, deltas) => heads.postprocessDetections({ classLogits: logits!, boxDeltas: deltas!, referenceBoxes: [[0, 0, 10, 10], [5, 5, 30, 30], [1, 2, 3, 4], [0, 0, 50, 50]], imageSizes: [40, 40] }, heads.SSD_POSTPROCESS),
    ),
    'save and load': async () => {
      let artifacts: tf.io.ModelArtifacts | undefined;
      await box.save(tf.io.withSaveHandler(async (a) => ((artifacts = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
      await box.load(tf.io.fromMemory(artifacts!));
    },
  };
  for (const [name, fn] of Object.entries(cases)) {
    it(name, () => expectNoLeaks(fn));
  }

  // The outputs belong to the caller's tf.tidy (nothing is tf.keep-ed behind its back).
  for (const [name, fn] of Object.entries(cases)) {
    if (name === 'save and load') continue;
    it(`${name}: a caller's tf.tidy disposes the outputs`, () => {
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        fn();
      });
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});
