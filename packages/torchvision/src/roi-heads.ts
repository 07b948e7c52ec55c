import { multiScaleRoiAlign } from '@detkit/heads';
import { tf } from '@detkit/core';
import { linear, type BuildContext } from './layers';

/**
 * torchvision `TwoMLPHead(inChannels · resolution², representationSize)`: flatten each pooled box in
 * torch's order (channel, row, column), then `fc6` and `fc7`, each with ReLU.
 *
 * @returns Tensor[K, resolution, resolution, inChannels] (NHWC pooled boxes) → Tensor[K, representationSize].
 */
export function twoMlpHead(ctx: BuildContext, name: string, inChannels: number, resolution: number, representationSize: number): (x: tf.Tensor4D) => tf.Tensor2D {
  const fc6 = linear(ctx, `${name}.fc6`, inChannels * resolution * resolution, representationSize);
  const fc7 = linear(ctx, `${name}.fc7`, representationSize, representationSize);
  return (x) => {
    const flat = tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [x.shape[0], -1]) as tf.Tensor2D;
    return tf.relu(fc7(tf.relu(fc6(flat))));
  };
}

/**
 * torchvision `FastRCNNPredictor(inChannels, numClasses)`: class logits (`${name}.cls_score`) and per-class
 * deltas (`${name}.bbox_pred`, weights (10, 10, 5, 5)); both depend on the class count.
 *
 * @returns Tensor[K, inChannels] → class logits Tensor[K, numClasses] and deltas Tensor[K, 4 · numClasses].
 */
export function fastRcnnPredictor(ctx: BuildContext, name: string, inChannels: number, numClasses: number): (x: tf.Tensor2D) => { classLogits: tf.Tensor2D; boxRegression: tf.Tensor2D } {
  const cls = linear(ctx, `${name}.cls_score`, inChannels, numClasses, true);
  const box = linear(ctx, `${name}.bbox_pred`, inChannels, 4 * numClasses, true);
  return (x) => ({ classLogits: cls(x), boxRegression: box(x) });
}

/** Round half to even, as torch.round. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * torchvision `MultiScaleRoIAlign(featmap_names, output_size, sampling_ratio)` as `FasterRCNN` builds it
 * (`['0', '1', '2', '3']`, 7, 2): the levels named there (of those the backbone returns), @detkit/heads'
 * multiScaleRoiAlign. When all of them have the same inferred scale (the MobileNetV3 FPN's two stride-32
 * levels), torchvision's LevelMapper sends every box to the first, so that one is pooled alone.
 *
 * @param levels - The pyramid levels the box head may pool from, finest first, NHWC.
 * @param proposals - One Tensor[P_i, 4] (xyxy, transformed-image pixels) per image.
 * @param imageSizes - `[height, width]` of each transformed image before padding.
 * @returns Tensor[sum(P_i), 7, 7, C].
 */
export function boxRoiPool(levels: readonly tf.Tensor4D[], proposals: readonly tf.Tensor2D[], imageSizes: ReadonlyArray<readonly [number, number]>, outputSize: number, samplingRatio: number): tf.Tensor4D {
  return tf.tidy(() => {
    const imageHeight = Math.max(...imageSizes.map((s) => s[0]));
    const exponent = (f: tf.Tensor4D) => roundHalfEven(Math.fround(Math.log2(Math.fround(f.shape[1] / imageHeight))));
    const used = levels.every((f) => exponent(f) === exponent(levels[0]!)) ? levels.slice(0, 1) : levels;
    const boxes = tf.concat(proposals.map((p) => tf.reshape(p, [-1, 4])), 0) as tf.Tensor2D;
    const index = tf.tensor1d(proposals.flatMap((p, i) => Array.from({ length: p.shape[0] }, () => i)), 'int32');
    return multiScaleRoiAlign(used, boxes, index, { imageSizes: imageSizes as Array<[number, number]>, outputSize, samplingRatio });
  });
}
