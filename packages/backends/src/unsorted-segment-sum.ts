/**
 * `UnsortedSegmentSum` for tfjs-backend-wasm (4.22 has none; it is tf.gather's gradient): one SIMD pass
 * adding each row of x into its segment's row of the output.
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { addressOf, disposeAll, kernelsFor, runWasmKernel, type WasmBackend } from './wasm-backend';

/** `UnsortedSegmentSum` for the wasm backend: float32 data (int32 data is summed in float32 and cast back). */
export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const wasm = backend as WasmBackend;
    const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
    const { numSegments } = attrs as unknown as { numSegments: number };
    // tf.unsortedSegmentSum's segmentIds has shape x.shape[:segmentIds.rank]; the rest is summed as rows.
    const rows = segmentIds.shape.reduce((s, d) => s * d, 1);
    const inner = x.shape.slice(segmentIds.shape.length).reduce((s, d) => s * d, 1);
    const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
    const temps: TensorInfo[] = [];
    const xf = x.dtype === 'float32' ? x : runWasmKernel(wasm, 'Cast', { x }, { dtype: 'float32' });
    if (xf !== x) temps.push(xf);
    const ids = segmentIds.dtype === 'int32' ? segmentIds : runWasmKernel(wasm, 'Cast', { x: segmentIds }, { dtype: 'int32' });
    if (ids !== segmentIds) temps.push(ids);
    const out = wasm.makeOutput(outShape, 'float32');
    kernelsFor(wasm).unsortedSegmentSum(addressOf(wasm, xf), addressOf(wasm, ids), rows, inner, numSegments, addressOf(wasm, out));
    if (x.dtype !== 'int32') {
      disposeAll(wasm, temps);
      return out;
    }
    const cast = runWasmKernel(wasm, 'Cast', { x: out }, { dtype: 'int32' });
    disposeAll(wasm, [...temps, out]);
    return cast;
  },
};
