/**
 * `MaxPoolGrad` for tfjs-backend-wasm. tfjs-backend-wasm 4.22's own kernel drops the gradient of a window
 * whose maximum is negative (it starts each window's running maximum at 0), so a max-pool over raw conv
 * outputs (torchvision FPN's LastLevelMaxPool, SSD's extra layers) trains wrongly there. This one follows
 * tfjs-backend-cpu: dy goes to the first position of each window's maximum. SIMD over channels.
 */
import { tf } from '@detkit/core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { addressOf, kernelsFor, type WasmBackend } from './wasm-backend';

interface MaxPoolGradAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** `MaxPoolGrad` for the wasm backend (replaces tfjs-backend-wasm's, see above). */
export const maxPoolGradConfig: KernelConfig = {
  kernelName: 'MaxPoolGrad',
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const wasm = backend as WasmBackend;
    const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
    const a = attrs as unknown as MaxPoolGradAttrs;
    const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
    const dx = wasm.makeOutput([...input.shape], 'float32');
    kernelsFor(wasm).maxPoolGrad(
      addressOf(wasm, input), addressOf(wasm, dy),
      info.batchSize, info.inHeight, info.inWidth, info.inChannels,
      info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth,
      info.padInfo.top, info.padInfo.left, info.outHeight, info.outWidth,
      addressOf(wasm, dx),
    );
    return dx;
  },
};
