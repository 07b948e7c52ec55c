import { generateMultiLevelAnchors, type MultiLevelAnchors } from '@detkit/anchors';
import { InvalidArgumentError, tf } from '@detkit/core';
import { conv2d, type BuildContext } from './layers';

/** torchvision RPNHead's initialisation: weights normal with std 0.01, biases 0. */
const RPN_INIT_STD = 0.01;

/** What {@link rpnHead} predicts, per pyramid level (NHWC). */
export interface RpnHeadLevels {
  /** Tensor[N, H, W, A] objectness logits per level (torchvision's `[N, A, H, W]` transposed). */
  objectness: tf.Tensor4D[];
  /**
   * Tensor[N, H, W, 4A] deltas (dx, dy, dw, dh) per level, channel 4a + j = anchor a's delta j
   * (torchvision's `pred_bbox_deltas`, `[N, 4A, H, W]`, transposed).
   */
  deltas: tf.Tensor4D[];
}

/**
 * torchvision 0.14's `RPNHead(inChannels, numAnchors, conv_depth=1)` (Ren et al. 2015, §3.1), shared by all
 * levels: a 3x3 convolution with ReLU (`${name}.conv.0.0`), then 1x1 convolutions to A objectness logits
 * (`${name}.cls_logits`) and 4A deltas (`${name}.bbox_pred`). Legacy names (`${name}.conv.weight`) load too.
 */
export function rpnHead(ctx: BuildContext, name: string, inChannels: number, numAnchors: number): (features: readonly tf.Tensor4D[]) => RpnHeadLevels {
  const init = { normal: RPN_INIT_STD };
  const conv = conv2d(ctx, `${name}.conv.0.0`, { inChannels, outChannels: inChannels, kernel: 3, bias: true, init });
  ctx.params.addLegacyName(`${name}.conv.0.0.weight`, `${name}.conv.weight`);
  ctx.params.addLegacyName(`${name}.conv.0.0.bias`, `${name}.conv.bias`);
  const cls = conv2d(ctx, `${name}.cls_logits`, { inChannels, outChannels: numAnchors, kernel: 1, bias: true, init });
  const box = conv2d(ctx, `${name}.bbox_pred`, { inChannels, outChannels: 4 * numAnchors, kernel: 1, bias: true, init });
  return (features) => {
    const hidden = features.map((f) => tf.relu(conv(f)));
    return { objectness: hidden.map(cls), deltas: hidden.map(box) };
  };
}

/**
 * The RPN head's outputs flattened as torchvision's `concat_box_prediction_layers`: objectness
 * Tensor[N, sum(H·W·A)] and deltas Tensor[N, sum(H·W·A), 4], rows level by level, then location
 * (row-major), then anchor: the order of {@link rpnAnchors}.
 */
export function flattenRpnLevels(head: RpnHeadLevels): { objectness: tf.Tensor2D; deltas: tf.Tensor3D; anchorsPerLevel: number[] } {
  const n = head.objectness[0]!.shape[0];
  return {
    objectness: tf.concat(head.objectness.map((o) => tf.reshape(o, [n, -1])), 1) as tf.Tensor2D,
    deltas: tf.concat(head.deltas.map((d) => tf.reshape(d, [n, -1, 4])), 1) as tf.Tensor3D,
    anchorsPerLevel: head.objectness.map((o) => o.shape[1] * o.shape[2] * o.shape[3]),
  };
}

/**
 * torchvision `AnchorGenerator(sizes, aspect_ratios)` on a batch: per level, the cell anchors of
 * `sizes[l]` x `aspectRatios[l]` (ratio-major, rounded) shifted over the level's grid with stride
 * `floor(batchSize / featureSize)`; @detkit/anchors' generateMultiLevelAnchors.
 *
 * @param batchSize - `[height, width]` of the padded batch (`image_list.tensors.shape[-2:]`).
 * @param featureSizes - `[height, width]` of each level, finest first.
 * @returns Tensor[sum(H·W·A), 4] xyxy anchors (the same for every image) and the count per level.
 */
export function rpnAnchors(
  batchSize: readonly [number, number],
  featureSizes: ReadonlyArray<readonly [number, number]>,
  sizes: ReadonlyArray<readonly number[]>,
  aspectRatios: ReadonlyArray<readonly number[]>,
): MultiLevelAnchors {
  if (sizes.length !== featureSizes.length || aspectRatios.length !== featureSizes.length) {
    throw new InvalidArgumentError('rpnAnchors', 'sizes', `needs one entry per feature level (${featureSizes.length}), got ${sizes.length} sizes and ${aspectRatios.length} aspect ratios`);
  }
  return generateMultiLevelAnchors({
    levels: featureSizes.map((featureSize, l) => ({ featureSize, sizes: sizes[l]!, ratios: aspectRatios[l]! })),
    imageSize: batchSize,
  });
}
