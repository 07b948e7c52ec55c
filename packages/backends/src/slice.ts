/**
 * `Slice`, `SplitV` and `Unpack` for tfjs-backend-wasm. tfjs-backend-wasm 4.22 copies a slice that is not
 * one contiguous block run by run, making a typed-array view for every run: taking [16, 1024, 4] out of
 * [16, 1344, 4] (the gradient of SSD's concatenated per-level box predictions, through `SplitV`) is 16 Ki
 * views of 4 floats and took 4 to 10 ms; `Unpack` along the last axis makes one view per element. Here short
 * runs are copied element by element and long ones with one `copyWithin` on the heap, allocating nothing per
 * run. String tensors and scalars keep tfjs's kernels.
 */
import { tf } from '@detkit/core';
import type { KernelConfig, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { addressOf, replacing, type WasmBackend } from './wasm-backend';

/** Runs of at least this many elements are copied with one `copyWithin`; shorter ones element by element. */
const MIN_BLOCK_COPY = 16;

/** A new tensor holding x[begin, begin + size) (begin and size complete, one entry per axis). */
function sliceInfo(backend: WasmBackend, x: TensorInfo, begin: readonly number[], size: readonly number[]): TensorInfo {
  const out = backend.makeOutput([...size], x.dtype as 'float32' | 'int32' | 'bool');
  const total = size.reduce((s, d) => s * d, 1);
  if (total === 0) return out;
  const rank = x.shape.length;
  // Axes after `axis` are taken whole: the slice is a run of `run` elements per index of the axes before it.
  let axis = rank - 1;
  let inner = 1;
  while (axis > 0 && begin[axis] === 0 && size[axis] === x.shape[axis]) inner *= x.shape[axis--]!;
  const run = size[axis]! * inner;
  const strides = tf.util.computeStrides(x.shape);
  strides.push(1);
  const bytes = x.dtype === 'bool' ? 1 : 4;
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const heap = backend.wasm.HEAPU8;
  const srcBase = addressOf(backend, x);
  const dstBase = addressOf(backend, out);
  // An odometer over the axes before `axis`; `from` is the run's first element in x.
  const index = begin.slice(0, axis);
  let from = begin.reduce((s, b, k) => s + b * strides[k]!, 0);
  for (let to = 0; to < total; to += run) {
    if (run >= MIN_BLOCK_COPY) heap.copyWithin(dstBase + to * bytes, srcBase + from * bytes, srcBase + (from + run) * bytes);
    else for (let k = 0; k < run; k++) dst[to + k] = src[from + k]!;
    for (let k = axis - 1; k >= 0; k--) {
      from += strides[k]!;
      if (++index[k]! < begin[k]! + size[k]!) break;
      from -= size[k]! * strides[k]!;
      index[k] = begin[k]!;
    }
  }
  return out;
}

/** Kernel configs replacing tfjs-backend-wasm's `Slice`, `SplitV` and `Unpack` (`originals` serve strings). */
export function fastSliceConfigs(originals: { slice: KernelConfig; splitV: KernelConfig; unpack: KernelConfig }): KernelConfig[] {
  const wrap = (original: KernelConfig, kernelFunc: (x: TensorInfo, attrs: NamedAttrMap, backend: WasmBackend) => TensorInfo | TensorInfo[]): KernelConfig =>
    replacing(original, (args) => {
      const inputs = args.inputs as Record<string, TensorInfo>;
      const x = (inputs.x ?? inputs.value)!;
      return x.dtype === 'string' || x.shape.length === 0 ? original.kernelFunc(args) : kernelFunc(x, args.attrs as NamedAttrMap, args.backend as WasmBackend);
    });
  return [
    wrap(originals.slice, (x, attrs, backend) => {
      const [begin, size] = tf.slice_util.parseSliceParams(x as tf.TensorInfo as tf.Tensor, attrs.begin as number[], attrs.size as number[]);
      return sliceInfo(backend, x, begin!, size!);
    }),
    wrap(originals.splitV, (x, attrs, backend) => {
      const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0]!;
      const sizes = tf.backend_util.prepareSplitSize(x as tf.TensorInfo as tf.Tensor, attrs.numOrSizeSplits as number[] | number, axis);
      const begin = new Array<number>(x.shape.length).fill(0);
      return sizes.map((s) => {
        const size = [...x.shape];
        size[axis] = s;
        const part = sliceInfo(backend, x, begin, size);
        begin[axis]! += s;
        return part;
      });
    }),
    wrap(originals.unpack, (x, attrs, backend) => {
      const axis = (attrs.axis as number) < 0 ? (attrs.axis as number) + x.shape.length : (attrs.axis as number);
      const outShape = x.shape.filter((_, k) => k !== axis);
      const begin = new Array<number>(x.shape.length).fill(0);
      const size = [...x.shape];
      size[axis] = 1;
      return Array.from({ length: x.shape[axis]! }, (_, i) => {
        begin[axis] = i;
        return { ...sliceInfo(backend, x, begin, size), shape: outShape };
      });
    }),
  ];
}
