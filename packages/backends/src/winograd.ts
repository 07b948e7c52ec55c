/**
 * 3x3 stride-1 convolutions and both of their gradients by Winograd's minimal filtering, F(2x2, 3x3) (Lavin
 * & Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016; the algorithm cuDNN and oneDNN
 * offer for these layers): each 2 x 2 block of outputs costs 16 products per input and output channel
 * instead of 36, so the products, which are nearly all of a convolution's time, fall 2.25x, and the
 * transforms around them (additions, and halvings of the filter) are linear in the tensors. The filter
 * gradient is the same algorithm transposed, F(3x3, 2x2). Kernels in assembly/index.ts (`winograd*`); the
 * 16 products of each pass are split over the kernel threads like the direct kernels.
 *
 * The result is the convolution's to within float32 rounding, not bit for bit: the transforms add and
 * subtract up to four inputs before multiplying. Relative to the largest output, the difference from the
 * direct kernels measured 3e-7 to 2.3e-6 for forwards and input gradients and up to 8.7e-6 for filter
 * gradients summed over 25,600 tiles (the kernel tests hold it within 1e-5; see kernels.test.ts);
 * `tf.env().set('DETKIT_WINOGRAD', false)` runs the direct kernels instead (same bits as XNNPACK's).
 *
 * Applies to NHWC, dilation 1, 3x3 taps at stride 1, input and output channels multiples of 4, at least
 * 16 each and 1,024 multiplied, outputs of at least 2 x 2 (any padding: taps outside the input read zeros).
 */
import { tf } from '@detkit/core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { callAddress, runDeferred, runPhases, runsAhead, type Phase } from './deferred';
import { addressOf, gradientPartSize, type WasmBackend } from './wasm-backend';

/**
 * tfjs environment flag (default true): 3x3 stride-1 convolutions and their gradients by Winograd's
 * F(2x2, 3x3) where it applies; false runs detkit's direct kernels (XNNPACK's sums, bit for bit).
 */
export const WINOGRAD_FLAG = 'DETKIT_WINOGRAD';
tf.env().registerFlag(WINOGRAD_FLAG, () => true);

/**
 * Fewest input and output channels, and fewest of their product, for which the transforms pay for
 * themselves (measured on one thread: [16, 80, 80, 16] -> 16 ran 10.8 ms direct, 12.0 by Winograd;
 * [16, 16, 16, 64] -> 16 and every wider layer of the trainer's models ran faster by Winograd).
 */
const MIN_CHANNELS = 16;
const MIN_CHANNEL_PRODUCT = 1024;

/** True when {@link winogradConv2D} and the gradients below apply to this geometry. */
export function winogradApplies(info: tf.backend_util.Conv2DInfo): boolean {
  return (
    tf.env().getBool(WINOGRAD_FLAG) &&
    info.filterHeight === 3 && info.filterWidth === 3 &&
    info.strideHeight === 1 && info.strideWidth === 1 &&
    info.dilationHeight === 1 && info.dilationWidth === 1 &&
    info.inChannels % 4 === 0 && info.outChannels % 4 === 0 &&
    info.inChannels >= MIN_CHANNELS && info.outChannels >= MIN_CHANNELS &&
    info.inChannels * info.outChannels >= MIN_CHANNEL_PRODUCT &&
    info.outHeight >= 2 && info.outWidth >= 2
  );
}

/**
 * tfjs environment flag (default 16 Mi): bytes of transformed tiles (both operands of the products) held at
 * once. Larger layers go through in groups of tiles, so the scratch memory stays bounded whatever the image
 * size (the direct kernels need none; the transforms hold 16 / 4 = 4 times the tensors they read); every
 * layer of W8 and of the trainer's models fits one group. The results are the same bits for any group size.
 */
export const WINOGRAD_GROUP_BYTES_FLAG = 'DETKIT_WINOGRAD_GROUP_BYTES';
tf.env().registerFlag(WINOGRAD_GROUP_BYTES_FLAG, () => 16 * 1024 * 1024);

/** Tiles per group for operands of `c` and `k` channels (at least 4). */
function groupTiles(c: number, k: number): number {
  return Math.max(4, Math.floor(tf.env().getNumber(WINOGRAD_GROUP_BYTES_FLAG) / (16 * 4 * (c + k))));
}

/** Largest filter transform (bytes) run tile unit by tile unit ({@link UNIT_TILES} tiles at a time), see transformedConv. */
const FUSED_FILTER_BYTES = 512 * 1024;
/** Tiles per unit of the fused path: four blocks of the products' four rows. */
const UNIT_TILES = 16;

/** Floats of a transformed filter: 16 points of [rows, cols], cols padded to whole blocks of eight. */
function filterFloats(rows: number, cols: number): number {
  return 16 * rows * Math.ceil(cols / 8) * 8;
}

/**
 * The calls of out [n, outH, outW, k] = conv2d(x [n, h, w, c], the filter whose transform is `u` [16, c, k])
 * (+ bias, then ReLU), stride 1, the patch of tile (ty, tx) starting at input row 2ty - pt, column 2tx - pl:
 * `phases` to run in order, writing `y` through the `scratch` tensors. `xp`, `up`, `biasp`: the operands'
 * addresses (0: no bias).
 */
function transformedConv(
  backend: WasmBackend,
  x: TensorInfo,
  xp: number,
  up: number,
  k: number,
  pt: number,
  pl: number,
  outShape: number[],
  biasp: number,
  relu: boolean,
): { y: TensorInfo; phases: Phase[]; scratch: TensorInfo[] } {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const [, outH, outW] = outShape as [number, number, number, number];
  const tilesH = Math.ceil(outH / 2);
  const tilesW = Math.ceil(outW / 2);
  // Tiles are numbered over the batch; the kernels find each tile's image from its number.
  const tiles = n * tilesH * tilesW;
  const y = backend.makeOutput(outShape, 'float32');
  if (tiles === 0) return { y, phases: [], scratch: [] };
  const group = Math.min(tiles, groupTiles(c, k));
  // A filter transform that fits a core's L2 cache: one call, a few tiles at a time through all three steps
  // (one wait for the helpers instead of three; the tiles' transforms stay in cache). A larger one: each
  // step over the whole group, so that each point's filter is read once per block of four tiles.
  const fused = 16 * c * k * 4 <= FUSED_FILTER_BYTES;
  // The fused path's scratch is laid out by units (see winogradConvUnits): the group rounded up to whole units.
  const scratchTiles = fused ? Math.ceil(group / UNIT_TILES) * UNIT_TILES : group;
  const v = backend.makeOutput([16 * scratchTiles * c], 'float32');
  const m = backend.makeOutput([16 * scratchTiles * k], 'float32');
  const [vp, mp, yp] = [v, m, y].map((t) => addressOf(backend, t)) as [number, number, number];
  const phases: Phase[] = [];
  for (let first = 0; first < tiles; first += group) {
    const count = Math.min(group, tiles - first);
    if (fused) {
      const args = [xp, first, count, h, w, c, pt, pl, tilesH, tilesW, vp, up, k, mp, outH, outW, biasp, relu ? 1 : 0, yp, UNIT_TILES];
      phases.push({ kernel: 'winogradConvUnits', args, total: Math.ceil(count / UNIT_TILES), align: 1, work: 16 * count * c * k });
      continue;
    }
    phases.push({ kernel: 'winogradInput', args: [xp, first, count, h, w, c, pt, pl, tilesH, tilesW, vp], total: count, align: 1, work: 16 * count * c });
    phases.push({ kernel: 'winogradProducts', args: [vp, up, count, c, k, mp], total: 16 * Math.ceil(count / 4), align: 1, work: 16 * count * c * k });
    phases.push({ kernel: 'winogradOutput', args: [mp, first, count, tilesH, tilesW, k, outH, outW, biasp, relu ? 1 : 0, yp], total: count, align: 1, work: 16 * count * k });
  }
  return { y, phases, scratch: [v, m] };
}

/** The call transforming the filter [3, 3, c, co] at `filterp` into `u` (`turn`: for the input gradient, turned with its channels swapped). */
function transformFilter(backend: WasmBackend, filter: TensorInfo, filterp: number, turn: boolean): { u: TensorInfo; phase: Phase } {
  const [, , c, co] = filter.shape as [number, number, number, number];
  const u = backend.makeOutput([turn ? filterFloats(co, c) : filterFloats(c, co)], 'float32');
  return { u, phase: { kernel: 'winogradFilter', args: [filterp, c, co, turn ? 1 : 0, addressOf(backend, u)], total: c, align: 1, work: 16 * c * co } };
}

/**
 * y [n, oh, ow, co] = conv2d(x, filter) (+ bias, then ReLU when `relu`), x [n, h, w, c] and filter
 * [3, 3, c, co] float32, for a geometry {@link winogradApplies} accepts. Queued where the backend runs
 * ahead (./deferred).
 */
export function winogradConv2D(backend: WasmBackend, x: TensorInfo, filter: TensorInfo, bias: TensorInfo | undefined, info: tf.backend_util.Conv2DInfo, relu: boolean): TensorInfo {
  const ahead = runsAhead(backend);
  const address = (t: TensorInfo) => callAddress(backend, t, ahead);
  const { u, phase } = transformFilter(backend, filter, address(filter), false);
  const outShape = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
  const conv = transformedConv(backend, x, address(x), addressOf(backend, u), info.outChannels, info.padInfo.top, info.padInfo.left, outShape, bias === undefined ? 0 : address(bias), relu);
  const reads = bias === undefined ? [x, filter] : [x, filter, bias];
  runPhases(backend, [phase, ...conv.phases], { outputs: [conv.y], reads, scratch: [u, ...conv.scratch] }, ahead);
  return conv.y;
}

/**
 * dx [n, h, w, c] of a conv2d, from dy [n, oh, ow, co] and the filter: the stride-1 convolution of dy with
 * the filter turned by 180 degrees and its channel axes swapped, padded by 2 - pad on each side.
 */
export function winogradInputGrad(backend: WasmBackend, dy: TensorInfo, filter: TensorInfo, info: tf.backend_util.Conv2DInfo): TensorInfo {
  const ahead = runsAhead(backend);
  const { u, phase } = transformFilter(backend, filter, callAddress(backend, filter, ahead), true);
  const outShape = [info.batchSize, info.inHeight, info.inWidth, info.inChannels];
  const conv = transformedConv(backend, dy, callAddress(backend, dy, ahead), addressOf(backend, u), info.inChannels, 2 - info.padInfo.top, 2 - info.padInfo.left, outShape, 0, false);
  runPhases(backend, [phase, ...conv.phases], { outputs: [conv.y], reads: [dy, filter], scratch: [u, ...conv.scratch] }, ahead);
  return conv.y;
}

/** Bytes of one part's transformed operands (v and d) in a filter gradient summed by parts: within L2. */
const PART_GROUP_BYTES = 256 * 1024;

/**
 * dW [3, 3, c, co] of a conv2d, from x [n, h, w, c] and dy [n, oh, ow, co]: F(3x3, 2x2) over 2 x 2 blocks
 * of dy, each with the 4 x 4 patch of x its taps read, the 16 products summed over the blocks in order.
 * Enough tiles are summed by parts (`winogradGradParts`, see gradientPartSize): each part's transforms and
 * products in cache-sized groups on one thread, into its own 16 products, added in part order by
 * `columnSums`; split by points instead, each thread streamed the group's transforms from memory.
 */
export function winogradFilterGrad(backend: WasmBackend, x: TensorInfo, dy: TensorInfo, filterShape: number[], info: tf.backend_util.Conv2DInfo): TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, outChannels: co } = info;
  const dw = backend.makeOutput(filterShape, 'float32');
  const tilesH = Math.ceil(oh / 2);
  const tilesW = Math.ceil(ow / 2);
  const tiles = n * tilesH * tilesW;
  const ahead = runsAhead(backend);
  const perPart = gradientPartSize(tiles, 1, 16 * c * co);
  if (perPart < tiles) {
    const parts = Math.ceil(tiles / perPart);
    const group = Math.min(perPart, Math.max(4, Math.floor(PART_GROUP_BYTES / (16 * 4 * (c + co)))));
    const scratch = backend.makeOutput([parts * 16 * group * (c + co)], 'float32');
    const products = backend.makeOutput([parts, 16 * c * co], 'float32');
    const m = backend.makeOutput([16 * c * co], 'float32');
    const [xp, dyp] = [x, dy].map((t) => callAddress(backend, t, ahead)) as [number, number];
    const [sp, pp, mp] = [scratch, products, m].map((t) => addressOf(backend, t)) as [number, number, number];
    const args = [xp, dyp, tiles, perPart, group, h, w, c, info.padInfo.top, info.padInfo.left, tilesH, tilesW, oh, ow, co, sp, pp];
    runDeferred(
      backend,
      [
        { kernel: 'winogradGradParts', args, total: parts, align: 1, work: 16 * tiles * c * co },
        { kernel: 'columnSums', args: [pp, parts, 16 * c * co, mp], total: 16 * c * co, align: 16, work: parts * 16 * c * co },
        { kernel: 'winogradFilterGradOutput', args: [mp, c, co, addressOf(backend, dw)], total: c, align: 1, work: 16 * c * co },
      ],
      { outputs: [dw], reads: [x, dy], scratch: [scratch, products, m] },
    );
    return dw;
  }
  const group = Math.min(tiles, groupTiles(c, co));
  const v = backend.makeOutput([16 * group * c], 'float32');
  const d = backend.makeOutput([16 * group * co], 'float32');
  const m = backend.makeOutput([16 * c * co], 'float32');
  const [xp, dyp] = [x, dy].map((t) => callAddress(backend, t, ahead)) as [number, number];
  const [vp, dp, mp] = [v, d, m].map((t) => addressOf(backend, t)) as [number, number, number];
  const phases: Phase[] = [];
  // Group after group, the products continue the same sums in the same order (tiles in order).
  for (let first = 0; first < tiles; first += group) {
    const count = Math.min(group, tiles - first);
    const transforms = [xp, dyp, first, count, h, w, c, info.padInfo.top, info.padInfo.left, tilesH, tilesW, vp, oh, ow, co, dp];
    phases.push({ kernel: 'winogradGradTransforms', args: transforms, total: count, align: 1, work: 16 * count * (c + co) });
    phases.push({ kernel: 'winogradGradProducts', args: [vp, dp, count, c, co, first === 0 ? 0 : 1, mp], total: 16 * (c / 4), align: 1, work: 16 * count * c * co });
  }
  phases.push({ kernel: 'winogradFilterGradOutput', args: [mp, c, co, addressOf(backend, dw)], total: c, align: 1, work: 16 * c * co });
  // Behind the step (./deferred): the optimizer is the first to read dW.
  runDeferred(backend, phases, { outputs: [dw], reads: [x, dy], scratch: [v, d, m] });
  return dw;
}
