// Bad input gets a typed error naming the op and the argument, before any work is done, and leaves no
// tensors behind.
import { InvalidArgumentError, InvalidValueError, ShapeError, setValueChecks, tf } from '@detkit/core';
import { describeEachBackend, thrownDetkitError } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import {
  binaryCrossEntropyWithLogits,
  ciouLoss,
  crossEntropyLoss,
  diouLoss,
  fastRcnnLoss,
  giouLoss,
  multiboxLoss,
  rpnLoss,
  sigmoidFocalLoss,
  smoothL1Loss,
} from './index';

const z4 = (n: number) => Array.from({ length: n }, () => [0, 0, 0, 0]);
const box = [[0, 0, 10, 10]];

describeEachBackend('typed errors', () => {
  it('pred and target shapes differ: ShapeError naming the second argument', () => {
    const e = thrownDetkitError(() => smoothL1Loss([1, 2, 3], [1, 2])) as ShapeError;
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.argument).toBe('target');
    expect(e.actual).toEqual([2]);
    expect(e.message).toContain("smoothL1Loss: 'target' must have shape [3] (the shape of pred), got [2]");
    expect((thrownDetkitError(() => binaryCrossEntropyWithLogits([1, 2], [[1, 2]])) as ShapeError).argument).toBe('targets');
    expect((thrownDetkitError(() => sigmoidFocalLoss([1, 2], [1])) as ShapeError).argument).toBe('targets');
    expect((thrownDetkitError(() => giouLoss(box, [...box, ...box])) as ShapeError).argument).toBe('boxes2');
    expect((thrownDetkitError(() => diouLoss([[0, 0, 1]], [[0, 0, 1]])) as ShapeError).argument).toBe('boxes1');
    expect((thrownDetkitError(() => crossEntropyLoss([[1, 2, 3]], [0, 1])) as ShapeError).argument).toBe('labels');
  });

  it('composite losses name the mismatched argument', () => {
    tf.tidy(() => compositeShapeErrors());
  });

  function compositeShapeErrors(): void {
    const logits = tf.zeros([2, 3, 4]);
    expect((thrownDetkitError(() => multiboxLoss(tf.zeros([3, 4]), tf.zeros([3, 4]), [0, 0, 0], tf.zeros([3, 4]))) as ShapeError).argument).toBe('clsLogits');
    expect((thrownDetkitError(() => multiboxLoss(logits, tf.zeros([2, 3, 5]), tf.zeros([2, 3], 'int32'), tf.zeros([2, 3, 4]))) as ShapeError).argument).toBe('boxDeltas');
    expect((thrownDetkitError(() => multiboxLoss(logits, tf.zeros([2, 3, 4]), tf.zeros([2, 4], 'int32'), tf.zeros([2, 3, 4]))) as ShapeError).argument).toBe('labels');
    expect((thrownDetkitError(() => multiboxLoss(logits, tf.zeros([2, 3, 4]), tf.zeros([2, 3], 'int32'), tf.zeros([2, 3]))) as ShapeError).argument).toBe('boxTargets');
    expect((thrownDetkitError(() => rpnLoss([[1, 2, 3]], tf.zeros([1, 3, 4]), [[1, 0]], tf.zeros([1, 2, 4]))) as ShapeError).argument).toBe('objectness');
    expect((thrownDetkitError(() => rpnLoss([[1, 2]], tf.zeros([1, 3, 4]), [[1, 0]], tf.zeros([1, 2, 4]))) as ShapeError).argument).toBe('boxDeltas');
    expect((thrownDetkitError(() => fastRcnnLoss(tf.zeros([2, 3]), tf.zeros([2, 8]), [0, 1], z4(2))) as ShapeError).argument).toBe('boxRegression');
    expect((thrownDetkitError(() => fastRcnnLoss(tf.zeros([2, 3]), tf.zeros([2, 12]), [0, 1], z4(3))) as ShapeError).argument).toBe('regressionTargets');
  }

  it('labels out of range: InvalidValueError naming the row', () => {
    const e = thrownDetkitError(() => crossEntropyLoss([[1, 2, 3], [0, 0, 0]], [1, 3])) as InvalidValueError;
    expect(e).toBeInstanceOf(InvalidValueError);
    expect(e.argument).toBe('labels');
    expect(e.index).toBe(1);
    expect(e.message).toContain('outside [0, 3) or the ignore index -1: 3');
    expect((thrownDetkitError(() => crossEntropyLoss([[1, 2, 3]], [-2])) as InvalidValueError).argument).toBe('labels');
    expect((thrownDetkitError(() => crossEntropyLoss([[1, 2, 3]], [-1], { ignoreIndex: 0 })) as InvalidValueError).argument).toBe('labels');
    expect((thrownDetkitError(() => rpnLoss([[0.5, 1]], [[[0, 0, 0, 0], [0, 0, 0, 0]]], [[1, 2]], [[[0, 0, 0, 0], [0, 0, 0, 0]]])) as InvalidValueError).argument).toBe('labels');
    expect((thrownDetkitError(() => fastRcnnLoss([[1, 2]], [[0, 0, 0, 0, 0, 0, 0, 0]], [2], z4(1))) as InvalidValueError).index).toBe(0);
    tf.tidy(() => {
      const m = thrownDetkitError(() => multiboxLoss(tf.zeros([2, 3, 4]), tf.zeros([2, 3, 4]), [[0, 0, 0], [0, 4, 0]], tf.zeros([2, 3, 4]))) as InvalidValueError;
      expect(m.argument).toBe('labels');
      expect(m.index).toBe(1);
    });
  });

  it('labels must be int32 when given as a tensor', () => {
    const labels = tf.tensor1d([0, 1]);
    const e = thrownDetkitError(() => crossEntropyLoss([[1, 2], [3, 4]], labels)) as InvalidArgumentError;
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect(e.argument).toBe('labels');
    expect(e.message).toContain('int32');
    labels.dispose();
  });

  it('NaN or infinite inputs: InvalidValueError naming the argument and row', () => {
    const e = thrownDetkitError(() => smoothL1Loss([[0, 1], [NaN, 2]], [[0, 0], [0, 0]])) as InvalidValueError;
    expect(e).toBeInstanceOf(InvalidValueError);
    expect(e.argument).toBe('pred');
    expect(e.index).toBe(1);
    expect((thrownDetkitError(() => smoothL1Loss([0, 1], [0, Infinity])) as InvalidValueError).argument).toBe('target');
    expect((thrownDetkitError(() => crossEntropyLoss([[0, -Infinity]], [0])) as InvalidValueError).argument).toBe('logits');
    expect((thrownDetkitError(() => ciouLoss(box, [[0, 0, NaN, 1]])) as InvalidValueError).argument).toBe('boxes2');
    const big = tf.buffer([2, 100, 21]);
    big.set(NaN, 1, 57, 3);
    tf.tidy(() => {
      const m = thrownDetkitError(() => multiboxLoss(big.toTensor(), tf.zeros([2, 100, 4]), tf.zeros([2, 100], 'int32'), tf.zeros([2, 100, 4]))) as InvalidValueError;
      expect(m.argument).toBe('clsLogits');
      expect(m.index).toBe(1);
    });
  });

  it('bad options: InvalidArgumentError naming the option', () => {
    expect((thrownDetkitError(() => smoothL1Loss([1], [1], { beta: -1 })) as InvalidArgumentError).argument).toBe('beta');
    expect((thrownDetkitError(() => smoothL1Loss([1], [1], { reduction: 'avg' as 'mean' })) as InvalidArgumentError).argument).toBe('reduction');
    expect((thrownDetkitError(() => crossEntropyLoss([[1]], [0], { ignoreIndex: 0.5 })) as InvalidArgumentError).argument).toBe('ignoreIndex');
    expect((thrownDetkitError(() => sigmoidFocalLoss([1], [1], { alpha: 2 })) as InvalidArgumentError).argument).toBe('alpha');
    expect((thrownDetkitError(() => sigmoidFocalLoss([1], [1], { gamma: -1 })) as InvalidArgumentError).argument).toBe('gamma');
    expect((thrownDetkitError(() => giouLoss(box, box, { eps: -1 })) as InvalidArgumentError).argument).toBe('eps');
    expect((thrownDetkitError(() => rpnLoss([[1]], [[[0, 0, 0, 0]]], [[1]], [[[0, 0, 0, 0]]], { normalization: 'ssd' as 'paper' })) as InvalidArgumentError).argument).toBe('normalization');
    expect((thrownDetkitError(() => rpnLoss([[1]], [[[0, 0, 0, 0]]], [[1]], [[[0, 0, 0, 0]]], { nReg: 0 })) as InvalidArgumentError).argument).toBe('nReg');
    expect((thrownDetkitError(() => fastRcnnLoss([[1, 2]], [[0, 0, 0, 0, 0, 0, 0, 0]], [1], z4(1), { normalization: 'x' as 'torchvision' })) as InvalidArgumentError).argument).toBe('normalization');
    expect((thrownDetkitError(() => multiboxLoss([[[1, 2]]], [[[0, 0, 0, 0]]], [[0]], [[[0, 0, 0, 0]]], { negPosRatio: -3 })) as InvalidArgumentError).argument).toBe('negPosRatio');
    expect((thrownDetkitError(() => multiboxLoss([[[1, 2]]], [[[0, 0, 0, 0]]], [[0]], [[[0, 0, 0, 0]]], { minNegatives: 1.5 })) as InvalidArgumentError).argument).toBe('minNegatives');
    expect((thrownDetkitError(() => multiboxLoss([[[1]]], [[[0, 0, 0, 0]]], [[0]], [[[0, 0, 0, 0]]])) as InvalidArgumentError).argument).toBe('clsLogits');
  });

  it('value checks can be turned off; shape checks stay', () => {
    setValueChecks(false);
    try {
      // An out-of-range label is then ignored by the fused kernel (never read or written out of its row).
      const v = crossEntropyLoss([[1, 2, 3]], [7], { reduction: 'sum' });
      expect(v.dataSync()[0]).toBe(0);
      v.dispose();
      expect(thrownDetkitError(() => smoothL1Loss([1, 2], [1]))).toBeInstanceOf(ShapeError);
    } finally {
      setValueChecks(true);
    }
  });

  it('errors leave no tensors behind', () => {
    const before = tf.memory().numTensors;
    thrownDetkitError(() => smoothL1Loss([[0, 1], [NaN, 2]], [[0, 0], [0, 0]]));
    thrownDetkitError(() => crossEntropyLoss([[1, 2, 3], [0, 0, 0]], [1, 3]));
    thrownDetkitError(() => multiboxLoss([[[1, 2]]], [[[0, 0, 0, 0]]], [[5]], [[[0, 0, 0, 0]]]));
    thrownDetkitError(() => rpnLoss([[1, 2, 3]], [[[0, 0, 0, 0]]], [[1, 0]], [[[0, 0, 0, 0]]]));
    expect(tf.memory().numTensors).toBe(before);
  });
});
