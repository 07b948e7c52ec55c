import { tf } from '@detkit/core';
import { describe, expect, it } from 'vitest';
import { useBackend } from './use-backend';

describe('cpu kernel fixes', () => {
  it('a bool or int32 tensor cast to float32 on cpu keeps its values when it moves to wasm', async () => {
    await useBackend('cpu');
    const mask = tf.cast(tf.less(tf.tensor1d([0.1, 0.5, 0.05, 0.9]), 0.2), 'float32');
    const ints = tf.cast(tf.tensor1d([1, 2, 3], 'int32'), 'float32');
    await useBackend('wasm');
    expect(Array.from(tf.sum(mask).dataSync())).toEqual([2]);
    expect(Array.from(tf.mul(ints, 2).dataSync())).toEqual([2, 4, 6]);
    tf.dispose([mask, ints]);
  });

  it("resizeBilinear's gradient of a non-square image has the image's shape on cpu", async () => {
    await useBackend('cpu');
    const x = tf.ones([1, 4, 5, 2]) as tf.Tensor4D;
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.image.resizeBilinear(t as tf.Tensor4D, [8, 10])))(x);
    expect(g.shape).toEqual([1, 4, 5, 2]);
    // Each input pixel's weights sum to (8 / 4) * (10 / 5) = 4 when every output pulls gradient 1.
    expect(tf.sum(g).dataSync()[0]).toBeCloseTo(8 * 10 * 2, 3);
    tf.dispose([x, g]);
  });

  it('maximum and minimum have gradients under broadcasting (summed back to each input)', async () => {
    await useBackend('cpu');
    const a = tf.tensor2d([[1], [5]]);
    const b = tf.tensor2d([[0, 3, 7]]);
    const [da, db] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.maximum(x, y)))([a, b]);
    // a = 1 wins against 0; a = 5 wins against 0 and 3.
    expect(Array.from(da!.dataSync())).toEqual([1, 2]);
    expect(Array.from(db!.dataSync())).toEqual([0, 1, 2]);
    tf.dispose([a, b, da!, db!]);
  });
});
