/**
 * What detkit's wasm training kernels use of tfjs-backend-wasm: tensor addresses in its heap, outputs,
 * disposal, and its own (XNNPACK-backed) kernels, called directly as tfjs's kernels call each other.
 * Internal to the package.
 */
import { DetkitError, tf, type WasmSplitRunner } from '@detkit/core';
import type { DataId, KernelBackend, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { wasmThreadCount } from './wasm-threads';
import { startKernelThreads, type KernelThreads } from './kernel-threads';
import { backendsWasm, type BackendsWasm } from './wasm';

/** The parts of tfjs-backend-wasm's `BackendWasm` the kernels touch. */
export interface WasmBackend extends KernelBackend {
  makeOutput(shape: number[], dtype: 'float32' | 'int32' | 'bool'): TensorInfo;
  dataIdMap: { get(dataId: DataId): { id: number; memoryOffset: number } };
  disposeData(dataId: DataId, force?: boolean): boolean;
  /** A view of the tensor's data in the heap (valid until the next allocation may grow the heap). */
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
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

/**
 * A kernel config that replaces tfjs-backend-wasm's `original` with `kernelFunc` (which may call the original
 * for what it does not handle), keeping the original's `setupFunc`, which binds its wasm function.
 */
export function replacing(original: KernelConfig, kernelFunc: KernelFunc): KernelConfig {
  return { kernelName: original.kernelName, backendName: original.backendName, setupFunc: original.setupFunc, disposeFunc: original.disposeFunc, kernelFunc };
}

/** Transposes a tensor with the Transpose kernel registered for wasm (detkit's, see ./transpose). */
export function transposeInfo(backend: WasmBackend, x: TensorInfo, perm: number[]): TensorInfo {
  return runWasmKernel(backend, 'Transpose', { x }, { perm });
}

/**
 * The geometry tfjs computes for a 2-D convolution of an NHWC input of `nhwcInShape` with a filter of
 * `filterShape` [kh, kw, inC, outC], dilation 1 (tf.backend_util.computeConv2DInfo).
 */
export function nhwcConvInfo(
  nhwcInShape: readonly number[],
  filterShape: readonly number[],
  attrs: { strides: number | [number, number]; pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding; dimRoundingMode?: 'floor' | 'round' | 'ceil' },
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    nhwcInShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/**
 * The convolution geometry as the module's convolution kernels take it (convForward, filterGrad, col2im, the depthwise
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
const helpers = new WeakMap<object, KernelThreads | null>();

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

/** Threads {@link runSplit} splits a call over on `backend` now: 1 until its helpers have started. */
export function kernelThreadCount(backend: object): number {
  return helpers.get(backend)?.threads ?? 1;
}

export type RangeKernel = { [K in keyof BackendsWasm]: BackendsWasm[K] extends (...args: never[]) => void ? K : never }[keyof BackendsWasm];

/**
 * tfjs environment flag (default true): `tf.env().set('DETKIT_KERNEL_THREADS', false)` keeps detkit's own
 * wasm kernels on the calling thread (for comparisons; the results are the same either way).
 */
export const KERNEL_THREADS_FLAG = 'DETKIT_KERNEL_THREADS';
tf.env().registerFlag(KERNEL_THREADS_FLAG, () => true);

/** Work (elements written) under which a call stays on the calling thread: waking a helper costs more. */
export const MIN_SPLIT_WORK = 1 << 16;

/** Most parts a weight gradient's sum over the batch is split into (see {@link gradientPartSize}). */
export const GRADIENT_PARTS = 8;

/**
 * Most bytes of partial gradients, all parts together (see {@link gradientPartSize}): within L2 and L3, and
 * no more to add at the end than a fraction of the products (a [3, 3, 512, 512] filter's 9.4 MB would be
 * read once a part; such layers keep one part).
 */
export const GRADIENT_PART_BYTES = 4 * 1024 * 1024;

/**
 * Items per part for a weight gradient summed by parts (the direct filter gradient's images, Winograd's
 * tiles): each part sums its items into its own partial gradient of `partial` floats, on whichever thread
 * takes it, and the parts are added in order at the end, so that each thread reads only its parts' x and
 * dy. `units` is an item's work in partial gradients (the direct kernel's output pixels; 1 for a Winograd
 * tile): a part holds at least 64 of them, the partial sums' extra cost under about 1/64 of the products;
 * there are at most {@link GRADIENT_PARTS} parts and {@link GRADIENT_PART_BYTES} of partial sums; `items`
 * (one part) where there would be one. A function of the shapes only, never of the thread count: the parts
 * fix the order of every sum, the same bits on any number of threads.
 */
export function gradientPartSize(items: number, units: number, partial: number): number {
  const parts = Math.min(GRADIENT_PARTS, items, Math.floor((items * units) / 64), Math.floor(GRADIENT_PART_BYTES / (4 * partial)));
  return parts <= 1 ? items : Math.ceil(items / parts);
}

/**
 * `runSplit` work per element of a memory-bound elementwise pass (batch norm's, the ReLU gradient's): such a
 * pass costs about a tenth of a millisecond per 512 Ki elements, no more than waking a helper, so a call is
 * split only from 1 Mi elements (measured 2026-12-04: [8, 64, 64, 16] batch norm forward + gradient 0.89 ms on
 * one thread, 0.92 split; [16, 32, 32, 32] 0.77 / 0.62).
 */
export const PASS_WORK_PER_ELEMENT = 1 / 16;

/**
 * Runs a kernel whose last two arguments are a range [start, end) of its output, `kernel(...args, 0, total)`
 * (`args` are int32: pointers and sizes; other threads get them as int32, so pass floats in a tensor):
 * split over tfjs-backend-wasm's thread count (helper workers beside the calling thread, see
 * ./kernel-threads) when its heap is shared and `work` is large enough, else on this thread. Parts are
 * multiples of `align`.
 */
export function runSplit(backend: WasmBackend, kernel: RangeKernel, args: readonly number[], total: number, align: number, work: number): void {
  const threads = kernelThreads(backend);
  if (threads === undefined || work < MIN_SPLIT_WORK) callKernel(backend, kernel, [...args, 0, total]);
  else threads.run(kernel, args, total, align);
}

/** Calls one of the module's range kernels on this thread. */
export function callKernel(backend: WasmBackend, kernel: string, args: readonly number[]): void {
  (kernelsFor(backend)[kernel as RangeKernel] as unknown as (...a: number[]) => void)(...args);
}

/**
 * The kernel threads of `backend` (started at the first call), or undefined where calls stay on this
 * thread: no helper (one thread, not Node, no shared heap) or the {@link KERNEL_THREADS_FLAG} off.
 */
export function kernelThreads(backend: WasmBackend): KernelThreads | undefined {
  let threads = helpers.get(backend);
  if (threads === undefined) {
    const memory = (backend.wasm.asm?.memory ?? backend.wasm.wasmMemory) as WebAssembly.Memory;
    const names = Object.keys(kernelsFor(backend));
    threads = startKernelThreads(backendsWasm.compiled(memory), memory, names, wasmThreadCount() - 1, (name, all) => callKernel(backend, name, all)) ?? null;
    helpers.set(backend, threads);
  }
  return threads === null || !tf.env().getBool(KERNEL_THREADS_FLAG) ? undefined : threads;
}

/**
 * @detkit/core's `WasmSplitRunner` for tfjs-backend-wasm: other packages' wasm kernels on its heap (their
 * `WasmPointers.split` calls, e.g. @detkit/heads' RoIAlign) run on this backend's kernel threads as
 * detkit's own kernels do (the same {@link MIN_SPLIT_WORK} and {@link KERNEL_THREADS_FLAG}); calls on any
 * other memory stay on the calling thread.
 */
export const splitOnKernelThreads: WasmSplitRunner = (memory, module, exports, name, args, total, align, work) => {
  if (work < MIN_SPLIT_WORK || !tf.getBackend()?.startsWith('wasm')) return false;
  const backend = tf.backend() as WasmBackend;
  if ((backend.wasm?.asm?.memory ?? backend.wasm?.wasmMemory) !== memory) return false;
  const threads = kernelThreads(backend);
  if (threads === undefined) return false;
  threads.runModule(module, exports, name, args, total, align);
  return true;
};
