// Bad input gets a typed error naming the op, the argument and what was wrong, before any work is done.
import { InvalidArgumentError, InvalidValueError, ShapeError, tf } from '@detkit/core';
import { describeEachBackend, thrownDetkitError } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import { SSD_POSTPROCESS, createBoxHead, createRpnHead, createSsdHead, postprocessDetections, proposalLayer, roiAlign, roiPool, type ProposalOrder } from './index';

const argumentOf = (fn: () => unknown) => (thrownDetkitError(fn) as ShapeError).argument;

const boxes = [[0, 0, 8, 8], [2, 2, 6, 6]];

describeEachBackend('typed errors', () => {
  it('roiAlign and roiPool: shapes, image indices, boxes and options', () => {
    const f = tf.zeros([2, 4, 4, 3]);
    for (const op of [roiAlign, roiPool]) {
      const e = thrownDetkitError(() => op(tf.zeros([4, 4, 3]), boxes, [0, 1])) as ShapeError;
      expect(e).toBeInstanceOf(ShapeError);
      expect(e.argument).toBe('features');
      expect(e.expected).toBe('[B, H, W, C] (NHWC)');
      expect(e.message).toContain(`${op.name}: 'features' must have shape [B, H, W, C] (NHWC), got [4, 4, 3]`);
      expect(argumentOf(() => op(f, [[0, 0, 1, 1, 1]], [0]))).toBe('boxes');
      expect(argumentOf(() => op(f, boxes, [0]))).toBe('boxImageIndex');
      const range = thrownDetkitError(() => op(f, boxes, [0, 2])) as InvalidValueError;
      expect(range).toBeInstanceOf(InvalidValueError);
      expect(range.argument).toBe('boxImageIndex');
      expect(range.index).toBe(1);
      expect(thrownDetkitError(() => op(f, boxes, [-1, 0]))).toBeInstanceOf(InvalidValueError);
      const nan = thrownDetkitError(() => op(f, [[0, 0, 8, 8], [0, NaN, 1, 1]], [0, 0])) as InvalidValueError;
      expect(nan.argument).toBe('boxes');
      expect(nan.index).toBe(1);
      expect(thrownDetkitError(() => op(f, [[5, 0, 1, 1]], [0])).message).toContain('x2 < x1');
      expect(argumentOf(() => op(f, boxes, [0, 1], { outputSize: 0 }))).toBe('outputSize');
      expect(argumentOf(() => op(f, boxes, [0, 1], { outputSize: [7, 2.5] }))).toBe('outputSize');
      expect(argumentOf(() => op(f, boxes, [0, 1], { spatialScale: -1 }))).toBe('spatialScale');
    }
    expect(argumentOf(() => roiAlign(f, boxes, [0, 1], { samplingRatio: 1.5 }))).toBe('samplingRatio');
    expect(argumentOf(() => roiAlign(f, boxes, [0, 1], { aligned: 'yes' as unknown as boolean }))).toBe('aligned');
    f.dispose();
  });

  it('head factories: bad options', () => {
    expect(argumentOf(() => createRpnHead({} as never))).toBe('inChannels');
    expect(argumentOf(() => createRpnHead({ inChannels: 4, midChannels: 0 }))).toBe('midChannels');
    expect(argumentOf(() => createRpnHead({ inChannels: 4, objectnessLogits: 3 as 1 }))).toBe('objectnessLogits');
    expect(argumentOf(() => createRpnHead({ inChannels: 4, name: 'a/b' }))).toBe('name');
    expect(argumentOf(() => createRpnHead({ inChannels: 4, seed: NaN }))).toBe('seed');
    expect(argumentOf(() => createBoxHead({ inChannels: 4, numClasses: 0 }))).toBe('numClasses');
    expect(argumentOf(() => createBoxHead({ inChannels: 4, numClasses: 3, poolSize: [7] as never }))).toBe('poolSize');
    expect(argumentOf(() => createSsdHead({ inChannels: [4, 4], numAnchors: [4], numClasses: 3 }))).toBe('numAnchors');
    expect(argumentOf(() => createSsdHead({ inChannels: [4, -1], numAnchors: [4, 4], numClasses: 3 }))).toBe('inChannels[1]');
    expect(Object.keys(tf.engine().registeredVariables).filter((n) => n.startsWith('rpn_head') || n.startsWith('box_head') || n.startsWith('ssd_head'))).toEqual([]);
  });

  it('head inputs: wrong channels, batch sizes, levels', () => {
    const rpn = createRpnHead({ inChannels: 3, midChannels: 4, numAnchors: 2 });
    const box = createBoxHead({ inChannels: 3, poolSize: 2, representationSize: 4, numClasses: 3 });
    const ssd = createSsdHead({ inChannels: [3, 2], numAnchors: [2, 2], numClasses: 3 });
    try {
      const e = thrownDetkitError(() => rpn.apply(tf.zeros([1, 4, 4, 5]))) as ShapeError;
      expect(e.argument).toBe('features');
      expect(e.expected).toBe('[N, H, W, 3]');
      expect(argumentOf(() => rpn.apply([tf.zeros([1, 4, 4, 3]), tf.zeros([2, 2, 2, 3])]))).toBe('features[1]');
      expect(argumentOf(() => rpn.apply([]))).toBe('features');
      expect(argumentOf(() => box.apply(tf.zeros([5, 3, 3, 3])))).toBe('pooled');
      expect(argumentOf(() => ssd.apply([tf.zeros([1, 4, 4, 3])]))).toBe('features');
      expect(argumentOf(() => ssd.apply([tf.zeros([1, 4, 4, 3]), tf.zeros([1, 2, 2, 3])]))).toBe('features[1]');
    } finally {
      [rpn, box, ssd].forEach((h) => h.dispose());
    }
  });

  it('proposalLayer: shapes, levels, image sizes and options', () => {
    const objectness = [[0.5, -0.2]];
    const deltas = [[[0, 0, 0, 0], [0.1, 0, 0, 0]]];
    const anchors = [[0, 0, 10, 10], [5, 5, 20, 20]];
    const ok = { objectness, deltas, anchors, imageSizes: [32, 32] as [number, number] };
    const opts = { preNmsTopN: 10, postNmsTopN: 5 };
    expect(argumentOf(() => proposalLayer({ ...ok, deltas: [[0, 0, 0, 0]] }, opts))).toBe('deltas');
    expect(argumentOf(() => proposalLayer({ ...ok, objectness: [[0.5, 0.1, 0.2]] }, opts))).toBe('objectness');
    expect(argumentOf(() => proposalLayer({ ...ok, objectness: [[[1, 2, 3], [1, 2, 3]]] }, opts))).toBe('objectness');
    expect(argumentOf(() => proposalLayer({ ...ok, anchors: [[0, 0, 10, 10]] }, opts))).toBe('anchors');
    expect(argumentOf(() => proposalLayer({ ...ok, anchorsPerLevel: [1, 2] }, opts))).toBe('anchorsPerLevel');
    expect(argumentOf(() => proposalLayer({ ...ok, imageSizes: [[32, 32], [32, 32]] }, opts))).toBe('imageSizes');
    expect(argumentOf(() => proposalLayer(ok, { preNmsTopN: -1, postNmsTopN: 5 }))).toBe('preNmsTopN');
    expect(argumentOf(() => proposalLayer(ok, { ...opts, nmsThreshold: 1.5 }))).toBe('nmsThreshold');
    expect(argumentOf(() => proposalLayer(ok, { ...opts, order: 'sorted' as ProposalOrder }))).toBe('order');
    expect((thrownDetkitError(() => proposalLayer({ ...ok, deltas: [[[0, 0, 0, 0], [0, NaN, 0, 0]]] }, opts)) as InvalidValueError).argument).toBe('deltas');
    expect(thrownDetkitError(() => proposalLayer({ ...ok, anchors: [[0, 0, 10, 10], [5, 5, 2, 20]] }, opts))).toBeInstanceOf(InvalidValueError);
  });

  it('postprocessDetections: shapes, image split and options', () => {
    const ok = { classLogits: [[1, 2, 3], [0, 0, 1]], boxDeltas: [[0, 0, 0, 0], [0, 0, 0, 0]], referenceBoxes: [[0, 0, 4, 4], [1, 1, 5, 5]], imageSizes: [10, 10] as [number, number] };
    expect(argumentOf(() => postprocessDetections({ ...ok, boxDeltas: [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0]] }))).toBe('boxDeltas');
    expect(argumentOf(() => postprocessDetections({ ...ok, classLogits: [1, 2, 3] }))).toBe('classLogits');
    expect(argumentOf(() => postprocessDetections({ ...ok, referenceBoxes: [[0, 0, 4, 4]] }))).toBe('referenceBoxes');
    expect(argumentOf(() => postprocessDetections({ ...ok, boxesPerImage: [1, 2] }))).toBe('boxesPerImage');
    expect(argumentOf(() => postprocessDetections({ ...ok, boxesPerImage: [1, 1], imageSizes: [[10, 10], [10, 10], [10, 10]] }))).toBe('imageSizes');
    expect(argumentOf(() => postprocessDetections(ok, { scoreThreshold: 2, nmsThreshold: 0.5, detectionsPerImage: 10 }))).toBe('scoreThreshold');
    expect(argumentOf(() => postprocessDetections(ok, { scoreThreshold: 0.1, nmsThreshold: 0.5, detectionsPerImage: 1.5 }))).toBe('detectionsPerImage');
    expect(argumentOf(() => postprocessDetections(ok, { ...SSD_POSTPROCESS, weights: [10, 10, 0, 5] }))).toBe('weights');
    expect(argumentOf(() => postprocessDetections({ ...ok, classLogits: [[[1, 2, 3]]], boxDeltas: [[[0, 0, 0, 0]]], referenceBoxes: [[0, 0, 1, 1], [0, 0, 2, 2]] }))).toBe('referenceBoxes');
    const e = thrownDetkitError(() => postprocessDetections({ ...ok, classLogits: [[1, 2, NaN], [0, 0, 1]] })) as InvalidValueError;
    expect(e.argument).toBe('classLogits');
    expect(e.index).toBe(0);
  });

  it('errors leave no tensors behind', () => {
    const before = tf.memory().numTensors;
    thrownDetkitError(() => roiAlign([[[[1]]]], [[0, 0, 1, 1]], [3]));
    thrownDetkitError(() => roiPool([[[[1]]]], [[0, 0, 1, NaN]], [0]));
    thrownDetkitError(() => proposalLayer({ objectness: [[1]], deltas: [[[0, 0, 0, 0]]], anchors: [[0, 0, 1, 1]], imageSizes: [2, 2], anchorsPerLevel: [2] }, { preNmsTopN: 1, postNmsTopN: 1 }));
    thrownDetkitError(() => postprocessDetections({ classLogits: [[1, 2]], boxDeltas: [[0, 0, 0, 0, 0, 0, 0, 0]], referenceBoxes: [[0, 0, 1, 1]], imageSizes: [2, 2], boxesPerImage: [2] }));
    expect(tf.memory().numTensors).toBe(before);
    expect(InvalidArgumentError).toBeDefined();
  });
});
