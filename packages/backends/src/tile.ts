/**
 * `Tile` for tfjs-backend-wasm. tfjs-backend-wasm 4.22 computes every output element's source index from
 * its coordinates, one element at a time: tiling SSD's 1,344 default boxes [1344, 4] for a batch of 16
 * (@detkit/heads' detection post-processing) took 7 ms, a tenth of the whole batch's inference. Here x's
 * trailing axes that are not repeated are one contiguous run, written with one `copyWithin` per run
 * (element by element under 16 elements), axis by axis: `tf.tile(boxes [1344, 4], [16, 1])` is 16 copies
 * of 21 KB. Values are copied, never computed, so the result is tfjs's, bit for bit. Other dtypes (string,
 * complex) keep tfjs's kernel.
 */
import { tf } from '@detkit/core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { addressOf, replacing, type WasmBackend } from './wasm-backend';

/** Runs of at least this many elements are copied with one `copyWithin`; shorter ones element by element. */
const MIN_BLOCK_COPY = 16;

/** out = tile(x, reps): out.shape[k] = x.shape[k] * reps[k] (reps complete, one per axis). */
function tileInfo(backend: WasmBackend, x: TensorInfo, reps: readonly number[]): TensorInfo {
  const shape = x.shape.map((d, k) => d * reps[k]!);
  const out = backend.makeOutput(shape, x.dtype as 'float32' | 'int32' | 'bool');
  if (shape.some((d) => d === 0)) return out;
  const bytes = x.dtype === 'bool' ? 1 : 4;
  const rank = x.shape.length;
  // Axes from `first` on are not repeated: each index of the axes before is one run of `run` elements of x.
  let first = rank;
  let run = 1;
  while (first > 0 && reps[first - 1] === 1) run *= x.shape[--first]!;
  const src = addressOf(backend, x);
  const dst = addressOf(backend, out);
  // Read after makeOutput, which may have grown the heap.
  const view = backend.wasm.HEAPU8;
  const copy = (from: number, to: number, count: number) => {
    if (count >= MIN_BLOCK_COPY) view.copyWithin(dst + to * bytes, src + from * bytes, src + (from + count) * bytes);
    else view.set(view.subarray(src + from * bytes, src + (from + count) * bytes), dst + to * bytes);
  };
  // Elements of x and of out per index of each axis.
  const xStrides = [...tf.util.computeStrides(x.shape), 1];
  const outStrides = [...tf.util.computeStrides(shape), 1];
  // Writes the part of out at offset `to` that takes x's part at `from`, for axes `axis` on.
  const fill = (axis: number, from: number, to: number): void => {
    const xStep = xStrides[axis]!;
    const outStep = outStrides[axis]!;
    const d = x.shape[axis]!;
    // One copy of x's part along this axis (contiguous when no later axis repeats), then its repetitions
    // copied from it as one block each.
    if (axis + 1 === first) copy(from, to, d * run);
    else for (let i = 0; i < d; i++) fill(axis + 1, from + i * xStep, to + i * outStep);
    const block = d * outStep * bytes;
    for (let r = 1; r < reps[axis]!; r++) view.copyWithin(dst + to * bytes + r * block, dst + to * bytes, dst + to * bytes + block);
  };
  if (first === 0) copy(0, 0, run);
  else fill(0, 0, 0);
  return out;
}

/** Replaces tfjs-backend-wasm's `Tile` (`original` serves strings). */
export function fastTileConfig(original: KernelConfig): KernelConfig {
  return replacing(original, (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const { reps } = args.attrs as unknown as { reps: number[] };
    const supported = x.dtype === 'float32' || x.dtype === 'int32' || x.dtype === 'bool';
    if (!supported || x.shape.length === 0 || reps.length !== x.shape.length) return original.kernelFunc(args);
    return tileInfo(args.backend as WasmBackend, x, reps);
  });
}
