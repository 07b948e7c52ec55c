/**
 * Detaching a tensor from the gradient tape: tfjs has no `tf.stopGradient` (TensorFlow) or
 * `Tensor.detach()` (PyTorch).
 */
import type { KernelBackend } from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from './errors';
import { tf } from './tf';

/**
 * The value of `x` as a constant of the gradient tape, like torch's `Tensor.detach()` and TensorFlow's
 * `tf.stop_gradient`: a new tensor of the same shape and dtype that shares `x`'s data (no copy, no
 * download, on every backend: the backend's reference count of the data goes up by one) and that no
 * tape record produces. Inside `tf.grad` / `tf.variableGrads`, nothing computed from it is taken into
 * the backward pass, so ops without a registered gradient (detkit's selection kernels, NMS, gathers by
 * computed indices) may follow it, and no gradient flows back to `x` through it.
 *
 * Its inverse does not exist: a gradient with respect to `x` is only defined through the other uses of
 * `x` (`tf.grad` throws, as torch's `autograd.grad` does, when every path from `x` to the result goes
 * through `detach`). Dispose the result like any tensor (a surrounding `tf.tidy` does); the data lives
 * until both `x` and the result are disposed. A `tf.Variable` gives a snapshot of its current value:
 * a later `assign` does not change the result.
 *
 * @param x - Any tensor (any shape and dtype), not disposed.
 * @returns A tensor with `x`'s shape, dtype and values, off the gradient tape.
 */
export function detach<T extends tf.Tensor>(x: T): T {
  if (!(x instanceof tf.Tensor)) throw new InvalidArgumentError('detach', 'x', `must be a tf.Tensor, got ${x === null ? 'null' : typeof x}`);
  if (x.isDisposed) throw new InvalidArgumentError('detach', 'x', 'is a disposed tensor');
  const engine = tf.engine();
  // The backend that holds the data (not necessarily the active one).
  const backend = (engine.state.tensorInfo.get(x.dataId)?.backend ?? engine.backend) as KernelBackend;
  // What tfjs's Identity kernels do (share the data, count one more reference), without the kernel
  // dispatch that would record it on an active tape.
  backend.incRef(x.dataId);
  return engine.makeTensorFromTensorInfo({ dataId: x.dataId, shape: [...x.shape], dtype: x.dtype }, backend) as T;
}
