/**
 * `Conv2D` and `FusedConv2D` for tfjs-backend-wasm, as detkit's direct kernel (`convForward`: x read at
 * each tap where it lies, four output pixels by eight output channels per SIMD tile, split over the
 * kernel threads by output rows), the same sums in the same order as XNNPACK's (accumulators start at the
 * bias; taps, then input channels, in order). XNNPACK runs the convolution on its own thread pool, whose
 * threads spin between calls and compete with detkit's kernel threads for the cores; this kernel shares
 * the kernel threads with the convolution's gradients. NHWC with dilation 1, no bias or a bias of one value
 * per output channel, a linear or ReLU activation (any number of output channels: the last ones that do not
 * fill a vector, one at a time, in the same order); anything else runs tfjs-backend-wasm's kernel.
 */
import { tf } from '@detkit/core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { addressOf, convGeometry, nhwcConvInfo, replacing, type WasmBackend } from './wasm-backend';
import { callAddress, runDeferred, runPhases, runsAhead, type Phase } from './deferred';
import { winogradApplies, winogradConv2D } from './winograd';

interface Conv2DAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  activation?: string;
}

function isOne(value: number | [number, number] | undefined): boolean {
  return value === undefined || (Array.isArray(value) ? value.every((v) => v === 1) : value === 1);
}

/** y = activation(conv2d(x, filter) + bias) with detkit's kernel, or undefined where it does not apply. */
function direct(backend: WasmBackend, x: TensorInfo, filter: TensorInfo, bias: TensorInfo | undefined, attrs: Conv2DAttrs): TensorInfo | undefined {
  const activation = attrs.activation ?? 'linear';
  if (attrs.dataFormat === 'NCHW' || !isOne(attrs.dilations) || (activation !== 'linear' && activation !== 'relu')) return undefined;
  if (x.dtype !== 'float32' || filter.dtype !== 'float32' || x.shape.length !== 4) return undefined;
  const outC = filter.shape[3]!;
  if (bias !== undefined && (bias.dtype !== 'float32' || tf.util.sizeFromShape(bias.shape) !== outC)) return undefined;
  const info = nhwcConvInfo(x.shape, filter.shape, attrs);
  if (winogradApplies(info)) return winogradConv2D(backend, x, filter, bias, info, activation === 'relu');
  return convForward(backend, x, filter, bias, convGeometry(info), activation === 'relu');
}

/** Where {@link convForward} writes: a new tensor, or every `step`-th pixel of an existing NHWC map. */
export interface ConvOutput {
  /** The map written into, [n, H, W, co]. */
  into: TensorInfo;
  /** Offset of output pixel (0, 0), in pixels of `into`: row * W + column. */
  offset: number;
  /** Rows and columns of `into` between consecutive output pixels. */
  step: [number, number];
}

/**
 * The `convForward` call of y [n, oh, ow, co] = conv2d(x, filter) (+ bias, then ReLU when `relu`), for any
 * geometry (`convGeometry`'s order: n, h, w, c, kh, kw, strideH, strideW, padTop, padLeft, oh, ow; the pads
 * may exceed the taps or be negative, as in a convolution's input gradient). x, filter and bias are float32;
 * `filter` [kh, kw, c, co]. Writes a new tensor `y`, or into `output`'s map (then `y` is that map). A large
 * filter is packed first (`packColumns`, into `scratch`). `ahead`: the calls will be queued (./deferred), so
 * the operands are looked up without waiting for a pending job.
 */
export function convForwardCall(
  backend: WasmBackend,
  x: TensorInfo,
  filter: TensorInfo,
  bias: TensorInfo | undefined,
  geometry: readonly number[],
  relu: boolean,
  output: ConvOutput | undefined,
  ahead: boolean,
): { y: TensorInfo; phases: Phase[]; scratch: TensorInfo[] } {
  const [n, , , c, kh, kw, , , , , oh, ow] = geometry as [number, number, number, number, number, number, number, number, number, number, number, number];
  const outC = filter.shape[3]!;
  const y = output?.into ?? backend.makeOutput([n, oh, ow, outC], 'float32');
  const rows = n * oh;
  if (rows * ow * outC === 0) return { y, phases: [], scratch: [] };
  const pixel = outC * 4;
  let strides = [oh * ow * pixel, ow * pixel, pixel];
  let base = addressOf(backend, y);
  if (output !== undefined) {
    const [, mapH, mapW] = y.shape as [number, number, number, number];
    strides = [mapH * mapW * pixel, output.step[0] * mapW * pixel, output.step[1] * pixel];
    base += output.offset * pixel;
  }
  const filterRows = kh * kw * c;
  const pack = packsFilter(filterRows, outC);
  const phases: Phase[] = [];
  let weights = filter;
  if (pack) {
    const blocks = Math.ceil(outC / 8);
    weights = backend.makeOutput([blocks * filterRows * 8], 'float32');
    phases.push({ kernel: 'packColumns', args: [callAddress(backend, filter, ahead), filterRows, outC, addressOf(backend, weights)], total: blocks, align: 1, work: blocks * filterRows * 8 });
  }
  const args = [callAddress(backend, x, ahead), ...geometry, callAddress(backend, weights, ahead), outC, pack ? 1 : 0, bias === undefined ? 0 : callAddress(backend, bias, ahead), relu ? 1 : 0, base, ...strides];
  phases.push({ kernel: 'convForward', args, total: rows, align: 1, work: rows * ow * outC * filterRows });
  return { y, phases, scratch: pack ? [weights] : [] };
}

/**
 * y [n, oh, ow, co] = conv2d(x, filter) (+ bias, then ReLU when `relu`) with detkit's `convForward` kernel, a
 * new tensor (see {@link convForwardCall}), queued where the backend runs ahead (./deferred); `behind`: a
 * weight gradient, computed behind the step.
 */
export function convForward(backend: WasmBackend, x: TensorInfo, filter: TensorInfo, bias: TensorInfo | undefined, geometry: readonly number[], relu: boolean, behind = false): TensorInfo {
  const ahead = runsAhead(backend);
  const { y, phases, scratch } = convForwardCall(backend, x, filter, bias, geometry, relu, undefined, ahead);
  const tensors = { outputs: [y], reads: bias === undefined ? [x, filter] : [x, filter, bias], scratch };
  if (behind && phases.length > 0) runDeferred(backend, phases, tensors);
  else runPhases(backend, phases, tensors, ahead);
  return y;
}

/**
 * tfjs environment flag (default 64 Ki): filters of more bytes are packed (packColumns in assembly/index.ts)
 * before the convolution, so that their rows are read 32 contiguous bytes at a time instead of 32 bytes
 * every `co * 4`: W8's 4.6 MB RPN filter 60 -> 39 ms, the same bits; smaller filters gain nothing. 0 packs
 * every filter (tests).
 */
export const PACK_MIN_BYTES_FLAG = 'DETKIT_PACK_MIN_BYTES';
tf.env().registerFlag(PACK_MIN_BYTES_FLAG, () => 64 * 1024);

/** Whether {@link convForwardCall} packs a filter of `rows` x `columns` floats first (see PACK_MIN_BYTES_FLAG). */
export function packsFilter(rows: number, columns: number): boolean {
  return rows * columns * 4 > tf.env().getNumber(PACK_MIN_BYTES_FLAG);
}

/** Wraps tfjs-backend-wasm's `Conv2D` (`original`): detkit's kernel where it applies, the original elsewhere. */
export function directConv2DConfig(original: KernelConfig): KernelConfig {
  const base: KernelFunc = original.kernelFunc;
  return replacing(original, (args) => {
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
    // Conv2D has no activation: whatever the attributes say, none is applied.
    return direct(args.backend as WasmBackend, x, filter, undefined, { ...(args.attrs as unknown as Conv2DAttrs), activation: 'linear' }) ?? base(args);
  });
}

/** Wraps tfjs-backend-wasm's `FusedConv2D` (`original`): detkit's kernel for a bias and a linear or ReLU activation. */
export function directFusedConv2DConfig(original: KernelConfig): KernelConfig {
  const base: KernelFunc = original.kernelFunc;
  return replacing(original, (args) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as { x: TensorInfo; filter: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo };
    if (preluActivationWeights !== undefined && preluActivationWeights !== null) return base(args);
    return direct(args.backend as WasmBackend, x, filter, bias ?? undefined, args.attrs as unknown as Conv2DAttrs) ?? base(args);
  });
}
