import { InvalidArgumentError, InvalidValueError, assertFinite, callWasmKernel, integerOption, numberOption, peekValues, runTypedArrayKernel, tf, type TensorInput, type TypedArrayKernel } from '@detkit/core';
import { boxesInput, featuresInput, gridSize, imageIndexInput } from './internal';
import { headsWasm, ROI_ALIGN_SCRATCH_BYTES } from './wasm';
import { ROI_ALIGN_GRAD_KERNEL, ROI_ALIGN_KERNEL, type RoiAlignGradKernelAttrs, type RoiAlignKernelAttrs } from './kernel-names';

/** Options of {@link roiAlign}. */
export interface RoiAlignOptions {
  /** Output bins `[height, width]` (or one number for both). Default `[7, 7]` (Faster R-CNN's box head). */
  outputSize?: number | readonly [number, number];
  /**
   * Maps box coordinates (image pixels) to feature-map coordinates: 1 / stride, e.g. 1 / 16 for VGG16's
   * conv5_3 (the walk-through) or 1 / 32 for a ResNet C5. Default 1, as torchvision.
   */
  spatialScale?: number;
  /**
   * Sample points per bin side. `> 0`: exactly that many (2 in torchvision's Faster R-CNN and
   * Detectron2); `<= 0`: adaptive, `ceil(roiHeight / outputHeight)` (likewise for the width), torchvision's
   * default (-1).
   */
  samplingRatio?: number;
  /**
   * Shift the box by -0.5 feature cells before sampling (`true`, Detectron2's `ROIAlignV2` and the
   * geometrically correct choice), or use the legacy Mask R-CNN sampling that also forces boxes to at
   * least 1 x 1 cells (`false`, torchvision's default).
   */
  aligned?: boolean;
}

/**
 * Most sampling points one bin may average: 65,536 (a 256 x 256 lattice). With adaptive sampling
 * (`samplingRatio <= 0`) a bin takes ceil(roiHeight / outputHeight) x ceil(roiWidth / outputWidth) points,
 * so a box over 1,792 feature cells on a side with a 7 x 7 output is beyond it (torchvision would spend
 * minutes on it: the points past the map still cost a test each). A fixed `samplingRatio` may be at most
 * 256.
 */
export const ROI_ALIGN_MAX_SAMPLES_PER_BIN = 65_536;

/**
 * Most work one {@link roiAlign} call may do: sampling points over every box and bin, times channels,
 * 2^33 (about 8.6e9 bilinear taps per channel lane, tens of seconds on one core). Faster R-CNN's box
 * head (512 RoIs x 7 x 7 bins x 2 x 2 points x 256 channels) is 2.6e7.
 */
export const ROI_ALIGN_MAX_WORK = 2 ** 33;

const roiAlignKernel: TypedArrayKernel<RoiAlignKernelAttrs> = {
  kernelName: ROI_ALIGN_KERNEL,
  inputNames: ['features', 'boxes', 'boxImageIndex'],
  compute([features, boxes, index], a, ctx) {
    const [b, h, w, c] = features!.shape as [number, number, number, number];
    const k = boxes!.shape[0] as number;
    const out = ctx.output([k, a.pooledH, a.pooledW, c], 'float32');
    if (out.values.length === 0) return [out];
    // Split by box (each writes its own outputs; ROI_ALIGN_SCRATCH_BYTES of scratch per box).
    callWasmKernel(headsWasm, ctx, { inputs: [features!.values, boxes!.values, index!.values], outputs: [out.values], scratchBytes: k * ROI_ALIGN_SCRATCH_BYTES }, (_, p) =>
      p.split('roiAlignForward', alignArgs(p.inputs[0]!, [b, h, w, c], p.inputs[1]!, p.inputs[2]!, k, a, p.outputs[0]!, p.scratch), k, 1, samplingWork(k, c, a)),
    );
    return [out];
  },
};

const roiAlignGradKernel: TypedArrayKernel<RoiAlignGradKernelAttrs> = {
  kernelName: ROI_ALIGN_GRAD_KERNEL,
  inputNames: ['dy', 'boxes', 'boxImageIndex'],
  compute([dy, boxes, index], a, ctx) {
    const [b, h, w, c] = a.featureShape;
    const k = boxes!.shape[0] as number;
    const dx = ctx.output(a.featureShape, 'float32');
    if (dx.values.length === 0) return [dx];
    if (k === 0) {
      dx.values.fill(0);
      return [dx];
    }
    // Split by image (a box scatters into its own image only; ROI_ALIGN_SCRATCH_BYTES of scratch per image).
    callWasmKernel(headsWasm, ctx, { inputs: [dy!.values, boxes!.values, index!.values], outputs: [dx.values], scratchBytes: b * ROI_ALIGN_SCRATCH_BYTES }, (_, p) =>
      p.split('roiAlignBackward', alignArgs(p.inputs[0]!, [b, h, w, c], p.inputs[1]!, p.inputs[2]!, k, a, p.outputs[0]!, p.scratch), b, 1, b * h * w * c + samplingWork(k, c, a)),
    );
    return [dx];
  },
};

const bits = new Int32Array(1);
const bitsAsFloat = new Float32Array(bits.buffer);

/** The int32 arguments of roiAlignForward and roiAlignBackward (assembly/index.ts) before their range: the scale as its float32 bits. */
function alignArgs(values: number, [b, h, w, c]: readonly number[], boxes: number, index: number, k: number, a: RoiAlignKernelAttrs, out: number, scratch: number): number[] {
  bitsAsFloat[0] = a.spatialScale;
  return [values, b!, h!, w!, c!, boxes, index, k, a.pooledH, a.pooledW, bits[0]!, a.samplingRatio, a.aligned ? 1 : 0, out, scratch];
}

/**
 * Bilinear taps of a RoIAlign call, channels included (k boxes x bins x sampling points x c): its work for
 * `WasmPointers.split`. With adaptive sampling the lattice depends on each box's size; 4 points per bin
 * (torchvision's Faster R-CNN) stands in for it.
 */
function samplingWork(k: number, c: number, a: RoiAlignKernelAttrs): number {
  const points = a.samplingRatio > 0 ? a.samplingRatio * a.samplingRatio : 4;
  return k * a.pooledH * a.pooledW * points * c;
}

function checkOptions(op: string, options: RoiAlignOptions): RoiAlignKernelAttrs {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(op, 'options', 'must be an object');
  const [pooledH, pooledW] = gridSize(op, 'outputSize', options.outputSize ?? [7, 7]);
  const spatialScale = numberOption(op, 'spatialScale', options.spatialScale ?? 1, { min: 0, minExclusive: true });
  const samplingRatio = integerOption(op, 'samplingRatio', options.samplingRatio ?? -1);
  if (samplingRatio * samplingRatio > ROI_ALIGN_MAX_SAMPLES_PER_BIN) {
    throw new InvalidArgumentError(
      op,
      'samplingRatio',
      `must be <= ${Math.sqrt(ROI_ALIGN_MAX_SAMPLES_PER_BIN)} (at most ROI_ALIGN_MAX_SAMPLES_PER_BIN = ${ROI_ALIGN_MAX_SAMPLES_PER_BIN} points per bin), got ${samplingRatio}`,
    );
  }
  const aligned = options.aligned ?? false;
  if (typeof aligned !== 'boolean') throw new InvalidArgumentError(op, 'aligned', `must be a boolean, got ${String(aligned)}`);
  // torchvision computes in float32 with spatial_scale cast to float.
  return { pooledH, pooledW, spatialScale: Math.fround(spatialScale), samplingRatio: Math.max(samplingRatio, 0), aligned };
}

/**
 * Checks the sampling work of each box before the kernels run, with the kernels' float32 geometry
 * (`alignGeometry` in assembly/index.ts): at most {@link ROI_ALIGN_MAX_SAMPLES_PER_BIN} points per bin,
 * and at most {@link ROI_ALIGN_MAX_WORK} points x channels in all. Always runs: it bounds the time a call
 * can take (boxes are read in place on cpu and wasm).
 */
function checkSamplingWork(op: string, boxes: tf.Tensor, channels: number, a: RoiAlignKernelAttrs): void {
  const v = peekValues(boxes);
  const f = Math.fround;
  const offset = a.aligned ? 0.5 : 0;
  const bins = a.pooledH * a.pooledW;
  let work = 0;
  for (let r = 0; r < v.length / 4; r++) {
    let roiW = f(f(f((v[4 * r + 2] as number) * a.spatialScale) - offset) - f(f((v[4 * r] as number) * a.spatialScale) - offset));
    let roiH = f(f(f((v[4 * r + 3] as number) * a.spatialScale) - offset) - f(f((v[4 * r + 1] as number) * a.spatialScale) - offset));
    if (!a.aligned) {
      roiW = Math.max(roiW, 1);
      roiH = Math.max(roiH, 1);
    }
    const gridH = a.samplingRatio > 0 ? a.samplingRatio : Math.ceil(f(roiH / a.pooledH));
    const gridW = a.samplingRatio > 0 ? a.samplingRatio : Math.ceil(f(roiW / a.pooledW));
    const points = gridH * gridW;
    if (!(points <= ROI_ALIGN_MAX_SAMPLES_PER_BIN)) {
      throw new InvalidValueError(
        op,
        'boxes',
        `has a box of ${roiH} x ${roiW} feature cells (after spatialScale), whose adaptive sampling (samplingRatio <= 0) takes ` +
          `${gridH} x ${gridW} points per bin, more than ROI_ALIGN_MAX_SAMPLES_PER_BIN (${ROI_ALIGN_MAX_SAMPLES_PER_BIN}); pass a samplingRatio > 0`,
        r,
      );
    }
    work += bins * Math.max(points, 1) * channels;
  }
  if (work > ROI_ALIGN_MAX_WORK) {
    throw new InvalidArgumentError(op, 'boxes', `need ${work} sampling points x channels in all, more than ROI_ALIGN_MAX_WORK (2^33); split the boxes over several calls or lower samplingRatio`);
  }
}

/**
 * RoIAlign (He et al. 2017, Mask R-CNN): average of bilinearly interpolated features at a regular
 * lattice of points in each of `outputSize` bins of every box; matches `torchvision.ops.roi_align`
 * (values and the gradient with respect to `features`, within 1e-5).
 *
 * Layout: detkit's feature maps are NHWC (`[B, H, W, C]`, tfjs's native layout); torchvision's are NCHW.
 * A torchvision output `[K, C, PH, PW]` is this function's `[K, PH, PW, C]` transposed. The walk-through's
 * 128 RoIs on a `[1, 512, 50, 50]` VGG16 map give `[128, 512, 7, 7]` there and `[128, 7, 7, 512]` here.
 *
 * Differentiable with respect to `features` on every backend: a fused forward kernel and a fused
 * scatter-add backward (both WebAssembly SIMD over the channels) joined by `tf.customGrad`; on cpu the
 * same wasm code runs over copies, on GPU-class backends over a download. As in torchvision there is no
 * gradient with respect to the boxes (asking `tf.grad` for one throws).
 *
 * @param features - Tensor[B, H, W, C], float32, NHWC feature maps of B images; finite (a NaN or infinity
 *   is an `InvalidValueError` naming the image, when value checks are on).
 * @param boxes - Tensor[K, 4], float32, xyxy in image pixels (scaled by `spatialScale` onto the map);
 *   boxes may extend past the map (samples outside [-1, H] x [-1, W] count as 0, as in torchvision).
 * @param boxImageIndex - Tensor[K], int32: the image (0..B-1) each box belongs to (torchvision's first
 *   column of its `[K, 5]` rois).
 * Bounded work: a bin averages at most {@link ROI_ALIGN_MAX_SAMPLES_PER_BIN} (65,536) points (so
 * `samplingRatio` is at most 256, and adaptive sampling of a box more than 256 x `outputSize` feature cells
 * on a side is refused), and one call makes at most {@link ROI_ALIGN_MAX_WORK} (2^33) points x channels;
 * beyond either an `InvalidArgumentError` (`samplingRatio`, or `boxes` for the total) or
 * `InvalidValueError` (`boxes`, naming the row) is thrown before any work. Within the limits the adaptive
 * semantics are torchvision's. An empty feature map (H or W 0) gives zeros.
 *
 * @returns Tensor[K, PH, PW, C], float32. K = 0 gives `[0, PH, PW, C]`.
 * @throws ShapeError, InvalidValueError (NaN, infinite or beyond ±1e15 coordinates, x2 < x1, image indices
 *   that are not integers in [0, B), boxes beyond the sampling limit), InvalidArgumentError (options,
 *   total work).
 */
export function roiAlign(features: TensorInput, boxes: TensorInput, boxImageIndex: TensorInput, options: RoiAlignOptions = {}): tf.Tensor4D {
  const op = 'roiAlign';
  const attrs = checkOptions(op, options);
  return tf.tidy(() => {
    const f = featuresInput(op, 'features', features);
    assertFinite(op, 'features', f);
    const b = boxesInput(op, 'boxes', boxes);
    const idx = imageIndexInput(op, 'boxImageIndex', boxImageIndex, b.shape[0], f.shape[0]);
    checkSamplingWork(op, b, f.shape[3], attrs);
    const featureShape = [...f.shape] as [number, number, number, number];
    const align = tf.customGrad((x, save) => {
      (save as tf.GradSaveFunc)([b, idx]);
      const value = runTypedArrayKernel(roiAlignKernel, [x as tf.Tensor, b, idx], attrs)[0] as tf.Tensor4D;
      const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) =>
        runTypedArrayKernel(roiAlignGradKernel, [dy, saved[0]!, saved[1]!], { ...attrs, featureShape })[0] as tf.Tensor;
      return { value, gradFunc };
    });
    return align(f) as tf.Tensor4D;
  });
}
