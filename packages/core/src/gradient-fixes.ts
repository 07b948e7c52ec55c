// Imports tfjs-core directly (not ./tf): tf.ts calls registerGradientFixes() while it sets tfjs up.
import * as tf from '@tensorflow/tfjs-core';

const FIXED = Symbol.for('detkit.backends.gradientFix');

/** Sums `grad` (of the broadcast shape) back to `shape`, as tfjs's Add/Sub gradients do. */
function unbroadcast(grad: tf.Tensor, shape: number[]): tf.Tensor {
  const outShape = tf.broadcast_util.assertAndGetBroadcastShape(shape, grad.shape);
  const axes = tf.broadcast_util.getReductionAxes(shape, outShape);
  return tf.reshape(axes.length > 0 ? tf.sum(grad, axes) : grad, shape);
}

function register(kernelName: string, derivatives: (dy: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => [tf.Tensor, tf.Tensor]): void {
  tf.registerGradient({
    kernelName,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as [tf.Tensor, tf.Tensor];
      const d = dy as tf.Tensor;
      return {
        a: () => unbroadcast(derivatives(d, a, b)[0], a.shape),
        b: () => unbroadcast(derivatives(d, a, b)[1], b.shape),
      };
    },
    [FIXED]: true,
  } as tf.GradConfig);
}

/**
 * Fixes tfjs-core 4.22 gradients that ignore broadcasting: `Maximum`, `Minimum` and `SquaredDifference`
 * return a gradient of the broadcast output's shape instead of summing it back to each input's, so
 * tf.grads throws on `tf.maximum(x1a [N, 1], x1b [1, M])` (the pairwise IoU composition). Same formulas
 * as tfjs (ties go to `a` for maximum and minimum), reduced over the broadcast axes.
 *
 * Gradients are global (not per backend); importing `@detkit/core` calls this (and `useBackend` again). Idempotent; returns the gradients it
 * registered now.
 */
export function registerGradientFixes(): string[] {
  if ((tf.getGradient('Maximum') as { [FIXED]?: true } | undefined)?.[FIXED]) return [];
  register('Maximum', (dy, a, b) => [tf.mul(dy, tf.cast(tf.greaterEqual(a, b), 'float32')), tf.mul(dy, tf.cast(tf.less(a, b), 'float32'))]);
  register('Minimum', (dy, a, b) => [tf.mul(dy, tf.cast(tf.lessEqual(a, b), 'float32')), tf.mul(dy, tf.cast(tf.greater(a, b), 'float32'))]);
  register('SquaredDifference', (dy, a, b) => {
    const d = tf.mul(dy, tf.mul(2, tf.sub(a, b)));
    return [d, tf.neg(d)];
  });
  return ['Maximum', 'Minimum', 'SquaredDifference'];
}
