// Bad input gets a typed error naming the argument and what was wrong, before any work is done.
import { InvalidArgumentError, InvalidValueError, ShapeError, tf } from '@detkit/core';
import { describeEachBackend, thrownDetkitError } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import { boxArea, boxIou, convertBoxes, decodeBoxes, encodeBoxes, nms, batchedNms, softNms, clipBoxes, removeSmallBoxes, alignedBoxIou, type BoxFormat } from './index';

const ok = [[0, 0, 10, 10]];

describeEachBackend('typed errors', () => {
  it('wrong rank or last dimension: ShapeError with argument, expected and actual', () => {
    const e = thrownDetkitError(() => boxIou(ok, [[0, 0, 1, 1, 1]])) as ShapeError;
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.code).toBe('SHAPE');
    expect(e.argument).toBe('boxes2');
    expect(e.expected).toBe('[N, 4]');
    expect(e.actual).toEqual([1, 5]);
    expect(e.message).toContain("boxIou: 'boxes2' must have shape [N, 4], got [1, 5]");
    expect(thrownDetkitError(() => boxIou([0, 0, 1, 1], ok))).toBeInstanceOf(ShapeError);
    expect(thrownDetkitError(() => boxArea([[1, 2, 3]]))).toBeInstanceOf(ShapeError);
    expect((thrownDetkitError(() => alignedBoxIou(ok, [...ok, ...ok])) as ShapeError).argument).toBe('boxes2');
    expect((thrownDetkitError(() => nms(ok, [0.5, 0.2], { iouThreshold: 0.5 })) as ShapeError).argument).toBe('scores');
    expect((thrownDetkitError(() => decodeBoxes([[0, 0, 0, 0, 0]], ok)) as ShapeError).argument).toBe('deltas');
    expect((thrownDetkitError(() => encodeBoxes(ok, [...ok, ...ok])) as ShapeError).argument).toBe('anchors');
    expect((thrownDetkitError(() => batchedNms(ok, [1], [0, 1], { iouThreshold: 0.5 })) as ShapeError).argument).toBe('classIds');
  });

  it('NaN or infinite coordinates: InvalidValueError naming the row', () => {
    const e = thrownDetkitError(() => boxIou(ok, [[0, 0, 1, 1], [0, NaN, 1, 1]])) as InvalidValueError;
    expect(e).toBeInstanceOf(InvalidValueError);
    expect(e.argument).toBe('boxes2');
    expect(e.index).toBe(1);
    expect(thrownDetkitError(() => nms([[0, 0, Infinity, 1]], [1], { iouThreshold: 0.5 }))).toBeInstanceOf(InvalidValueError);
    expect((thrownDetkitError(() => nms(ok, [NaN], { iouThreshold: 0.5 })) as InvalidValueError).argument).toBe('scores');
    expect((thrownDetkitError(() => decodeBoxes([[0, 0, NaN, 0]], ok)) as InvalidValueError).argument).toBe('deltas');
    expect(thrownDetkitError(() => convertBoxes([[0, 0, NaN, 1]], 'xywh', 'xyxy'))).toBeInstanceOf(InvalidValueError);
  });

  it('x2 < x1 or y2 < y1, negative sizes, zero-size boxes to encode', () => {
    expect(thrownDetkitError(() => boxIou([[5, 0, 1, 1]], ok)).message).toContain('x2 < x1');
    expect(thrownDetkitError(() => boxArea([[0, 5, 1, 1]])).message).toContain('y2 < y1');
    expect(thrownDetkitError(() => clipBoxes([[5, 0, 1, 1]], [10, 10]))).toBeInstanceOf(InvalidValueError);
    expect(thrownDetkitError(() => convertBoxes([[0, 0, -1, 1]], 'xywh', 'xyxy')).message).toContain('negative width');
    expect(thrownDetkitError(() => convertBoxes([[5, 0, 1, 1]], 'yxyx', 'xyxy')).message).toContain('y2 < y1');
    expect((thrownDetkitError(() => encodeBoxes(ok, [[0, 0, 0, 10]])) as InvalidValueError).argument).toBe('anchors');
    expect((thrownDetkitError(() => removeSmallBoxes([[5, 0, 1, 1]], 1)) as InvalidValueError).argument).toBe('boxes');
  });

  it('unknown formats and bad options: InvalidArgumentError', () => {
    const e = thrownDetkitError(() => convertBoxes(ok, 'xyzw' as BoxFormat, 'xyxy')) as InvalidArgumentError;
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect(e.argument).toBe('from');
    expect((thrownDetkitError(() => nms(ok, [1], { iouThreshold: 1.5 })) as InvalidArgumentError).argument).toBe('iouThreshold');
    expect((thrownDetkitError(() => nms(ok, [1], { iouThreshold: 0.5, maxOutputSize: -1 })) as InvalidArgumentError).argument).toBe('maxOutputSize');
    expect((thrownDetkitError(() => decodeBoxes([[0, 0, 0, 0]], ok, { weights: [1, 1, 0, 1] })) as InvalidArgumentError).argument).toBe('weights');
    expect((thrownDetkitError(() => softNms(ok, [1], { method: 'hard' as 'linear' })) as InvalidArgumentError).argument).toBe('method');
    expect((thrownDetkitError(() => clipBoxes(ok, [NaN, 3])) as InvalidArgumentError).argument).toBe('imageSize');
    expect((thrownDetkitError(() => removeSmallBoxes(ok, -1)) as InvalidArgumentError).argument).toBe('minSize');
  });

  it('errors leave no tensors behind', () => {
    const before = tf.memory().numTensors;
    thrownDetkitError(() => boxIou(ok, [[0, 0, 1, 1], [0, NaN, 1, 1]]));
    thrownDetkitError(() => nms(ok, [0.5, 0.2], { iouThreshold: 0.5 }));
    thrownDetkitError(() => encodeBoxes(ok, [[0, 0, 0, 10]]));
    expect(tf.memory().numTensors).toBe(before);
  });
});
