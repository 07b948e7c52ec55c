/**
 * Conv2D gradients for tfjs-backend-wasm: tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter at all, and
 * its Conv2DBackpropInput is a scalar loop about ten times slower than its forward convolution.
 *
 * With P = n * oh * ow output pixels and K = kh * kw * inChannels taps:
 * - filter gradient: dW [K, outC] = cols^T dy, where cols [P, K] = im2col(x), summed directly by detkit's
 *   `filterGrad` kernel (x read at each tap where it lies, 4 x 8 SIMD tiles, split by rows of dW). It took
 *   a transposing im2col and an XNNPACK product before, which packs its right operand (dy) on one thread
 *   on every call: 2-3x slower on the trainer's layers, with the same sums in the same order (same bits).
 * - input gradient: where inChannels is a multiple of 4 and the taps are not 1x1, convolutions of dy with
 *   the filter turned by 180 degrees and its channel axes swapped, one per stride phase, by detkit's direct
 *   `convForward` kernel (./conv2d; see inputGradByPhases); otherwise dx = col2im(dy W^T) with one product
 *   (the BatchMatMul kernel registered for wasm), W^T [outC, K] being the (small) transposed filter.
 */
import type { tf } from '@detkit/core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { convForwardCall } from './conv2d';
import { callAddress, runDeferred, runPhases, runsAhead, type Phase } from './deferred';
import { winogradApplies, winogradFilterGrad, winogradInputGrad } from './winograd';
import { addressOf, convGeometry, disposeAll, gradientPartSize, kernelsFor, kernelThreadCount, nhwcConvInfo, runWasmKernel, transposeInfo, withShape, type WasmBackend } from './wasm-backend';

interface Conv2DBackpropAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

const NCHW_TO_NHWC = [0, 2, 3, 1];
const NHWC_TO_NCHW = [0, 3, 1, 2];

function toNhwc(shape: readonly number[]): number[] {
  return NCHW_TO_NHWC.map((axis) => shape[axis] as number);
}

/** True when im2col is the identity: 1x1 taps, stride 1, no padding. */
function isPointwise(info: tf.backend_util.Conv2DInfo): boolean {
  return info.filterHeight === 1 && info.filterWidth === 1 && info.strideHeight === 1 && info.strideWidth === 1 && info.padInfo.top === 0 && info.padInfo.left === 0;
}

function matMul(backend: WasmBackend, a: TensorInfo, b: TensorInfo): TensorInfo {
  return runWasmKernel(backend, 'BatchMatMul', { a, b }, { transposeA: false, transposeB: false });
}

/**
 * dW [kh, kw, inC, outC] of a conv2d, from x and dy (both NHWC here): detkit's direct kernel (`filterGrad`),
 * which sums x at each tap times dy where they lie, without an im2col copy or a packed operand, behind the
 * step (./deferred). A batch of several images is summed by parts (`filterGradParts`, see gradientPartSize:
 * whole images, each part its own [K, outC] sum, added in part order by `columnSums`), so that each thread
 * reads only its parts' x and dy; split by rows of dW instead, every chunk streamed all of dy from memory
 * (the SSD step's filter gradients took 1.6x their 1-thread CPU on 2 threads). One part is split by rows.
 */
function filterGradNhwc(backend: WasmBackend, x: TensorInfo, dy: TensorInfo, filterShape: number[], attrs: Conv2DBackpropAttrs): TensorInfo {
  const info = nhwcConvInfo(x.shape, filterShape, attrs);
  if (winogradApplies(info)) return winogradFilterGrad(backend, x, dy, filterShape, info);
  const n = info.batchSize;
  const p = n * info.outHeight * info.outWidth;
  const k = info.filterHeight * info.filterWidth * info.inChannels;
  const co = info.outChannels;
  const dw = backend.makeOutput(filterShape, 'float32');
  // Parts of whole 4-channel blocks where the channels allow it (the kernel's 4 x 8 tiles).
  const align = info.inChannels % 4 === 0 ? 4 : 1;
  const ahead = runsAhead(backend);
  const operands = [callAddress(backend, x, ahead), ...convGeometry(info), callAddress(backend, dy, ahead), co];
  const perPart = gradientPartSize(n, info.outHeight * info.outWidth, k * co);
  if (perPart >= n) {
    runDeferred(backend, [{ kernel: 'filterGrad', args: [...operands, addressOf(backend, dw)], total: k, align, work: p * k }], { outputs: [dw], reads: [x, dy], scratch: [] });
    return dw;
  }
  const parts = Math.ceil(n / perPart);
  // Bands of rows within a part where there are fewer parts than two per thread (no effect on the sums).
  const bandRows = Math.ceil(k / Math.max(1, Math.ceil((2 * kernelThreadCount(backend)) / parts)) / align) * align;
  const bands = Math.ceil(k / bandRows);
  const sums = backend.makeOutput([parts, k * co], 'float32');
  const args = [...operands, addressOf(backend, sums), perPart, bands, bandRows];
  runDeferred(
    backend,
    [
      { kernel: 'filterGradParts', args, total: parts * bands, align: 1, work: p * k },
      { kernel: 'columnSums', args: [addressOf(backend, sums), parts, k * co, addressOf(backend, dw)], total: k * co, align: 16, work: parts * k * co },
    ],
    { outputs: [dw], reads: [x, dy], scratch: [sums] },
  );
  return dw;
}

/**
 * dx by detkit's direct convolution, one phase at a time. Input row yi = sh * u + r gets, from tap i, dy row
 * y = (yi + pt - i) / sh, which is whole only for the taps i = i0 + sh * t with i0 = (r + pt) mod sh; then
 * y = u + q - t with q = floor((r + pt) / sh). So the rows of phase r are a stride-1 convolution of dy with
 * those taps turned (t from last to first), padded by (taps - 1 - q); the same for columns. Each of the
 * sh x sw phases is one `convForward` call writing every sh-th row and sw-th column of dx; at stride 1
 * there is one phase, the whole filter turned. Per element: taps from last to first, then dy's channels in
 * order (no XNNPACK product, no col2im scatter on one thread).
 */
function inputGradByPhases(backend: WasmBackend, dy: TensorInfo, filter: TensorInfo, inShape: number[], info: tf.backend_util.Conv2DInfo): TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const dx = backend.makeOutput(inShape, 'float32');
  const phase = (r: number, s: number, k: number, pad: number) => {
    const first = (r + pad) % s;
    return { first, taps: Math.max(0, Math.ceil((k - first) / s)), q: Math.floor((r + pad) / s) };
  };
  // Queued as one job where the backend runs ahead (./deferred), else run call by call.
  const ahead = runsAhead(backend);
  const calls: Phase[] = [];
  const scratch: TensorInfo[] = [];
  for (let r = 0; r < Math.min(sh, h); r++) {
    const rows = phase(r, sh, kh, pt);
    for (let rc = 0; rc < Math.min(sw, w); rc++) {
      const cols = phase(rc, sw, kw, pl);
      const turned = backend.makeOutput([Math.max(1, rows.taps), Math.max(1, cols.taps), co, c], 'float32');
      kernelsFor(backend).turnFilter(addressOf(backend, filter), kw, c, co, rows.first, cols.first, sh, sw, rows.taps, cols.taps, addressOf(backend, turned));
      turned.shape = [rows.taps, cols.taps, co, c];
      // A phase no tap reaches (taps 0: a filter smaller than the stride) is written as zeros.
      const geometry = [n, oh, ow, co, rows.taps, cols.taps, 1, 1, rows.taps - 1 - rows.q, cols.taps - 1 - cols.q, Math.ceil((h - r) / sh), Math.ceil((w - rc) / sw)];
      const call = convForwardCall(backend, dy, turned, undefined, geometry, false, { into: dx, offset: r * w + rc, step: [sh, sw] }, ahead);
      calls.push(...call.phases);
      scratch.push(turned, ...call.scratch);
    }
  }
  runPhases(backend, calls, { outputs: [dx], reads: [dy, filter], scratch }, ahead);
  return dx;
}

/** dx (NHWC, shape inShape) of a conv2d, from dy (NHWC) and the filter. */
function inputGradNhwc(backend: WasmBackend, dy: TensorInfo, filter: TensorInfo, inShape: number[], attrs: Conv2DBackpropAttrs): TensorInfo {
  const info = nhwcConvInfo(inShape, filter.shape, attrs);
  if (winogradApplies(info)) return winogradInputGrad(backend, dy, filter, info);
  if (!isPointwise(info) && info.inChannels % 4 === 0) return inputGradByPhases(backend, dy, filter, inShape, info);
  const p = info.batchSize * info.outHeight * info.outWidth;
  const k = info.filterHeight * info.filterWidth * info.inChannels;
  const outC = info.outChannels;
  const wT = transposeInfo(backend, withShape(filter, [1, k, outC]), [0, 2, 1]);
  const cols = matMul(backend, withShape(dy, [1, p, outC]), wT);
  disposeAll(backend, [wT]);
  if (isPointwise(info)) {
    cols.shape = inShape;
    return cols;
  }
  const dx = backend.makeOutput(inShape, 'float32');
  kernelsFor(backend).col2im(addressOf(backend, cols), ...convGeometry(info), addressOf(backend, dx));
  disposeAll(backend, [cols]);
  return dx;
}

/** `Conv2DBackpropFilter` for the wasm backend (tfjs-backend-wasm 4.22 has none). */
export const conv2dBackpropFilterConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const wasm = backend as WasmBackend;
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const a = attrs as unknown as Conv2DBackpropAttrs & { filterShape: number[] };
    if (a.dataFormat !== 'NCHW') return filterGradNhwc(wasm, x, dy, a.filterShape, a);
    const xt = transposeInfo(wasm, x, NCHW_TO_NHWC);
    const dyt = transposeInfo(wasm, dy, NCHW_TO_NHWC);
    const dw = filterGradNhwc(wasm, xt, dyt, a.filterShape, a);
    disposeAll(wasm, [xt, dyt]);
    return dw;
  },
};

/** `Conv2DBackpropInput` for the wasm backend, replacing tfjs-backend-wasm's scalar loop. */
export const conv2dBackpropInputConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const wasm = backend as WasmBackend;
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const a = attrs as unknown as Conv2DBackpropAttrs & { inputShape: number[] };
    if (a.dataFormat !== 'NCHW') return inputGradNhwc(wasm, dy, filter, [...a.inputShape], a);
    const dyt = transposeInfo(wasm, dy, NCHW_TO_NHWC);
    const dx = inputGradNhwc(wasm, dyt, filter, toNhwc(a.inputShape), a);
    const out = transposeInfo(wasm, dx, NHWC_TO_NCHW);
    disposeAll(wasm, [dyt, dx]);
    return out;
  },
};
