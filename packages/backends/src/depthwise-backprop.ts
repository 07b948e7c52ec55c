/**
 * Depthwise-convolution gradients for tfjs-backend-wasm (4.22 registers neither): SIMD kernels over the
 * channels (assembly/index.ts), one pass over the output pixels and taps. A channel multiplier M > 1 runs
 * as M multiplier-1 passes over the matching slices of dy and the filter.
 */
import { tf } from '@detkit/core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { addressOf, convGeometry, disposeAll, kernelsFor, transposeInfo, withShape, type WasmBackend } from './wasm-backend';

interface DepthwiseBackpropAttrs {
  strides: number | [number, number];
  dilations: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function depthwiseInfo(inShape: number[], filterShape: number[], attrs: DepthwiseBackpropAttrs): tf.backend_util.Conv2DInfo {
  const info = tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) {
    // tfjs's depthwiseConv2d gradient itself rejects dilations > 1 before dispatch.
    throw new Error('depthwise convolution gradients support dilation 1 only');
  }
  return info;
}

/**
 * dy [n, oh, ow, c * m] as m slices [m][n, oh, ow, c]: `slices` is a new tensor (the caller disposes it),
 * `sliceAt(j)` the byte address of slice j in the wasm heap.
 */
function splitMultiplier(backend: WasmBackend, dy: TensorInfo, c: number, m: number): { slices: TensorInfo; sliceAt: (j: number) => number } {
  const p = dy.shape.slice(0, 3).reduce((s, d) => s * d, 1);
  const slices = transposeInfo(backend, withShape(dy, [p, c, m]), [2, 0, 1]);
  return { slices, sliceAt: (j) => addressOf(backend, slices) + j * p * c * 4 };
}

/** `DepthwiseConv2dNativeBackpropFilter` for the wasm backend. */
export const depthwiseBackpropFilterConfig: KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const wasm = backend as WasmBackend;
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const a = attrs as unknown as DepthwiseBackpropAttrs & { filterShape: number[] };
    const info = depthwiseInfo(x.shape, a.filterShape, a);
    const m = info.outChannels / info.inChannels;
    const taps = info.filterHeight * info.filterWidth * info.inChannels;
    const kernels = kernelsFor(wasm);
    if (m === 1) {
      const dw = wasm.makeOutput([...a.filterShape], 'float32');
      kernels.depthwiseFilterGrad(addressOf(wasm, x), addressOf(wasm, dy), ...convGeometry(info), addressOf(wasm, dw));
      return dw;
    }
    const { slices, sliceAt } = splitMultiplier(wasm, dy, info.inChannels, m);
    const perSlice = wasm.makeOutput([m, taps], 'float32');
    for (let j = 0; j < m; j++) {
      kernels.depthwiseFilterGrad(addressOf(wasm, x), sliceAt(j), ...convGeometry(info), addressOf(wasm, perSlice) + j * taps * 4);
    }
    const dw = transposeInfo(wasm, perSlice, [1, 0]);
    disposeAll(wasm, [slices, perSlice]);
    dw.shape = [...a.filterShape];
    return dw;
  },
};

/** `DepthwiseConv2dNativeBackpropInput` for the wasm backend. */
export const depthwiseBackpropInputConfig: KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropInput',
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const wasm = backend as WasmBackend;
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const a = attrs as unknown as DepthwiseBackpropAttrs & { inputShape: number[] };
    const info = depthwiseInfo([...a.inputShape], filter.shape, a);
    const m = info.outChannels / info.inChannels;
    const kernels = kernelsFor(wasm);
    const dx = wasm.makeOutput([...a.inputShape], 'float32');
    if (m === 1) {
      kernels.depthwiseInputGrad(addressOf(wasm, dy), addressOf(wasm, filter), ...convGeometry(info), addressOf(wasm, dx), 0);
      return dx;
    }
    const taps = info.filterHeight * info.filterWidth * info.inChannels;
    const { slices, sliceAt } = splitMultiplier(wasm, dy, info.inChannels, m);
    const filters = transposeInfo(wasm, withShape(filter, [taps, m]), [1, 0]);
    for (let j = 0; j < m; j++) {
      kernels.depthwiseInputGrad(sliceAt(j), addressOf(wasm, filters) + j * taps * 4, ...convGeometry(info), addressOf(wasm, dx), j === 0 ? 0 : 1);
    }
    disposeAll(wasm, [slices, filters]);
    return dx;
  },
};
