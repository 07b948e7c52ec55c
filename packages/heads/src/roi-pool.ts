import { InvalidArgumentError, assertFinite, callWasmKernel, numberOption, runTypedArrayKernel, tf, type TensorInput, type TypedArrayKernel } from '@detkit/core';
import { boxesInput, featuresInput, gridSize, imageIndexInput } from './internal';
import { headsWasm } from './wasm';
import { ROI_POOL_GRAD_KERNEL, ROI_POOL_KERNEL } from './kernel-names';

/** Options of {@link roiPool}. */
export interface RoiPoolOptions {
  /** Output bins `[height, width]` (or one number for both). Default `[7, 7]` (Fast R-CNN with VGG16). */
  outputSize?: number | readonly [number, number];
  /** Maps box coordinates (image pixels) to feature-map coordinates: 1 / stride. Default 1, as torchvision. */
  spatialScale?: number;
}

interface RoiPoolAttrs {
  pooledH: number;
  pooledW: number;
  spatialScale: number;
}

interface RoiPoolGradAttrs {
  pooledH: number;
  pooledW: number;
  featureShape: [number, number, number, number];
}

const roiPoolKernel: TypedArrayKernel<RoiPoolAttrs> = {
  kernelName: ROI_POOL_KERNEL,
  inputNames: ['features', 'boxes', 'boxImageIndex'],
  compute([features, boxes, index], a, ctx) {
    const [b, h, w, c] = features!.shape as [number, number, number, number];
    const k = boxes!.shape[0] as number;
    const out = ctx.output([k, a.pooledH, a.pooledW, c], 'float32');
    const argmax = ctx.output([k, a.pooledH, a.pooledW, c], 'int32');
    if (out.values.length === 0) return [out, argmax];
    callWasmKernel(
      headsWasm,
      ctx,
      { inputs: [features!.values, boxes!.values, index!.values], outputs: [out.values, argmax.values] },
      (wasm, p) =>
        wasm.roiPoolForward(p.inputs[0]!, b, h, w, c, p.inputs[1]!, p.inputs[2]!, k, a.pooledH, a.pooledW, a.spatialScale, p.outputs[0]!, p.outputs[1]!),
    );
    return [out, argmax];
  },
};

const roiPoolGradKernel: TypedArrayKernel<RoiPoolGradAttrs> = {
  kernelName: ROI_POOL_GRAD_KERNEL,
  inputNames: ['dy', 'argmax', 'boxImageIndex'],
  compute([dy, argmax, index], a, ctx) {
    const [b, h, w, c] = a.featureShape;
    const k = index!.shape[0] as number;
    const dx = ctx.output(a.featureShape, 'float32');
    if (dx.values.length === 0) return [dx];
    if (k === 0) {
      dx.values.fill(0);
      return [dx];
    }
    callWasmKernel(headsWasm, ctx, { inputs: [dy!.values, argmax!.values, index!.values], outputs: [dx.values] }, (wasm, p) =>
      wasm.roiPoolBackward(p.inputs[0]!, p.inputs[1]!, b, h, w, c, p.inputs[2]!, k, a.pooledH, a.pooledW, p.outputs[0]!),
    );
    return [dx];
  },
};

/**
 * RoI max pooling (Girshick 2015, Fast R-CNN): each box is rounded to feature-map cells and split into
 * `outputSize` bins, and each bin keeps the maximum per channel; matches `torchvision.ops.roi_pool`
 * (values and the gradient with respect to `features`). The walk-through's RoI pooling quantises the same
 * way (its adaptive max pool over `[y1 / 16 : y2 / 16 + 1]` crops); {@link roiAlign} avoids the
 * quantisation and is what torchvision's Faster R-CNN uses.
 *
 * Coordinates are rounded half away from zero (C's `round`) after scaling; a box smaller than one cell
 * counts as one cell; a bin that falls outside the map is 0. Ties keep the first maximum in row-major
 * order, which is where the gradient goes.
 *
 * Layout and differentiability as {@link roiAlign}: NHWC features, `[K, PH, PW, C]` output, a gradient
 * with respect to `features` on every backend (the forward kernel records each maximum's position), none
 * with respect to the boxes.
 *
 * Bounded work: the bins are clipped to the feature map, so a call costs at most about
 * K x (H + PH) x (W + PW) x C comparisons whatever the boxes' size (a 1e15-pixel box costs what a box over
 * the whole map does).
 *
 * @param features - Tensor[B, H, W, C], float32, NHWC; finite (a NaN or infinity is an
 *   `InvalidValueError` naming the image, when value checks are on).
 * @param boxes - Tensor[K, 4], float32, xyxy in image pixels.
 * @param boxImageIndex - Tensor[K], int32 image index of each box, in [0, B).
 * @returns Tensor[K, PH, PW, C], float32.
 */
export function roiPool(features: TensorInput, boxes: TensorInput, boxImageIndex: TensorInput, options: RoiPoolOptions = {}): tf.Tensor4D {
  const op = 'roiPool';
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(op, 'options', 'must be an object');
  const [pooledH, pooledW] = gridSize(op, 'outputSize', options.outputSize ?? [7, 7]);
  const spatialScale = Math.fround(numberOption(op, 'spatialScale', options.spatialScale ?? 1, { min: 0, minExclusive: true }));
  return tf.tidy(() => {
    const f = featuresInput(op, 'features', features);
    assertFinite(op, 'features', f);
    const b = boxesInput(op, 'boxes', boxes);
    const idx = imageIndexInput(op, 'boxImageIndex', boxImageIndex, b.shape[0], f.shape[0]);
    const featureShape = [...f.shape] as [number, number, number, number];
    const pool = tf.customGrad((x, save) => {
      const [value, argmax] = runTypedArrayKernel(roiPoolKernel, [x as tf.Tensor, b, idx], { pooledH, pooledW, spatialScale }) as [tf.Tensor4D, tf.Tensor];
      (save as tf.GradSaveFunc)([argmax, idx]);
      const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) =>
        runTypedArrayKernel(roiPoolGradKernel, [dy, saved[0]!, saved[1]!], { pooledH, pooledW, featureShape })[0] as tf.Tensor;
      return { value, gradFunc };
    });
    return pool(f) as tf.Tensor4D;
  });
}
