/**
 * A faster `BatchMatMul` for tfjs-backend-wasm. tfjs-backend-wasm 4.22 runs a matrix product through
 * XNNPACK (about 25 GFLOP/s on one core here) only for one untransposed pair of matrices; transposed
 * operands and batches go through a scalar loop at 1 to 2 GFLOP/s. A dense layer's gradient needs both
 * transposed forms (dA = dy B^T, dB = A^T dy), so training spends most of its time there.
 *
 * This kernel transposes explicitly (a memory-bound pass) and runs the product as one call: detkit's
 * direct convolution kernel (a 1x1 convolution, B packed when large; same bits as XNNPACK's, 1.2-1.3x
 * faster, split over the kernel threads) where A's rows are a multiple of 4 and the product runs over at
 * least 16 terms or B is small (not packed), XNNPACK's otherwise. Batches of A against one B are stacked
 * into one taller matrix, and equal-size batches run as one call per batch. Small products, where a call's
 * overhead dominates, keep tfjs's own path.
 */
import { tf } from '@detkit/core';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { convForward, packsFilter } from './conv2d';
import { addressOf, disposeAll, replacing, transposeInfo, withShape, type WasmBackend } from './wasm-backend';

/** Below this many multiply-adds (per call) tfjs's own kernel is used as it is. */
const MIN_FAST_MACS = 4096;
/**
 * Products over fewer terms than this keep XNNPACK's kernel where B is large enough to be packed first
 * (packing costs more than the product saves); a small B is read where it lies, for any number of terms.
 */
const MIN_DIRECT_K = 16;
/** Batched products loop one XNNPACK call per batch only when each batch has at least this many multiply-adds. */
const MIN_PER_BATCH_MACS = 32768;

function product(shape: readonly number[]): number {
  return shape.reduce((s, d) => s * d, 1);
}

/** Copies `bytes` bytes of tensor `src` starting at `srcOffset` into a new tensor of `shape`. */
function copyOut(backend: WasmBackend, src: TensorInfo, srcOffset: number, shape: number[]): TensorInfo {
  const out = backend.makeOutput(shape, 'float32');
  const from = addressOf(backend, src) + srcOffset;
  backend.wasm.HEAPU8.copyWithin(addressOf(backend, out), from, from + product(shape) * 4);
  return out;
}

/**
 * A [1, m, k] x b [1, k, n] (+ bias [n], then a ReLU where `relu`) as detkit's direct kernel, or undefined
 * where it does not apply (m not a multiple of 4, fewer than 16 terms of a packed B, a small product): A
 * as a 1x1 convolution's input of m / 4 rows of 4 pixels, B its filter (./conv2d; any n), each sum starting
 * at the bias as XNNPACK's do, in the same order, split over the kernel threads. `behind`: queued behind the
 * step (./deferred).
 */
function directProduct(backend: WasmBackend, a: TensorInfo, b: TensorInfo, bias: TensorInfo | undefined, relu: boolean, behind = false): TensorInfo | undefined {
  const [, m, k] = a.shape as [number, number, number];
  const n = b.shape[2]!;
  if (m % 4 !== 0 || (k < MIN_DIRECT_K && packsFilter(k, n)) || m * n * k < MIN_FAST_MACS) return undefined;
  const y = convForward(backend, withShape(a, [1, m / 4, 4, k]), withShape(b, [1, 1, k, n]), bias, [1, m / 4, 4, k, 1, 1, 1, 1, 0, 0, m / 4, 4], relu, behind);
  y.shape = [1, m, n];
  return y;
}

/**
 * Wraps tfjs-backend-wasm's `_FusedMatMul` (`original`): a [1, m, k] x b [1, k, n] + bias [n] (the kernel's
 * inputs are rank 3, as `tf.fused.matMul` makes them) with a linear or ReLU activation, float32 and
 * untransposed, runs as detkit's direct kernel (bias and ReLU in the kernel, queued where the backend runs
 * ahead); anything else (transposes, batches, other activations, small products) runs tfjs-backend-wasm's.
 * @detkit/heads' dense layer runs this way in training too.
 */
export function fusedMatMulConfig(original: KernelConfig): KernelConfig {
  return replacing(original, (args) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as { a: TensorInfo; b: TensorInfo; bias?: TensorInfo | null; preluActivationWeights?: TensorInfo | null };
    const { transposeA, transposeB, activation } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean; activation?: string };
    const single = (t: TensorInfo) => t.shape.length === 3 && t.shape[0] === 1 && t.dtype === 'float32';
    const n = b.shape[2]!;
    const eligible =
      !transposeA && !transposeB && single(a) && single(b) && (activation === undefined || activation === 'linear' || activation === 'relu') &&
      (preluActivationWeights === undefined || preluActivationWeights === null) &&
      (bias === undefined || bias === null || (bias.dtype === 'float32' && bias.shape.length === 1 && bias.shape[0] === n));
    const out = eligible ? directProduct(args.backend as WasmBackend, a, b, bias ?? undefined, activation === 'relu') : undefined;
    return out ?? original.kernelFunc(args);
  });
}

/**
 * Wraps tfjs-backend-wasm's own BatchMatMul kernel (`original`) with the fast paths described above.
 * The returned config keeps the original's `setupFunc`, which binds its wasm function.
 */
export function fastBatchMatMulConfig(original: KernelConfig): KernelConfig {
  const base: KernelFunc = original.kernelFunc;
  const plain = (backend: WasmBackend, a: TensorInfo, b: TensorInfo, behind = false): TensorInfo =>
    directProduct(backend, a, b, undefined, false, behind) ??
    (base({ inputs: { a, b }, attrs: { transposeA: false, transposeB: false } as unknown as NamedAttrMap, backend }) as TensorInfo);
  return replacing(original, (args) => {
    const { inputs, attrs, backend } = args;
    const wasm = backend as WasmBackend;
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const outerA = a.shape.slice(0, -2);
    const outerB = b.shape.slice(0, -2);
    const batchA = product(outerA);
    const batchB = product(outerB);
    const [ra, ca] = a.shape.slice(-2) as [number, number];
    const [rb, cb] = b.shape.slice(-2) as [number, number];
    const m = transposeA ? ca : ra;
    const k = transposeA ? ra : ca;
    const n = transposeB ? rb : cb;
    if (k !== (transposeB ? cb : rb)) return base(args); // tfjs's kernel throws its shape error
    const simple = !transposeA && !transposeB && batchA === 1 && batchB === 1;
    if (simple && a.dtype === 'float32' && b.dtype === 'float32') {
      const out = plain(wasm, withShape(a, [1, m, k]), withShape(b, [1, k, n]));
      out.shape = [...tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB), m, n];
      return out;
    }
    const sameOuter = outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i]);
    const batched = batchA > 1 && batchB > 1;
    const macs = Math.max(batchA, batchB) * m * n * k;
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || simple || macs < MIN_FAST_MACS || (batched && (!sameOuter || m * n * k < MIN_PER_BATCH_MACS))) {
      return base(args);
    }
    const outShape = [...tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB), m, n];
    const temps: TensorInfo[] = [];
    let a3 = withShape(a, [batchA, ra, ca]);
    if (transposeA) temps.push((a3 = transposeInfo(wasm, a3, [0, 2, 1])));
    let b3 = withShape(b, [batchB, rb, cb]);
    if (transposeB) temps.push((b3 = transposeInfo(wasm, b3, [0, 2, 1])));
    let out: TensorInfo;
    if (batchB === 1) {
      // Every batch of A against the one B: one taller product. A^T B is the form of a dense layer's
      // weight gradient (x^T dy), which only the optimizer reads: computed behind the step (./deferred).
      out = plain(wasm, withShape(a3, [1, batchA * m, k]), b3, batchA === 1 && transposeA && !transposeB);
    } else {
      out = wasm.makeOutput([Math.max(batchA, batchB), m, n], 'float32');
      for (let i = 0; i < batchB; i++) {
        const ai = batchA === 1 ? a3 : copyOut(wasm, a3, i * m * k * 4, [1, m, k]);
        const bi = copyOut(wasm, b3, i * k * n * 4, [1, k, n]);
        const ri = plain(wasm, ai, bi);
        const dst = addressOf(wasm, out) + i * m * n * 4;
        const src = addressOf(wasm, ri);
        wasm.wasm.HEAPU8.copyWithin(dst, src, src + m * n * 4);
        disposeAll(wasm, ai === a3 ? [bi, ri] : [ai, bi, ri]);
      }
    }
    disposeAll(wasm, temps);
    out.shape = outShape;
    return out;
  });
}
