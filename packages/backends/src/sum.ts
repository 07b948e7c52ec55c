/**
 * `Sum` over leading axes for tfjs-backend-wasm. tfjs-backend-wasm 4.22 transposes x so that the reduced
 * axes come last, then adds each output's run on one thread: a bias gradient (dy [N, H, W, C] summed over
 * N, H and W; a dense layer's dy [rows, out] over its rows) is a full transpose first, 0.76 ms for Faster
 * R-CNN's box head [512, 256] (2026-12-05). When the reduced axes are the leading ones, this kernel adds
 * the rows into one sum per column instead ({@link columnSums} in assembly/index.ts, split over the kernel
 * threads by columns), in the order tfjs's kernel adds them (row 0 first, one float32 sum per output): the
 * same bits. Other reductions (trailing axes, where tfjs's kernel does not transpose; mixed axes) and
 * other dtypes keep tfjs's kernel.
 */
import { tf } from '@detkit/core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { queuedAddress, runPhases, runsAhead } from './deferred';
import { addressOf, replacing, type WasmBackend } from './wasm-backend';

/** Wraps tfjs-backend-wasm's own Sum kernel (`original`, kept for what this one does not handle). */
export function fastSumConfig(original: KernelConfig): KernelConfig {
  return replacing(original, (args) => {
    const x = (args.inputs as { x: TensorInfo }).x;
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const rank = x.shape.length;
    const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((a, b) => a - b);
    // The reduced axes are 0 .. r - 1, and some axis is kept.
    const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
    if (x.dtype !== 'float32' || !leading) return original.kernelFunc(args);
    const backend = args.backend as WasmBackend;
    const rows = x.shape.slice(0, axes.length).reduce((a, b) => a * b, 1);
    const kept = x.shape.slice(axes.length);
    const cols = kept.reduce((a, b) => a * b, 1);
    const out = backend.makeOutput(keepDims ? [...axes.map(() => 1), ...kept] : kept, 'float32');
    if (cols === 0) return out;
    if (rows === 0) {
      const at = addressOf(backend, out);
      backend.wasm.HEAPU8.fill(0, at, at + cols * 4);
      return out;
    }
    const ahead = runsAhead(backend);
    const xp = ahead ? queuedAddress(backend, x) : addressOf(backend, x);
    runPhases(backend, [{ kernel: 'columnSums', args: [xp, rows, cols, addressOf(backend, out)], total: cols, align: 16, work: rows * cols }], { outputs: [out], reads: [x], scratch: [] }, ahead);
    return out;
  });
}
