/**
 * Training-mode batch norm for tfjs-backend-wasm as two fused kernels (forward and gradient), each a few
 * SIMD passes over the tensor split over the kernel threads, where tfjs's op chain takes about eight
 * one-thread element-wise kernels each way (sub, square, mean, mul, add, ... and their gradients).
 *
 * Forward, x [rows, c] (NHWC flattened): mean and biased variance per channel (two passes: the sum, then the
 * squared deviations, as torch's two-pass `batch_norm` statistics), then `out = (x - mean) γ / sqrt(var + ε) + β`.
 * Gradient (torch's `batch_norm_backward`): one pass for Σ dy and Σ dy (x - mean), then
 * `dx = γ / σ (dy - Σdy / M - (x - mean) Σ dy (x - mean) / (σ² M))`, `dγ = Σ dy (x - mean) / σ`, `dβ = Σ dy`,
 * σ = sqrt(var + ε), M = rows. The sums are taken per block of {@link BLOCK_ROWS} rows and the blocks added in
 * order (in float64, rounded once to float32), so the result is the same on any number of threads.
 */
import { BATCH_NORM_TRAIN_KERNELS, MOVING_AVERAGE_KERNEL } from '@detkit/core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { queuedAddress, runPhases, runQueued, runsAhead, type Phase } from './deferred';
import { addressOf, disposeAll, PASS_WORK_PER_ELEMENT, replacing, runSplit, type WasmBackend } from './wasm-backend';

/** Rows per block of the per-channel sums: the fixed partition that keeps the bits thread-count independent. */
const BLOCK_ROWS = 128;

/** A float32 tensor's values in the heap (read or written before the next allocation). */
function heapF32(backend: WasmBackend, info: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(info) as Float32Array;
}

/** A float32 [n] tensor in the heap holding `values`. */
function vector(backend: WasmBackend, values: ArrayLike<number>): TensorInfo {
  const info = backend.makeOutput([values.length], 'float32');
  heapF32(backend, info).set(values);
  return info;
}

/** Adds the blocks of `sums` [blocks, width] in order, in float64: one number per column. */
function addBlocks(backend: WasmBackend, sums: TensorInfo, blocks: number, width: number): Float64Array {
  const values = heapF32(backend, sums);
  const total = new Float64Array(width);
  for (let b = 0; b < blocks; b++) for (let k = 0; k < width; k++) total[k]! += values[b * width + k]!;
  return total;
}

function geometry(x: TensorInfo): { rows: number; c: number; blocks: number } {
  const c = x.shape[x.shape.length - 1] as number;
  const rows = x.shape.reduce((s, d) => s * d, 1) / c;
  return { rows, c, blocks: Math.ceil(rows / BLOCK_ROWS) };
}

/**
 * `DetkitBatchNormTrain` on wasm: inputs x [..., c], gamma [c], beta [c]; attributes `epsilon`, `relu`
 * (optional: out = max(0, batch norm), a following ReLU fused into the last pass); outputs out, mean [c],
 * variance [c] (biased).
 */
export const batchNormTrainConfig: KernelConfig = {
  kernelName: BATCH_NORM_TRAIN_KERNELS.forward,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const wasm = backend as WasmBackend;
    const { x, gamma, beta } = inputs as { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo };
    const { epsilon, relu } = attrs as unknown as { epsilon: number; relu?: boolean };
    const { rows, c, blocks } = geometry(x);
    const work = rows * c * PASS_WORK_PER_ELEMENT;
    const sums = wasm.makeOutput([blocks, c], 'float32');
    const mean = wasm.makeOutput([c], 'float32');
    const variance = wasm.makeOutput([c], 'float32');
    if (runsAhead(wasm)) return queuedBatchNormTrain(wasm, x, gamma, beta, epsilon, relu === true, sums, mean, variance);
    runSplit(wasm, 'batchNormBlockSums', [addressOf(wasm, x), addressOf(wasm, mean), rows, c, BLOCK_ROWS, 0, addressOf(wasm, sums)], blocks, 1, work);
    heapF32(wasm, mean).set(addBlocks(wasm, sums, blocks, c).map((s) => s / rows));
    runSplit(wasm, 'batchNormBlockSums', [addressOf(wasm, x), addressOf(wasm, mean), rows, c, BLOCK_ROWS, 1, addressOf(wasm, sums)], blocks, 1, work);
    heapF32(wasm, variance).set(addBlocks(wasm, sums, blocks, c).map((s) => s / rows));
    const g = heapF32(wasm, gamma);
    const v = heapF32(wasm, variance);
    const scale = vector(wasm, Array.from({ length: c }, (_, k) => g[k]! / Math.sqrt(v[k]! + epsilon)));
    const out = wasm.makeOutput([...x.shape], 'float32');
    runSplit(wasm, 'batchNormApply', [addressOf(wasm, x), addressOf(wasm, mean), addressOf(wasm, scale), addressOf(wasm, beta), c, relu === true ? 1 : 0, addressOf(wasm, out)], rows, 1, work);
    disposeAll(wasm, [sums, scale]);
    return [out, mean, variance];
  },
};

/**
 * {@link batchNormTrainConfig}'s passes queued (the backend runs ahead, ./deferred), the statistics finished
 * by `batchNormFinish` instead of this thread's JavaScript: the same operations, so the same bits.
 */
function queuedBatchNormTrain(
  wasm: WasmBackend,
  x: TensorInfo,
  gamma: TensorInfo,
  beta: TensorInfo,
  epsilon: number,
  relu: boolean,
  sums: TensorInfo,
  mean: TensorInfo,
  variance: TensorInfo,
): TensorInfo[] {
  const { rows, c, blocks } = geometry(x);
  const work = rows * c * PASS_WORK_PER_ELEMENT;
  const scale = wasm.makeOutput([c], 'float32');
  // ε as a float64 (two float32 slots), as the JavaScript finishing adds it.
  const params = wasm.makeOutput([2], 'float32');
  new Float64Array(wasm.wasm.HEAPU8.buffer, addressOf(wasm, params), 1)[0] = epsilon;
  const out = wasm.makeOutput([...x.shape], 'float32');
  const [xp, gp, bp] = [x, gamma, beta].map((t) => queuedAddress(wasm, t)) as [number, number, number];
  const [sp, mp, vp, cp, pp, op] = [sums, mean, variance, scale, params, out].map((t) => addressOf(wasm, t)) as [number, number, number, number, number, number];
  const finish = (isVariance: number, into: number) => ({ kernel: 'batchNormFinish' as const, args: [sp, blocks, c, rows, isVariance, gp, pp, into, cp], total: c, align: 1, work: blocks * c });
  const phases: Phase[] = [
    { kernel: 'batchNormBlockSums', args: [xp, mp, rows, c, BLOCK_ROWS, 0, sp], total: blocks, align: 1, work },
    finish(0, mp),
    { kernel: 'batchNormBlockSums', args: [xp, mp, rows, c, BLOCK_ROWS, 1, sp], total: blocks, align: 1, work },
    finish(1, vp),
    { kernel: 'batchNormApply', args: [xp, mp, cp, bp, c, relu ? 1 : 0, op], total: rows, align: 1, work },
  ];
  runQueued(wasm, phases, { outputs: [out, mean, variance], reads: [x, gamma, beta], scratch: [sums, scale, params] });
  return [out, mean, variance];
}

/**
 * `DetkitMovingAverage` on wasm (@detkit/core's `MOVING_AVERAGE_KERNEL`): inputs moving, batch (float32, one
 * shape); attrs decay, factor; output moving · decay + batch · factor in float32 (`scaledSum`), queued where
 * the backend runs ahead (batch is then usually a pending output of the batch norm before it).
 */
export const movingAverageConfig: KernelConfig = {
  kernelName: MOVING_AVERAGE_KERNEL,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const wasm = backend as WasmBackend;
    const { moving, batch } = inputs as { moving: TensorInfo; batch: TensorInfo };
    const { decay, factor } = attrs as unknown as { decay: number; factor: number };
    const size = moving.shape.reduce((n, d) => n * d, 1);
    const params = vector(wasm, [decay, factor]);
    const out = wasm.makeOutput([...moving.shape], 'float32');
    const ahead = runsAhead(wasm);
    const address = (t: TensorInfo) => (ahead ? queuedAddress(wasm, t) : addressOf(wasm, t));
    const phase = { kernel: 'scaledSum' as const, args: [address(moving), address(batch), addressOf(wasm, params), addressOf(wasm, out)], total: size, align: 1, work: size };
    runPhases(wasm, [phase], { outputs: [out], reads: [moving, batch], scratch: [params] }, ahead);
    return out;
  },
};

/**
 * `DetkitBatchNormTrainGrad` on wasm: inputs dy [..., c], x, mean [c], variance [c], gamma [c] (the forward's)
 * and, for a forward with `relu`, y (its output: dy counts where y > 0, the ReLU's gradient); outputs dx,
 * dgamma [c], dbeta [c].
 */
export const batchNormTrainGradConfig: KernelConfig = {
  kernelName: BATCH_NORM_TRAIN_KERNELS.gradient,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const wasm = backend as WasmBackend;
    const { dy, x, mean, variance, gamma, y } = inputs as { dy: TensorInfo; x: TensorInfo; mean: TensorInfo; variance: TensorInfo; gamma: TensorInfo; y?: TensorInfo | null };
    const mask = y === undefined || y === null ? 0 : addressOf(wasm, y);
    const { epsilon } = attrs as unknown as { epsilon: number };
    const { rows, c, blocks } = geometry(x);
    const work = rows * c * PASS_WORK_PER_ELEMENT;
    const sums = wasm.makeOutput([blocks, 2 * c], 'float32');
    if (runsAhead(wasm)) return queuedBatchNormTrainGrad(wasm, { dy, x, mean, variance, gamma, y: y ?? undefined }, epsilon, sums);
    runSplit(wasm, 'batchNormGradBlockSums', [addressOf(wasm, dy), mask, addressOf(wasm, x), addressOf(wasm, mean), rows, c, BLOCK_ROWS, addressOf(wasm, sums)], blocks, 1, work);
    const total = addBlocks(wasm, sums, blocks, 2 * c);
    const v = heapF32(wasm, variance);
    const inv = Array.from({ length: c }, (_, k) => 1 / Math.sqrt(v[k]! + epsilon));
    const g = Array.from(heapF32(wasm, gamma));
    const dot = (k: number) => total[c + k]!;
    const dgamma = vector(wasm, inv.map((s, k) => s * dot(k)));
    const dbeta = vector(wasm, total.subarray(0, c));
    const p = vector(wasm, inv.map((i, k) => g[k]! * i));
    const q = vector(wasm, Array.from({ length: c }, (_, k) => total[k]! / rows));
    const s = vector(wasm, inv.map((i, k) => (i * i * dot(k)) / rows));
    const dx = wasm.makeOutput([...x.shape], 'float32');
    runSplit(
      wasm,
      'batchNormGradInput',
      [addressOf(wasm, dy), mask, addressOf(wasm, x), addressOf(wasm, mean), addressOf(wasm, p), addressOf(wasm, q), addressOf(wasm, s), c, addressOf(wasm, dx)],
      rows,
      1,
      work,
    );
    disposeAll(wasm, [sums, p, q, s]);
    return [dx, dgamma, dbeta];
  },
};

/**
 * {@link batchNormTrainGradConfig}'s passes queued (the backend runs ahead, ./deferred), the factors finished
 * by `batchNormGradFinish` instead of this thread's JavaScript: the same operations, so the same bits.
 */
function queuedBatchNormTrainGrad(
  wasm: WasmBackend,
  inputs: { dy: TensorInfo; x: TensorInfo; mean: TensorInfo; variance: TensorInfo; gamma: TensorInfo; y: TensorInfo | undefined },
  epsilon: number,
  sums: TensorInfo,
): TensorInfo[] {
  const { dy, x, mean, variance, gamma, y } = inputs;
  const { rows, c, blocks } = geometry(x);
  const work = rows * c * PASS_WORK_PER_ELEMENT;
  const [dgamma, dbeta, p, q, s] = [0, 1, 2, 3, 4].map(() => wasm.makeOutput([c], 'float32')) as [TensorInfo, TensorInfo, TensorInfo, TensorInfo, TensorInfo];
  const params = wasm.makeOutput([2], 'float32');
  new Float64Array(wasm.wasm.HEAPU8.buffer, addressOf(wasm, params), 1)[0] = epsilon;
  const dx = wasm.makeOutput([...x.shape], 'float32');
  const [dyp, xp, mp, vp, gp] = [dy, x, mean, variance, gamma].map((t) => queuedAddress(wasm, t)) as [number, number, number, number, number];
  const mask = y === undefined ? 0 : queuedAddress(wasm, y);
  const [sp, dgp, dbp, pp, qp, ssp, parp, dxp] = [sums, dgamma, dbeta, p, q, s, params, dx].map((t) => addressOf(wasm, t)) as number[] as [number, number, number, number, number, number, number, number];
  const phases: Phase[] = [
    { kernel: 'batchNormGradBlockSums', args: [dyp, mask, xp, mp, rows, c, BLOCK_ROWS, sp], total: blocks, align: 1, work },
    { kernel: 'batchNormGradFinish', args: [sp, blocks, c, rows, vp, gp, parp, dgp, dbp, pp, qp, ssp], total: c, align: 1, work: blocks * c },
    { kernel: 'batchNormGradInput', args: [dyp, mask, xp, mp, pp, qp, ssp, c, dxp], total: rows, align: 1, work },
  ];
  const reads = y === undefined ? [dy, x, mean, variance, gamma] : [dy, x, mean, variance, gamma, y];
  runQueued(wasm, phases, { outputs: [dx, dgamma, dbeta], reads, scratch: [sums, p, q, s, params] });
  return [dx, dgamma, dbeta];
}

/**
 * Replaces tfjs-backend-wasm's `FusedBatchNorm` (`tf.batchNorm`: inference-mode batch norm, and
 * torchvision's frozen batch norm) for float32 x [..., c] with mean, variance and the optional offset
 * and scale of c values each: out = (x - mean) s + offset with s = scale / sqrt(variance + ε) per channel
 * (float32), one SIMD pass split over the kernel threads (`batchNormApply`, the training forward's last
 * pass). tfjs-backend-wasm 4.22 runs a scalar loop on one thread: the 8 batch norms of the trainer's SSD
 * took 9.7 ms of a 67 ms batch of inference on 2 threads. Within float32 rounding of tfjs's (not its bits:
 * s is rounded once). Other shapes run `original`.
 */
export function fastFusedBatchNormConfig(original: KernelConfig): KernelConfig {
  return replacing(original, (args) => {
    const wasm = args.backend as WasmBackend;
    const { x, mean, variance, offset, scale } = args.inputs as Record<'x' | 'mean' | 'variance', TensorInfo> & { offset?: TensorInfo | null; scale?: TensorInfo | null };
    const { varianceEpsilon } = args.attrs as unknown as { varianceEpsilon: number };
    const c = x.shape[x.shape.length - 1] ?? 0;
    const perChannel = (t: TensorInfo) => t.dtype === 'float32' && t.shape.length === 1 && t.shape[0] === c;
    const optional = (t: TensorInfo | null | undefined) => t === null || t === undefined || perChannel(t);
    const fits = x.dtype === 'float32' && c > 0 && perChannel(mean) && perChannel(variance) && optional(offset) && optional(scale);
    if (!fits) return original.kernelFunc(args);
    const out = wasm.makeOutput([...x.shape], 'float32');
    const rows = x.shape.reduce((s, d) => s * d, 1) / c;
    if (rows === 0) return out;
    const v = heapF32(wasm, variance);
    const g = scale === null || scale === undefined ? undefined : heapF32(wasm, scale);
    const factors = vector(wasm, Array.from({ length: c }, (_, k) => (g === undefined ? 1 : g[k]!) / Math.sqrt(v[k]! + varianceEpsilon)));
    const shift = offset === null || offset === undefined ? vector(wasm, new Float32Array(c)) : undefined;
    const applyArgs = [addressOf(wasm, x), addressOf(wasm, mean), addressOf(wasm, factors), addressOf(wasm, shift ?? offset!), c, 0, addressOf(wasm, out)];
    runSplit(wasm, 'batchNormApply', applyArgs, rows, 1, rows * c * PASS_WORK_PER_ELEMENT);
    disposeAll(wasm, shift === undefined ? [factors] : [factors, shift]);
    return out;
  });
}
