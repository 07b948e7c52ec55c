import { InvalidArgumentError, callWasmKernel, runTypedArrayKernel, tf, type TensorInput, type TypedArrayKernel } from '@detkit/core';
import { boxesInput, featuresInput, gridSize, imageIndexInput, positiveNumber } from './internal';
import { headsWasm } from './wasm';

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

interface RoiAlignAttrs {
  pooledH: number;
  pooledW: number;
  spatialScale: number;
  samplingRatio: number;
  aligned: boolean;
}

interface RoiAlignGradAttrs extends RoiAlignAttrs {
  featureShape: [number, number, number, number];
}

const roiAlignKernel: TypedArrayKernel<RoiAlignAttrs> = {
  kernelName: 'DetkitRoiAlign',
  inputNames: ['features', 'boxes', 'boxImageIndex'],
  compute([features, boxes, index], a, ctx) {
    const [b, h, w, c] = features!.shape as [number, number, number, number];
    const k = boxes!.shape[0] as number;
    const out = ctx.output([k, a.pooledH, a.pooledW, c], 'float32');
    if (out.values.length === 0) return [out];
    callWasmKernel(headsWasm, ctx, { inputs: [features!.values, boxes!.values, index!.values], outputs: [out.values] }, (wasm, p) =>
      wasm.roiAlignForward(p.inputs[0]!, b, h, w, c, p.inputs[1]!, p.inputs[2]!, k, a.pooledH, a.pooledW, a.spatialScale, a.samplingRatio, a.aligned, p.outputs[0]!),
    );
    return [out];
  },
};

const roiAlignGradKernel: TypedArrayKernel<RoiAlignGradAttrs> = {
  kernelName: 'DetkitRoiAlignGrad',
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
    callWasmKernel(headsWasm, ctx, { inputs: [dy!.values, boxes!.values, index!.values], outputs: [dx.values] }, (wasm, p) =>
      wasm.roiAlignBackward(p.inputs[0]!, b, h, w, c, p.inputs[1]!, p.inputs[2]!, k, a.pooledH, a.pooledW, a.spatialScale, a.samplingRatio, a.aligned, p.outputs[0]!),
    );
    return [dx];
  },
};

function checkOptions(op: string, options: RoiAlignOptions): RoiAlignAttrs {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(op, 'options', 'must be an object');
  const [pooledH, pooledW] = gridSize(op, 'outputSize', options.outputSize ?? [7, 7]);
  const spatialScale = positiveNumber(op, 'spatialScale', options.spatialScale ?? 1);
  const samplingRatio = options.samplingRatio ?? -1;
  if (!Number.isInteger(samplingRatio)) throw new InvalidArgumentError(op, 'samplingRatio', `must be an integer, got ${String(samplingRatio)}`);
  const aligned = options.aligned ?? false;
  if (typeof aligned !== 'boolean') throw new InvalidArgumentError(op, 'aligned', `must be a boolean, got ${String(aligned)}`);
  // torchvision computes in float32 with spatial_scale cast to float.
  return { pooledH, pooledW, spatialScale: Math.fround(spatialScale), samplingRatio: Math.max(samplingRatio, 0), aligned };
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
 * @param features - Tensor[B, H, W, C], float32, NHWC feature maps of B images.
 * @param boxes - Tensor[K, 4], float32, xyxy in image pixels (scaled by `spatialScale` onto the map);
 *   boxes may extend past the map (samples outside [-1, H] x [-1, W] count as 0, as in torchvision).
 * @param boxImageIndex - Tensor[K], int32: the image (0..B-1) each box belongs to (torchvision's first
 *   column of its `[K, 5]` rois).
 * @returns Tensor[K, PH, PW, C], float32. K = 0 gives `[0, PH, PW, C]`.
 */
export function roiAlign(features: TensorInput, boxes: TensorInput, boxImageIndex: TensorInput, options: RoiAlignOptions = {}): tf.Tensor4D {
  const op = 'roiAlign';
  const attrs = checkOptions(op, options);
  return tf.tidy(() => {
    const f = featuresInput(op, 'features', features);
    const b = boxesInput(op, 'boxes', boxes);
    const idx = imageIndexInput(op, 'boxImageIndex', boxImageIndex, b.shape[0], f.shape[0]);
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
