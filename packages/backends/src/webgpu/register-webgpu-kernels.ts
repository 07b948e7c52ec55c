/**
 * detkit's kernels for tfjs-backend-webgpu: WGSL compute shaders (./programs.ts) registered under the names
 * of the fused typed-array kernels of @detkit/boxes, @detkit/matchers and @detkit/heads, so that
 * `runTypedArrayKernel` (@detkit/core) dispatches them on the device instead of downloading the inputs to
 * the CPU. Registered by `useBackend('webgpu' | 'gpu')`.
 */
import type { PAIRWISE_IOU_KERNEL as BOXES_PAIRWISE_IOU_KERNEL } from '@detkit/boxes';
import { InvalidValueError, assignBestPriors, tf } from '@detkit/core';
import type {
  ROI_ALIGN_GRAD_KERNEL as HEADS_ROI_ALIGN_GRAD_KERNEL,
  ROI_ALIGN_KERNEL as HEADS_ROI_ALIGN_KERNEL,
  RoiAlignGradKernelAttrs,
  RoiAlignKernelAttrs,
} from '@detkit/heads';
import type { MAX_IOU_MATCH_KERNEL as MATCHERS_MAX_IOU_MATCH_KERNEL, SSD_MATCH_KERNEL as MATCHERS_SSD_MATCH_KERNEL } from '@detkit/matchers';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { firstNotIouProgram, maxIouMatchProgram, pairwiseIouProgram, roiAlignGradProgram, roiAlignProgram, rowMaxArgProgram, rowMaxProgram, ssdMatchProgram, type WgslProgram } from './programs';

const MARK = Symbol.for('detkit.webgpuKernel');

/** The parts of tfjs-backend-webgpu's WebGPUBackend the kernels call. */
interface WebgpuBackend {
  runWebGPUProgram(program: WgslProgram, inputs: TensorInfo[], dtype: 'float32' | 'int32', uniforms?: Array<{ type: 'int32' | 'float32'; data: number[] }>, output?: TensorInfo): TensorInfo;
  makeTensorInfo(shape: number[], dtype: string, values?: ArrayLike<number>): TensorInfo;
  readSync(dataId: object): ArrayLike<number>;
  disposeData(dataId: object, force?: boolean): boolean;
}

// Kernel names of the typed-array kernels these replace on webgpu. Each package declares its names in its
// src/kernel-names.ts; @detkit/backends does not depend on those packages at run time, so the names are
// written here again, typed by a type-only import of the owning package's constant: a rename there fails
// the typecheck here (and the conformance suite checks that each op dispatches the kernel named here).
/** @detkit/boxes' pairwise IoU family (`boxIou`, `generalizedBoxIou`, `distanceBoxIou`, `completeBoxIou`). */
export const PAIRWISE_IOU_KERNEL: typeof BOXES_PAIRWISE_IOU_KERNEL = 'DetkitBoxesPairwiseIou';
/** @detkit/matchers' `createMaxIouMatcher`. */
export const MAX_IOU_MATCH_KERNEL: typeof MATCHERS_MAX_IOU_MATCH_KERNEL = 'DetkitMatchersMaxIou';
/** @detkit/matchers' `createSsdMatcher`. */
export const SSD_MATCH_KERNEL: typeof MATCHERS_SSD_MATCH_KERNEL = 'DetkitMatchersSsd';
/** @detkit/heads' `roiAlign` forward. */
export const ROI_ALIGN_KERNEL: typeof HEADS_ROI_ALIGN_KERNEL = 'DetkitHeadsRoiAlign';
/** @detkit/heads' `roiAlign` backward. */
export const ROI_ALIGN_GRAD_KERNEL: typeof HEADS_ROI_ALIGN_GRAD_KERNEL = 'DetkitHeadsRoiAlignGrad';

/** Kernels detkit registers for tfjs-backend-webgpu 4.22 (WGSL). */
export const ADDED_WEBGPU_KERNELS: readonly string[] = [PAIRWISE_IOU_KERNEL, MAX_IOU_MATCH_KERNEL, SSD_MATCH_KERNEL, ROI_ALIGN_KERNEL, ROI_ALIGN_GRAD_KERNEL];

const i32 = (...data: number[]) => ({ type: 'int32' as const, data });
const f32 = (...data: number[]) => ({ type: 'float32' as const, data });

/** A tensor of `shape` filled with `value`, on the webgpu backend (its Fill kernel). */
function filled(backend: WebgpuBackend, shape: number[], value: number, dtype: 'float32' | 'int32'): TensorInfo {
  const fill = tf.getKernel('Fill', 'webgpu')!;
  return fill.kernelFunc({ inputs: {}, attrs: { shape, value, dtype }, backend: backend as never }) as TensorInfo;
}

const CIOU_V_SCALE = 4 / (Math.PI * Math.PI);
const IOU_KINDS: Record<string, number> = { iou: 0, giou: 1, diou: 2, ciou: 3 };

const pairwiseIou: KernelFunc = ({ inputs, attrs, backend }) => {
  const b = backend as unknown as WebgpuBackend;
  const { boxes1: a, boxes2: bb } = inputs as { boxes1: TensorInfo; boxes2: TensorInfo };
  const { kind, eps } = attrs as unknown as { kind: string; eps: number };
  const n = a.shape[0] as number;
  const m = bb.shape[0] as number;
  if (n === 0 || m === 0) return b.makeTensorInfo([n, m], 'float32', new Float32Array(0));
  return b.runWebGPUProgram(pairwiseIouProgram(n, m), [a, bb], 'float32', [i32(IOU_KINDS[kind] ?? 0), f32(eps), f32(CIOU_V_SCALE), i32(n * m)]);
};

/** IOU_TOLERANCE of @detkit/matchers: how far above 1 an IoU may lie. */
const IOU_TOLERANCE = 1e-5;
/** The op names @detkit/matchers' errors carry. */
const MAX_IOU_OP = 'maxIouMatcher';
const SSD_OP = 'ssdMatcher';

/** The matchers' IoU matrix [M, N] or [B, M, N]: sizes, output shape, and the empty results. */
function matrixOf(b: WebgpuBackend, iou: TensorInfo) {
  const batched = iou.shape.length === 3;
  const batch = batched ? (iou.shape[0] as number) : 1;
  const m = iou.shape[iou.shape.length - 2] as number;
  const n = iou.shape[iou.shape.length - 1] as number;
  const outShape = batched ? [batch, n] : [n];
  const empty =
    batch * n === 0
      ? [b.makeTensorInfo(outShape, 'int32', new Int32Array(0)), b.makeTensorInfo(outShape, 'int32', new Int32Array(0))]
      : m === 0
        ? [filled(b, outShape, -1, 'int32'), filled(b, outShape, 0, 'int32')]
        : null;
  return { batched, batch, m, n, outShape, empty };
}

/**
 * The matchers' value check on the device: one int comes back, the first value that is not an IoU (a sync
 * point, but no download of the matrix). Throws as @detkit/matchers' `notIou` does.
 */
function checkIou(b: WebgpuBackend, op: string, iou: TensorInfo, batched: boolean, m: number, n: number): void {
  const size = iou.shape.reduce((x, y) => x * y, 1);
  const first = b.runWebGPUProgram(firstNotIouProgram(size), [iou], 'int32', [f32(IOU_TOLERANCE), i32(size)], filled(b, [1], size, 'int32'));
  const at = b.readSync(first.dataId)[0] as number;
  b.disposeData(first.dataId);
  if (at < size) {
    throw new InvalidValueError(op, 'iou', 'has a value outside [0, 1] (NaN, infinite, negative or above 1: not an IoU)', Math.floor(at / (batched ? m * n : n)));
  }
}

const maxIouMatch: KernelFunc = ({ inputs, attrs, backend }) => {
  const b = backend as unknown as WebgpuBackend;
  const { iou } = inputs as { iou: TensorInfo };
  const a = attrs as unknown as { high: number; low: number; negativeMin: number; lowQuality: boolean; minLowQuality: number; checkValues: boolean };
  const { batched, batch, m, n, outShape, empty } = matrixOf(b, iou);
  if (empty !== null) return empty;
  if (a.checkValues) checkIou(b, MAX_IOU_OP, iou, batched, m, n);
  const rowMax = b.runWebGPUProgram(rowMaxProgram(batch, m), [iou], 'float32', [i32(n), i32(batch * m)]);
  const q = { ...iou, shape: [batch, m, n] };
  const run = (which: number) =>
    b.runWebGPUProgram(maxIouMatchProgram(batch, n), [q, rowMax], 'int32', [
      i32(m),
      f32(a.high),
      f32(a.low),
      f32(a.negativeMin),
      i32(a.lowQuality ? 1 : 0),
      f32(a.minLowQuality),
      i32(which),
      i32(batch * n),
    ]);
  const matches = run(0);
  const labels = run(1);
  b.disposeData(rowMax.dataId);
  return [
    { ...matches, shape: outShape },
    { ...labels, shape: outShape },
  ];
};

/**
 * SSD matching: each box's best prior on the device, then @detkit/core's `assignBestPriors` (the rule, order
 * and ties of @detkit/matchers' kernel) on the host; only when two boxes share a best prior does it need
 * their rows of the IoU matrix, downloaded then.
 */
const ssdMatch: KernelFunc = ({ inputs, attrs, backend }) => {
  const b = backend as unknown as WebgpuBackend;
  const { iou } = inputs as { iou: TensorInfo };
  const a = attrs as unknown as { threshold: number; checkValues: boolean };
  const { batched, batch, m, n, outShape, empty } = matrixOf(b, iou);
  if (empty !== null) return empty;
  if (a.checkValues) checkIou(b, SSD_OP, iou, batched, m, n);
  // Each box's best prior comes back (2 x B x M values), not the matrix.
  const best = b.runWebGPUProgram(rowMaxArgProgram(batch, m), [iou], 'float32', [i32(n), i32(batch * m)]);
  const pairs = b.readSync(best.dataId) as Float32Array;
  b.disposeData(best.dataId);
  let matrix: ArrayLike<number> | undefined;
  const priors = new Int32Array(batch * m);
  for (let img = 0; img < batch; img++) {
    const rowMax = new Float32Array(m);
    const rowArg = new Int32Array(m);
    for (let i = 0; i < m; i++) {
      rowMax[i] = pairs[2 * (img * m + i)] as number;
      rowArg[i] = pairs[2 * (img * m + i) + 1] as number;
    }
    const row = (i: number) => {
      // Rare (two boxes with the same best prior): the matrix is downloaded once.
      matrix ??= b.readSync(iou.dataId);
      const start = (img * m + i) * n;
      return Array.prototype.slice.call(matrix, start, start + n) as number[];
    };
    priors.set(assignBestPriors(rowMax, rowArg, n, row), img * m);
  }
  const p = b.makeTensorInfo([batch, m], 'int32', priors);
  const q = { ...iou, shape: [batch, m, n] };
  const run = (which: number) => b.runWebGPUProgram(ssdMatchProgram(batch, n), [q, p], 'int32', [i32(m), f32(a.threshold), i32(which), i32(batch * n)]);
  const matches = run(0);
  const labels = run(1);
  b.disposeData(p.dataId);
  return [
    { ...matches, shape: outShape },
    { ...labels, shape: outShape },
  ];
};

function roiUniforms(featureShape: readonly number[], a: RoiAlignKernelAttrs, threads: number) {
  const [numImages, height, width, channels] = featureShape as [number, number, number, number];
  return [i32(numImages), i32(height), i32(width), i32(channels), i32(a.pooledH), i32(a.pooledW), f32(a.spatialScale), i32(a.samplingRatio), i32(a.aligned ? 1 : 0), i32(threads)];
}

const roiAlign: KernelFunc = ({ inputs, attrs, backend }) => {
  const b = backend as unknown as WebgpuBackend;
  const { features, boxes, boxImageIndex } = inputs as { features: TensorInfo; boxes: TensorInfo; boxImageIndex: TensorInfo };
  const a = attrs as unknown as RoiAlignKernelAttrs;
  const k = boxes.shape[0] as number;
  const c = features.shape[3] as number;
  const outShape = [k, a.pooledH, a.pooledW, c];
  const total = k * a.pooledH * a.pooledW * c;
  if (total === 0) return b.makeTensorInfo(outShape, 'float32', new Float32Array(0));
  if (features.shape.some((d) => d === 0)) return filled(b, outShape, 0, 'float32');
  return b.runWebGPUProgram(roiAlignProgram(k, a.pooledH, a.pooledW, c), [features, boxes, boxImageIndex], 'float32', roiUniforms(features.shape, a, total));
};

const roiAlignGrad: KernelFunc = ({ inputs, attrs, backend }) => {
  const b = backend as unknown as WebgpuBackend;
  const { dy, boxes, boxImageIndex } = inputs as { dy: TensorInfo; boxes: TensorInfo; boxImageIndex: TensorInfo };
  const a = attrs as unknown as RoiAlignGradKernelAttrs;
  const featureShape = [...a.featureShape];
  const k = boxes.shape[0] as number;
  const c = featureShape[3] as number;
  if (featureShape.some((d) => d === 0)) return b.makeTensorInfo(featureShape, 'float32', new Float32Array(0));
  const dx = filled(b, featureShape, 0, 'float32');
  const total = k * a.pooledH * a.pooledW * c;
  if (total === 0) return dx;
  return b.runWebGPUProgram(roiAlignGradProgram(featureShape, k, a.pooledH, a.pooledW, c), [dy, boxes, boxImageIndex], 'float32', roiUniforms(featureShape, a, total), dx);
};

const CONFIGS: KernelConfig[] = [
  { kernelName: PAIRWISE_IOU_KERNEL, backendName: 'webgpu', kernelFunc: pairwiseIou },
  { kernelName: MAX_IOU_MATCH_KERNEL, backendName: 'webgpu', kernelFunc: maxIouMatch },
  { kernelName: SSD_MATCH_KERNEL, backendName: 'webgpu', kernelFunc: ssdMatch },
  { kernelName: ROI_ALIGN_KERNEL, backendName: 'webgpu', kernelFunc: roiAlign },
  { kernelName: ROI_ALIGN_GRAD_KERNEL, backendName: 'webgpu', kernelFunc: roiAlignGrad },
];

/**
 * Registers detkit's webgpu kernels (see {@link ADDED_WEBGPU_KERNELS}). Idempotent: returns the names it
 * registered this time.
 */
export function registerWebgpuKernels(): string[] {
  const added: string[] = [];
  for (const config of CONFIGS) {
    const existing = tf.getKernel(config.kernelName, 'webgpu') as (KernelConfig & { [MARK]?: boolean }) | undefined;
    if (existing?.[MARK]) continue;
    if (existing !== undefined) tf.unregisterKernel(config.kernelName, 'webgpu');
    tf.registerKernel({ ...config, [MARK]: true } as KernelConfig);
    added.push(config.kernelName);
  }
  return added;
}
