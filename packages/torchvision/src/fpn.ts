import { InvalidArgumentError, ShapeError, tf } from '@detkit/core';
import { conv2d, type BuildContext } from './layers';

/** Options of {@link featurePyramidNetwork}: torchvision `FeaturePyramidNetwork`'s arguments. */
export interface FeaturePyramidOptions {
  /** Channels of each input map, finest first (`in_channels_list`). */
  inChannelsList: readonly number[];
  /** Channels of every output level (`out_channels`; 256 in torchvision's detectors). */
  outChannels: number;
  /**
   * `'lastLevelMaxPool'` (torchvision's `LastLevelMaxPool`, the default of `BackboneWithFPN`): one more level,
   * {@link lastLevelMaxPool} of the coarsest output, named `pool`. `null`: none.
   */
  extraBlocks: 'lastLevelMaxPool' | null;
}

/** A feature pyramid: NHWC input maps (finest first) to output levels (finest first, then `pool`). */
export type FeaturePyramid = (features: readonly tf.Tensor4D[]) => tf.Tensor4D[];

/**
 * torchvision `LastLevelMaxPool`: `F.max_pool2d(x, kernel_size=1, stride=2, padding=0)`, i.e. every second
 * row and column starting at 0: Tensor[N, H, W, C] → Tensor[N, ceil(H / 2), ceil(W / 2), C].
 */
export function lastLevelMaxPool(x: tf.Tensor4D): tf.Tensor4D {
  return tf.maxPool(x, 1, 2, 'valid');
}

/**
 * torchvision 0.14's `FeaturePyramidNetwork` without normalisation layers (Lin et al. 2017, "Feature Pyramid
 * Networks for Object Detection"): a 1x1 lateral convolution per input (`${name}.inner_blocks.${i}.0`), the
 * coarser result upsampled by nearest neighbour (`F.interpolate(mode="nearest")` to the lateral's size) and
 * added, then a 3x3 convolution per level (`${name}.layer_blocks.${i}.0`); all convolutions with bias,
 * initialised as torchvision's (`kaiming_uniform_(a=1)`, bias 0). State dicts of FPN `_version` 1
 * (`inner_blocks.${i}.weight`, published COCO checkpoints) load too.
 *
 * @returns The pyramid: given Tensor[N, H_i, W_i, inChannelsList[i]] maps (NHWC, finest first) it returns
 *   Tensor[N, H_i, W_i, outChannels] levels in the same order, then the extra `pool` level.
 */
export function featurePyramidNetwork(ctx: BuildContext, name: string, o: FeaturePyramidOptions): FeaturePyramid {
  const op = 'featurePyramidNetwork';
  if (!Array.isArray(o.inChannelsList) || o.inChannelsList.length === 0 || !o.inChannelsList.every((c) => Number.isInteger(c) && c > 0)) {
    throw new InvalidArgumentError(op, 'inChannelsList', `must be a non-empty list of positive integers, got ${JSON.stringify(o.inChannelsList)}`);
  }
  if (!Number.isInteger(o.outChannels) || o.outChannels < 1) throw new InvalidArgumentError(op, 'outChannels', `must be a positive integer, got ${String(o.outChannels)}`);
  const out = o.outChannels;
  const block = (kind: string, i: number, cin: number, k: number) => {
    const prefix = `${name}.${kind}.${i}`;
    const layer = conv2d(ctx, `${prefix}.0`, { inChannels: cin, outChannels: out, kernel: k, bias: true, init: { uniform: Math.sqrt(3 / (cin * k * k)) } });
    ctx.params.addLegacyName(`${prefix}.0.weight`, `${prefix}.weight`);
    ctx.params.addLegacyName(`${prefix}.0.bias`, `${prefix}.bias`);
    return layer;
  };
  const inner = o.inChannelsList.map((c, i) => block('inner_blocks', i, c, 1));
  const layer = o.inChannelsList.map((_, i) => block('layer_blocks', i, out, 3));
  return (features) => {
    if (features.length !== inner.length) throw new InvalidArgumentError(op, 'features', `must be ${inner.length} maps, got ${features.length}`);
    features.forEach((f, i) => {
      if (f.rank !== 4 || f.shape[3] !== o.inChannelsList[i]) throw new ShapeError(op, `features[${i}]`, `[N, H, W, ${o.inChannelsList[i]}]`, f.shape);
    });
    const last = features.length - 1;
    let lastInner = inner[last]!(features[last]!);
    const results = [layer[last]!(lastInner)];
    for (let i = last - 1; i >= 0; i--) {
      const lateral = inner[i]!(features[i]!);
      const [h, w] = [lateral.shape[1], lateral.shape[2]];
      // torch's "nearest": source index floor(dst · in / out), tfjs' without half-pixel centres.
      const topDown = lastInner.shape[1] === h && lastInner.shape[2] === w ? lastInner : tf.image.resizeNearestNeighbor(lastInner, [h, w], false, false);
      lastInner = tf.add(lateral, topDown);
      results.unshift(layer[i]!(lastInner));
    }
    if (o.extraBlocks === 'lastLevelMaxPool') results.push(lastLevelMaxPool(results[results.length - 1]!));
    return results;
  };
}
