/**
 * `Transpose` for tfjs-backend-wasm. tfjs-backend-wasm 4.22's kernel walks the output element by element
 * with index arithmetic on one thread: a [512, 3136] float32 matrix (Faster R-CNN's box head gradient) took
 * 10 ms. Every transpose that is a batched matrix transpose once size-1 axes are dropped and axes that stay
 * together are merged (`[1, 0]`, `[0, 2, 1]`, NHWC <-> NCHW, a dense layer's weight) runs here instead, in
 * {@link transposeRows}'s 4 x 4 SIMD tiles split over the kernel threads; other permutations and other
 * dtypes keep tfjs's kernel. Elements are moved as bits, so the result is exactly tfjs's.
 */
import type { KernelConfig, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { callAddress, runPhases, runsAhead } from './deferred';
import { addressOf, replacing, type WasmBackend } from './wasm-backend';

/**
 * `shape` and `perm` with size-1 axes dropped and runs of axes that stay adjacent and in order merged:
 * the same data movement on the fewest axes. `perm[i]` is the input axis of output axis i.
 */
function reducePermutation(shape: readonly number[], perm: readonly number[]): { shape: number[]; perm: number[] } {
  const kept = perm.filter((axis) => shape[axis] !== 1);
  const rankAmongKept = new Map([...kept].sort((a, b) => a - b).map((axis, i) => [axis, i]));
  // Groups of input axes, in output order, each a run of consecutive kept input axes.
  const groups: number[][] = [];
  for (const axis of kept) {
    const last = groups[groups.length - 1];
    if (last !== undefined && rankAmongKept.get(axis) === rankAmongKept.get(last[last.length - 1]!)! + 1) last.push(axis);
    else groups.push([axis]);
  }
  const inputOrder = [...groups].sort((a, b) => a[0]! - b[0]!);
  return {
    shape: inputOrder.map((group) => group.reduce((s, axis) => s * shape[axis]!, 1)),
    perm: groups.map((group) => inputOrder.indexOf(group)),
  };
}

/** Wraps tfjs-backend-wasm's own Transpose kernel (`original`, kept for what this one does not handle). */
export function fastTransposeConfig(original: KernelConfig): KernelConfig {
  return replacing(original, (args) => {
    const x = (args.inputs as { x: TensorInfo }).x;
    const perm = (args.attrs as NamedAttrMap).perm as number[];
    if (x.dtype !== 'float32' && x.dtype !== 'int32') return original.kernelFunc(args);
    const reduced = reducePermutation(x.shape, perm);
    let batch: number;
    let rows: number;
    let cols: number;
    if (reduced.perm.length === 2 && reduced.perm[0] === 1) [batch, rows, cols] = [1, reduced.shape[0]!, reduced.shape[1]!];
    else if (reduced.perm.length === 3 && reduced.perm[0] === 0 && reduced.perm[1] === 2) [batch, rows, cols] = reduced.shape as [number, number, number];
    else return original.kernelFunc(args);
    const backend = args.backend as WasmBackend;
    const out = backend.makeOutput(perm.map((axis) => x.shape[axis]!), x.dtype);
    // Queued where the backend runs ahead (./deferred).
    const ahead = runsAhead(backend);
    const phase = { kernel: 'transposeRows' as const, args: [callAddress(backend, x, ahead), rows, cols, addressOf(backend, out)], total: batch * cols, align: 16, work: batch * rows * cols };
    runPhases(backend, [phase], { outputs: [out], reads: [x], scratch: [] }, ahead);
    return out;
  });
}
