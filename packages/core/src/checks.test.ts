// toTensor's checks of JS arrays (issue 15): ragged rows, non-integer int32 values, `[]` with an empty
// shape, and the value checks' magnitude limit.
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { setupBackend } from './backend';
import { MAX_INPUT_MAGNITUDE, assertFinite, assertValidBoxes, toTensor } from './checks';
import { InvalidArgumentError, InvalidValueError, ShapeError } from './errors';
import type * as Kernels from './kernels';
import { tf } from './tf';

/** Reads of tensor values by the checks (./kernels' peekValues, counted). */
const peeks = vi.hoisted(() => ({ count: 0 }));
vi.mock('./kernels', async (importOriginal) => {
  const real = await importOriginal<typeof Kernels>();
  return { ...real, peekValues: (t: Parameters<typeof real.peekValues>[0]) => (peeks.count++, real.peekValues(t)) };
});

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('nothing was thrown');
}

for (const backend of ['cpu', 'wasm'] as const) describe(`toTensor checks [${backend}]`, () => {
  beforeAll(() => setupBackend(backend));

  it('a ragged array is a ShapeError naming the argument and the row (tfjs would read past or cut the row)', () => {
    const before = tf.memory().numTensors;
    for (const [x, row] of [
      [[[0, 0, 10, 10], [1, 1]], 1],
      [[[0, 0, 10, 10], [1, 1, 5, 5, 6, 6]], 1],
      [[[0, 0, 1, 1], [0, 0, 1, 1], 3], 2],
      [[[[1, 2], [3, 4]], [[1, 2], [3]]], 1],
    ] as const) {
      const e = thrown(() => toTensor('boxIou', 'boxes1', x as unknown as number[][])) as ShapeError;
      expect(e).toBeInstanceOf(ShapeError);
      expect(e.argument).toBe('boxes1');
      expect(e.index).toBe(row);
      expect(e.message).toContain(`a ragged array: row ${row}`);
    }
    expect((thrown(() => toTensor('boxIou', 'boxes1', [[0, 0, 10, 10], [1, 1]])) as ShapeError).message).toBe(
      "boxIou: 'boxes1' must have shape [2, 4] (rows of equal length), got a ragged array: row 1 has shape [2]",
    );
    expect(tf.memory().numTensors).toBe(before);
  });

  it('non-numeric elements are an InvalidArgumentError', () => {
    expect(thrown(() => toTensor('op', 'x', [[1, 2], [3, {}]] as unknown as number[][]))).toBeInstanceOf(InvalidArgumentError);
    expect(thrown(() => toTensor('op', 'x', [1, null] as unknown as number[]))).toBeInstanceOf(InvalidArgumentError);
  });

  it('int32: non-integers, NaN and out-of-range values in arrays and float tensors are an InvalidValueError naming the row', () => {
    for (const bad of [0.7, NaN, Infinity, 2 ** 31]) {
      const e = thrown(() => toTensor('batchedNms', 'classIds', [1, 2, bad], 'int32')) as InvalidValueError;
      expect(e).toBeInstanceOf(InvalidValueError);
      expect([e.argument, e.index]).toEqual(['classIds', 2]);
      const t = tf.tensor1d([1, bad]);
      expect((thrown(() => toTensor('batchedNms', 'classIds', t, 'int32')) as InvalidValueError).index).toBe(1);
      t.dispose();
    }
    expect(thrown(() => toTensor('op', 'x', 0.5, 'int32'))).toBeInstanceOf(InvalidValueError);
    const ok = toTensor('op', 'x', [[1, -2], [3, 4]], 'int32');
    expect(Array.from(ok.dataSync())).toEqual([1, -2, 3, 4]);
    ok.dispose();
  });

  it('`[]` takes emptyShape when given; float arrays stay as they are', () => {
    const e = toTensor('boxIou', 'boxes1', [], 'float32', { emptyShape: [0, 4] });
    expect(e.shape).toEqual([0, 4]);
    const plain = toTensor('op', 'x', []);
    expect(plain.shape).toEqual([0]);
    const f = toTensor('op', 'x', [[0.5, 1], [2, 3]]);
    expect(Array.from(f.dataSync())).toEqual([0.5, 1, 2, 3]);
    tf.dispose([e, plain, f]);
  });

  it(`values beyond ±MAX_INPUT_MAGNITUDE (${MAX_INPUT_MAGNITUDE}) are an InvalidValueError naming the row`, () => {
    const t = tf.tensor2d([[0, 0, 1, 1], [0, 0, 1e38, 1e38]]);
    const e = thrown(() => assertValidBoxes('generalizedBoxIou', 'boxes1', t)) as InvalidValueError;
    expect(e).toBeInstanceOf(InvalidValueError);
    expect([e.argument, e.index]).toEqual(['boxes1', 1]);
    expect(e.message).toContain('beyond ±1e15');
    const u = tf.tensor1d([1, -2e15]);
    expect((thrown(() => assertFinite('op', 'x', u)) as InvalidValueError).index).toBe(1);
    const fine = tf.tensor1d([1e15, -1e15]);
    expect(() => assertFinite('op', 'x', fine)).not.toThrow();
    tf.dispose([t, u, fine]);
  });

  it('data that passed is not read again; new data behind a variable is, and a failed check fails again', () => {
    const anchors = tf.tensor2d([[0, 0, 4, 4], [2, 2, 8, 8]]);
    const before = peeks.count;
    for (let i = 0; i < 3; i++) assertValidBoxes('matchBoxes', 'anchors', anchors);
    assertFinite('encodeBoxes', 'anchors', anchors);
    tf.tidy(() => assertValidBoxes('matchBoxes', 'anchors', tf.reshape(anchors, [2, 4])));
    expect(peeks.count - before).toBe(1);
    const boxes = tf.variable(tf.tensor2d([[0, 0, 1, 1]]));
    assertValidBoxes('boxIou', 'boxes1', boxes);
    boxes.assign(tf.tensor2d([[0, 0, -1, 1]]));
    expect((thrown(() => assertValidBoxes('boxIou', 'boxes1', boxes)) as InvalidValueError).message).toContain('x2 < x1');
    boxes.assign(tf.tensor2d([[NaN, 0, 1, 1]]));
    expect(() => assertFinite('op', 'x', boxes)).toThrow(InvalidValueError);
    expect(() => assertFinite('op', 'x', boxes)).toThrow(InvalidValueError);
    expect(peeks.count - before).toBe(5);
    tf.dispose([anchors, boxes]);
  });
});
