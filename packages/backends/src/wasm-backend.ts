/**
 * What detkit's wasm training kernels use of tfjs-backend-wasm: tensor addresses in its heap, outputs,
 * disposal, and its own (XNNPACK-backed) kernels, called directly as tfjs's kernels call each other.
 * Internal to the package.
 */
import { DetkitError, tf } from '@detkit/core';
import type { DataId, KernelBackend, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { backendsWasm, type BackendsWasm } from './wasm';

/** The parts of tfjs-backend-wasm's `BackendWasm` the kernels touch. */
export interface WasmBackend extends KernelBackend {
  makeOutput(shape: number[], dtype: 'float32' | 'int32' | 'bool'): TensorInfo;
  dataIdMap: { get(dataId: DataId): { id: number; memoryOffset: number } };
  disposeData(dataId: DataId, force?: boolean): boolean;
  wasm: {
    asm?: { memory?: WebAssembly.Memory };
    wasmMemory?: WebAssembly.Memory;
    HEAPU8: Uint8Array;
  };
}

/** Byte address of a tensor's data in the wasm heap. */
export function addressOf(backend: WasmBackend, info: TensorInfo): number {
  return backend.dataIdMap.get(info.dataId).memoryOffset;
}

/** A view of `info` with another shape (same data; dispose only one of them). */
export function withShape(info: TensorInfo, shape: number[]): TensorInfo {
  return { dataId: info.dataId, shape, dtype: info.dtype };
}

/** Frees intermediate tensors made inside a kernel. */
export function disposeAll(backend: WasmBackend, infos: readonly TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

/**
 * Runs another kernel registered for wasm (tfjs's own: BatchMatMul, Transpose, ...) on TensorInfos, as
 * tfjs's kernels call each other. The result belongs to the caller.
 */
export function runWasmKernel(backend: WasmBackend, kernelName: string, inputs: Record<string, TensorInfo>, attrs: object = {}): TensorInfo {
  const kernel = tf.getKernel(kernelName, 'wasm');
  if (kernel === undefined) throw new DetkitError('UNSUPPORTED_PLATFORM', `tfjs-backend-wasm has no '${kernelName}' kernel`);
  return kernel.kernelFunc({ inputs, attrs: attrs as NamedAttrMap, backend }) as TensorInfo;
}

/** Transposes a tensor with tfjs-backend-wasm's Transpose kernel. */
export function transposeInfo(backend: WasmBackend, x: TensorInfo, perm: number[]): TensorInfo {
  return runWasmKernel(backend, 'Transpose', { x }, { perm });
}

/**
 * The convolution geometry as the module's convolution kernels take it (im2col, col2im, the depthwise
 * gradients): n, h, w, c, kh, kw, strideH, strideW, padTop, padLeft, outH, outW.
 */
export function convGeometry(info: tf.backend_util.Conv2DInfo) {
  return [
    info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth,
    info.padInfo.top, info.padInfo.left, info.outHeight, info.outWidth,
  ] as const;
}

const instances = new WeakMap<object, BackendsWasm>();

/**
 * detkit's kernel module instantiated in tfjs-backend-wasm's own memory, so kernels run on tensors in
 * place. With the threaded build (`useBackend('wasm', { threads })`) that memory is shared and the module's
 * shared-memory variant is used (see @detkit/core's `defineWasmModule`); detkit's kernels run on the
 * calling thread, between XNNPACK's parallel calls.
 */
export function kernelsFor(backend: WasmBackend): BackendsWasm {
  let exports = instances.get(backend);
  if (exports === undefined) {
    const memory = backend.wasm.asm?.memory ?? backend.wasm.wasmMemory;
    if (!(memory instanceof WebAssembly.Memory)) {
      throw new DetkitError('UNSUPPORTED_PLATFORM', "detkit's wasm training kernels cannot reach tfjs-backend-wasm's memory here");
    }
    exports = backendsWasm.instantiate({ memory, malloc: () => 0, free: () => {} });
    instances.set(backend, exports);
  }
  return exports;
}
