// Bad input gets a typed error naming the argument and what was wrong, before any work is done.
import { DetkitError, InvalidArgumentError, InvalidValueError, ShapeError, tf } from '@detkit/core';
import { describeEachBackend } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import { boxArea, boxIou, convertBoxes, decodeBoxes, encodeBoxes, nms, batchedNms, softNms, clipBoxes, removeSmallBoxes, alignedBoxIou, type BoxFormat } from './index';

function thrown(fn: () => unknown): DetkitError {
  try {
    fn();
  } catch (e) {
    expect(DetkitError.isInstance(e), `not a DetkitError: ${String(e)}`).toBe(true);
    return e as DetkitError;
  }
  throw new Error('expected an error');
}

const ok = [[0, 0, 10, 10]];

describeEachBackend('typed errors', () => {
  it('wrong rank or last dimension: ShapeError with argument, expected and actual', () => {
    const e = thrown(() => boxIou(ok, [[0, 0, 1, 1, 1]])) as ShapeError;
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.code).toBe('SHAPE');
    expect(e.argument).toBe('boxes2');
    expect(e.expected).toBe('[N, 4]');
    expect(e.actual).toEqual([1, 5]);
    expect(e.message).toContain("boxIou: 'boxes2' must have shape [N, 4], got [1, 5]");
    expect(thrown(() => boxIou([0, 0, 1, 1], ok))).toBeInstanceOf(ShapeError);
    expect(thrown(() => boxArea([[1, 2, 3]]))).toBeInstanceOf(ShapeError);
    expect((thrown(() => alignedBoxIou(ok, [...ok, ...ok])) as ShapeError).argument).toBe('boxes2');
    expect((thrown(() => nms(ok, [0.5, 0.2], { iouThreshold: 0.5 })) as ShapeError).argument).toBe('scores');
    expect((thrown(() => decodeBoxes([[0, 0, 0, 0, 0]], ok)) as ShapeError).argument).toBe('deltas');
    expect((thrown(() => encodeBoxes(ok, [...ok, ...ok])) as ShapeError).argument).toBe('anchors');
    expect((thrown(() => batchedNms(ok, [1], [0, 1], { iouThreshold: 0.5 })) as ShapeError).argument).toBe('classIds');
  });

  it('NaN or infinite coordinates: InvalidValueError naming the row', () => {
    const e = thrown(() => boxIou(ok, [[0, 0, 1, 1], [0, NaN, 1, 1]])) as InvalidValueError;
    expect(e).toBeInstanceOf(InvalidValueError);
    expect(e.argument).toBe('boxes2');
    expect(e.index).toBe(1);
    expect(thrown(() => nms([[0, 0, Infinity, 1]], [1], { iouThreshold: 0.5 }))).toBeInstanceOf(InvalidValueError);
    expect((thrown(() => nms(ok, [NaN], { iouThreshold: 0.5 })) as InvalidValueError).argument).toBe('scores');
    expect((thrown(() => decodeBoxes([[0, 0, NaN, 0]], ok)) as InvalidValueError).argument).toBe('deltas');
    expect(thrown(() => convertBoxes([[0, 0, NaN, 1]], 'xywh', 'xyxy'))).toBeInstanceOf(InvalidValueError);
  });

  it('x2 < x1 or y2 < y1, negative sizes, zero-size boxes to encode', () => {
    expect(thrown(() => boxIou([[5, 0, 1, 1]], ok)).message).toContain('x2 < x1');
    expect(thrown(() => boxArea([[0, 5, 1, 1]])).message).toContain('y2 < y1');
    expect(thrown(() => clipBoxes([[5, 0, 1, 1]], [10, 10]))).toBeInstanceOf(InvalidValueError);
    expect(thrown(() => convertBoxes([[0, 0, -1, 1]], 'xywh', 'xyxy')).message).toContain('negative width');
    expect(thrown(() => convertBoxes([[5, 0, 1, 1]], 'yxyx', 'xyxy')).message).toContain('y2 < y1');
    expect((thrown(() => encodeBoxes(ok, [[0, 0, 0, 10]])) as InvalidValueError).argument).toBe('anchors');
    expect((thrown(() => removeSmallBoxes([[5, 0, 1, 1]], 1)) as InvalidValueError).argument).toBe('boxes');
  });

  it('unknown formats and bad options: InvalidArgumentError', () => {
    const e = thrown(() => convertBoxes(ok, 'xyzw' as BoxFormat, 'xyxy')) as InvalidArgumentError;
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect(e.argument).toBe('from');
    expect((thrown(() => nms(ok, [1], { iouThreshold: 1.5 })) as InvalidArgumentError).argument).toBe('iouThreshold');
    expect((thrown(() => nms(ok, [1], { iouThreshold: 0.5, maxOutputSize: -1 })) as InvalidArgumentError).argument).toBe('maxOutputSize');
    expect((thrown(() => decodeBoxes([[0, 0, 0, 0]], ok, { weights: [1, 1, 0, 1] })) as InvalidArgumentError).argument).toBe('weights');
    expect((thrown(() => softNms(ok, [1], { method: 'hard' as 'linear' })) as InvalidArgumentError).argument).toBe('method');
    expect((thrown(() => clipBoxes(ok, [NaN, 3])) as InvalidArgumentError).argument).toBe('imageSize');
    expect((thrown(() => removeSmallBoxes(ok, -1)) as InvalidArgumentError).argument).toBe('minSize');
  });

  it('errors leave no tensors behind', () => {
    const before = tf.memory().numTensors;
    thrown(() => boxIou(ok, [[0, 0, 1, 1], [0, NaN, 1, 1]]));
    thrown(() => nms(ok, [0.5, 0.2], { iouThreshold: 0.5 }));
    thrown(() => encodeBoxes(ok, [[0, 0, 0, 10]]));
    expect(tf.memory().numTensors).toBe(before);
  });
});
