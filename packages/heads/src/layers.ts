/**
 * The layers the heads are built from (not exported from the package): a stride-1 'same' convolution and
 * a dense layer, each with its own gradient so that training works, and is fast, on the wasm backend.
 *
 * Why: tfjs-backend-wasm 4.22 registers Conv2D and Conv2DBackpropInput but not Conv2DBackpropFilter, so
 * `tf.grad` with respect to a conv kernel throws on wasm; its Conv2DBackpropInput and its BatchMatMul with
 * `transposeA` / `transposeB` (which tfjs's MatMul gradient uses) are unoptimised loops, 10-50x slower than
 * its XNNPACK Conv2D and plain MatMul (measured: the gradient of a [128, 25088] x [25088, 1024] dense layer
 * takes 23 s through tfjs's gradient and 0.8 s this way). So every gradient here is a plain `tf.conv2d` or a
 * `tf.matMul` without transpose flags, with explicit transposes of the smaller operand, or the backend's
 * convolution gradient kernels. Convolutions are one fused kernel (bias and ReLU in it, training included)
 * where the backend has a Conv2DBackpropFilter (@detkit/backends registers its own for wasm; cpu, webgl and
 * webgpu have theirs), else their kernel gradient is one matMul per tap; dense layers are one fused product.
 */
import { RELU_GRAD_KERNEL, tf } from '@detkit/core';

/** x · w without transpose flags (the fast path of every backend). */
function matMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(a, b);
}

/**
 * x^T · dy, a dense layer's weight gradient: an explicit transpose and a plain product, or
 * `tf.matMul(x, dy, true)` on wasm with @detkit/backends' BatchMatMul (which marks itself with
 * `Symbol.for('detkit.backends.replaced')`): it transposes as fast, and computes that form behind the
 * step, on its kernel threads, since only the optimizer reads a weight gradient. The same bits either way.
 */
function weightGradient(x: tf.Tensor2D, dy: tf.Tensor2D): tf.Tensor2D {
  const kernel = tf.getBackend() === 'wasm' ? (tf.getKernel('BatchMatMul', 'wasm') as unknown as Record<symbol, unknown> | undefined) : undefined;
  if (kernel?.[Symbol.for('detkit.backends.replaced')] !== undefined) return tf.matMul(x, dy, true, false);
  return matMul(tf.transpose(x), dy);
}

/**
 * Kernel gradient of a stride-1 'same' conv: [k, k, Cin, Cout] from x [N, H, W, Cin] and dy [N, H, W, Cout],
 * one slice and one matMul per tap: for backends without a Conv2DBackpropFilter (stock tfjs-backend-wasm).
 */
function kernelGradient(x: tf.Tensor4D, dy: tf.Tensor4D, k: number): tf.Tensor4D {
  const [n, h, w, cin] = x.shape;
  const cout = dy.shape[3];
  return tf.tidy(() => {
    const p = (k - 1) / 2;
    const padded = p > 0 ? tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]) : x;
    // Channels first, once: each tap is then a slice and one plain matMul [Cin, NHW] x [NHW, Cout].
    const channelsFirst = tf.transpose(padded, [3, 0, 1, 2]);
    const dy2 = tf.reshape(dy, [n * h * w, cout]) as tf.Tensor2D;
    const taps: tf.Tensor[] = [];
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        // dW[i, j] = sum over positions of x(shifted by (i, j)) ⊗ dy; each tap in its own scope.
        taps.push(tf.tidy(() => {
          const shifted = p > 0 ? tf.slice(channelsFirst, [0, 0, i, j], [cin, n, h, w]) : channelsFirst;
          return matMul(tf.reshape(shifted, [cin, n * h * w]) as tf.Tensor2D, dy2);
        }));
      }
    }
    return tf.reshape(tf.stack(taps), [k, k, cin, cout]) as tf.Tensor4D;
  });
}

/**
 * A ReLU's gradient from its output: dy where y > 0, else 0 (torch's `threshold_backward(dy, y, 0)`, which
 * its `relu` backward calls with the result). @detkit/core's `RELU_GRAD_KERNEL` where the backend has it (one
 * kernel, queued on wasm's kernel threads when the pass runs ahead), else the same mask from tfjs ops.
 */
function reluGradient(dy: tf.Tensor, y: tf.Tensor): tf.Tensor {
  if (tf.getKernel(RELU_GRAD_KERNEL, tf.getBackend()) !== undefined) return tf.engine().runKernel(RELU_GRAD_KERNEL, { dy, y }, {}) as tf.Tensor;
  return tf.tidy(() => tf.where(tf.greater(y, 0), dy, tf.zerosLike(dy)));
}

/**
 * Stride-1 convolution with 'same' zero padding (torch's `padding=(k - 1) / 2`) plus bias, then `activation`,
 * NHWC. Differentiable with respect to `x`, `kernel` and `bias` on every backend. Where the backend has a
 * Conv2DBackpropFilter (cpu, webgl, webgpu, and wasm once @detkit/backends has registered its own) it is one
 * `FusedConv2D` kernel (bias and activation in the convolution, as `tf.fused.conv2d` runs it outside
 * training), in training too: its gradient masks dy by the ReLU's output, then the backend's
 * Conv2DBackpropInput and Conv2DBackpropFilter and a sum for the bias (tfjs's `fused.conv2d` falls back to
 * three ops, a convolution, an add and a ReLU, while it records gradients). Else the input gradient is the
 * convolution of dy with the kernel rotated by 180° and its channels swapped, the kernel gradient one matMul per tap.
 *
 * @param x - Tensor[N, H, W, Cin].
 * @param kernel - Tensor[k, k, Cin, Cout], k odd.
 * @param bias - Tensor[Cout].
 * @param activation - 'linear' (default) or 'relu'.
 * @returns Tensor[N, H, W, Cout].
 */
export function conv2dSame(x: tf.Tensor4D, kernel: tf.Tensor4D, bias: tf.Tensor1D, activation: 'linear' | 'relu' = 'linear'): tf.Tensor4D {
  if (tf.getKernel('Conv2DBackpropFilter', tf.getBackend()) !== undefined) return fusedConv2dSame(x, kernel, bias, activation);
  const out = conv2dSameByTaps(x, kernel, bias);
  return activation === 'relu' ? tf.relu(out) : out;
}

/** {@link conv2dSame} as one `FusedConv2D` kernel, with its gradient (see there). */
function fusedConv2dSame(x: tf.Tensor4D, kernel: tf.Tensor4D, bias: tf.Tensor1D, activation: 'linear' | 'relu'): tf.Tensor4D {
  const geometry = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined } as const;
  const layer = tf.customGrad((input, filter, b, save) => {
    const xi = input as tf.Tensor4D;
    const wi = filter as tf.Tensor4D;
    const attrs = { ...geometry, dilations: [1, 1], activation };
    const value = tf.engine().runKernel('FusedConv2D', { x: xi, filter: wi, bias: b as tf.Tensor1D }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
    (save as tf.GradSaveFunc)(activation === 'relu' ? [xi, wi, value] : [xi, wi]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws, ys] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D?];
      const d = ys === undefined ? dy : reluGradient(dy, ys);
      const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy: d, filter: ws }, { ...geometry, inputShape: xs.shape } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
      const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x: xs, dy: d }, { ...geometry, filterShape: ws.shape } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
      return [dx, dw, tf.sum(d, [0, 1, 2])];
    };
    return { value, gradFunc };
  });
  return layer(x, kernel, bias) as tf.Tensor4D;
}

/** {@link conv2dSame} without an activation, for backends without a Conv2DBackpropFilter. */
function conv2dSameByTaps(x: tf.Tensor4D, kernel: tf.Tensor4D, bias: tf.Tensor1D): tf.Tensor4D {
  const k = kernel.shape[0];
  const conv = tf.customGrad((input, filter, save) => {
    const xi = input as tf.Tensor4D;
    const wi = filter as tf.Tensor4D;
    (save as tf.GradSaveFunc)([xi, wi]);
    const value = tf.conv2d(xi, wi, 1, 'same');
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
      const flipped = tf.tidy(() => tf.transpose(tf.reverse(ws, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D);
      return [tf.conv2d(dy as tf.Tensor4D, flipped, 1, 'same'), kernelGradient(xs, dy as tf.Tensor4D, k)];
    };
    return { value, gradFunc };
  });
  return tf.add(conv(x, kernel), bias) as tf.Tensor4D;
}

/**
 * `activation(x · kernel + bias)`: x [N, in], kernel [in, out] (torch.nn.Linear's weight transposed), bias
 * [out], activation 'linear' (default) or 'relu'. One `_FusedMatMul` kernel (the bias and the ReLU in the
 * product, as `tf.fused.matMul` runs it outside training), in training too.
 * Gradients: dy masked by the ReLU's output, then dx = (kernel · dy^T)^T and dKernel = x^T · dy, plain
 * matMuls (see the module comment), and dBias the sum of dy over the batch.
 */
export function dense(x: tf.Tensor2D, kernel: tf.Tensor2D, bias: tf.Tensor1D, activation: 'linear' | 'relu' = 'linear'): tf.Tensor2D {
  const layer = tf.customGrad((input, weights, b, save) => {
    const xi = input as tf.Tensor2D;
    const wi = weights as tf.Tensor2D;
    const attrs = { transposeA: false, transposeB: false, activation };
    // The kernel's operands are rank 3 (a batch of one), as tf.fused.matMul reshapes them.
    const [a3, b3] = [tf.expandDims(xi, 0), tf.expandDims(wi, 0)];
    const product = tf.engine().runKernel('_FusedMatMul', { a: a3, b: b3, bias: b as tf.Tensor1D }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor3D;
    const value = tf.squeeze(product, [0]) as tf.Tensor2D;
    tf.dispose([a3, b3, product]);
    (save as tf.GradSaveFunc)(activation === 'relu' ? [xi, wi, value] : [xi, wi]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws, ys] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D?];
      const d = (ys === undefined ? dy : reluGradient(dy, ys)) as tf.Tensor2D;
      const dx = tf.tidy(() => tf.transpose(matMul(ws, tf.transpose(d))) as tf.Tensor2D);
      const dw = tf.tidy(() => weightGradient(xs, d));
      return [dx, dw, tf.sum(d, 0)];
    };
    return { value, gradFunc };
  });
  return layer(x, kernel, bias) as tf.Tensor2D;
}

/**
 * Per-level predictions [N, H, W, A * K] (channel a * K + k) to [N, H * W * A, K]: location-major, then
 * anchor, then the K values. This is torchvision's `permute_and_flatten` ([N, A*K, H, W] → view
 * [N, A, K, H, W] → permute [N, H, W, A, K] → [N, HWA, K]); in NHWC it is a plain reshape.
 */
export function flattenLevel(t: tf.Tensor4D, k: number): tf.Tensor3D {
  const [n, h, w, c] = t.shape;
  return tf.reshape(t, [n, (h * w * c) / k, k]);
}
