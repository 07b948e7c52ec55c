import { InvalidArgumentError, tf } from '@detkit/core';
import { batchNorm2d, conv2d, type BuildContext, type Layer } from './layers';

/** Bottleneck blocks per stage of ResNet-50 (He et al. 2016, table 1): `layer1` … `layer4`. */
export const RESNET50_LAYERS = Object.freeze([3, 4, 6, 3]) as readonly number[];

/** `Bottleneck.expansion`: a block's output has 4 × its width in channels. */
const BOTTLENECK_EXPANSION = 4;
/** Channels of the stem (`conv1`) and width of `layer1`'s blocks (`ResNet.inplanes`, `base_width` 64). */
const STEM_CHANNELS = 64;

/** Options of {@link resnetBottleneck}: torchvision `Bottleneck(inplanes, planes, stride, downsample)`. */
export interface ResNetBottleneckOptions {
  /** Input channels (`inplanes`). */
  inChannels: number;
  /** Width of the block (`planes`); the output has `4 · planes` channels. */
  planes: number;
  /** Stride of the 3x3 convolution (`conv2`: ResNet v1.5) and of the downsample, default 1. */
  stride?: number;
  /** Batch-norm epsilon (torch's default 1e-5). */
  eps: number;
}

/**
 * torchvision 0.14's `resnet.Bottleneck` (He et al. 2016, "Deep Residual Learning for Image Recognition", with
 * the stride on the 3x3 convolution: "ResNet v1.5"): `relu(bn1(conv1(x)))` (1x1), `relu(bn2(conv2(·)))` (3x3,
 * `stride`), `bn3(conv3(·))` (1x1 to `4 · planes`), plus the input, or `downsample(x)` (a 1x1 convolution with
 * `stride` and a batch norm, `${name}.downsample.0` / `.1`) when the stride is not 1 or the channels change,
 * then ReLU. Convolutions have no bias and start as torchvision's (`kaiming_normal_(mode="fan_out")`); the batch
 * norms are `nn.BatchNorm2d` in eval mode, or `FrozenBatchNorm2d` with `ctx.frozenBatchNorm`.
 *
 * @returns A layer Tensor[N, H, W, inChannels] → Tensor[N, ceil(H / stride), ceil(W / stride), 4 · planes] (NHWC).
 */
export function resnetBottleneck(ctx: BuildContext, name: string, o: ResNetBottleneckOptions): Layer {
  const stride = o.stride ?? 1;
  const out = o.planes * BOTTLENECK_EXPANSION;
  const conv = (suffix: string, cin: number, cout: number, kernel: number, s: number) =>
    conv2d(ctx, `${name}.${suffix}`, { inChannels: cin, outChannels: cout, kernel, stride: s, init: { normal: Math.sqrt(2 / (cout * kernel * kernel)) } });
  const conv1 = conv('conv1', o.inChannels, o.planes, 1, 1);
  const bn1 = batchNorm2d(ctx, `${name}.bn1`, o.planes, o.eps);
  const conv2 = conv('conv2', o.planes, o.planes, 3, stride);
  const bn2 = batchNorm2d(ctx, `${name}.bn2`, o.planes, o.eps);
  const conv3 = conv('conv3', o.planes, out, 1, 1);
  const bn3 = batchNorm2d(ctx, `${name}.bn3`, out, o.eps);
  let downsample: Layer | null = null;
  if (stride !== 1 || o.inChannels !== out) {
    const dconv = conv('downsample.0', o.inChannels, out, 1, stride);
    const dbn = batchNorm2d(ctx, `${name}.downsample.1`, out, o.eps);
    downsample = (x) => dbn(dconv(x));
  }
  // Each block in its own tidy: the intermediates of the 16 blocks would otherwise live until the caller's tidy
  // ends (GBs at torchvision's 800 px, more than wasm's memory). Tensors a gradient tape needs are kept by it.
  return (x) =>
    tf.tidy(() => {
      const y = bn3(conv3(tf.relu(bn2(conv2(tf.relu(bn1(conv1(x))))))));
      return tf.relu(tf.add(y, downsample ? downsample(x) : x)) as tf.Tensor4D;
    });
}

/** torchvision's ResNet-50 without its classifier, as layers (NHWC); see {@link resnet50Body}. */
export interface ResNetBody {
  /**
   * `conv1` (7x7, stride 2, 64 channels), `bn1`, ReLU and `maxpool` (3x3, stride 2, padding 1): Tensor[N, H, W, 3]
   * → Tensor[N, H / 4, W / 4, 64] (sizes rounded as torch: `floor((H - 1) / 2) + 1`, twice).
   */
  stem: Layer;
  /** `layer1` … `layer4` (C2 … C5: strides 4, 8, 16, 32). */
  layers: Layer[];
  /** Output channels of `layer1` … `layer4`: [256, 512, 1024, 2048]. */
  outChannels: number[];
}

/** Options of {@link resnet50Body}. */
export interface ResNetBodyOptions {
  /** Batch-norm epsilon: torch's 1e-5 (torchvision's COCO_V1 Faster R-CNN weights set 0: `overwrite_eps`). */
  eps: number;
}

/**
 * torchvision 0.14's `resnet50()` (He et al. 2016; Bottleneck v1.5, `RESNET50_LAYERS` blocks) up to `layer4`,
 * without `avgpool` and `fc`: what `BackboneWithFPN`'s `IntermediateLayerGetter` keeps. Parameters under
 * `${prefix}.conv1`, `${prefix}.bn1`, `${prefix}.layer{1-4}.{i}.conv1 / bn1 / conv2 / bn2 / conv3 / bn3 /
 * downsample.0 / downsample.1`, in torchvision's state-dict order (`prefix` `backbone.body` in the detectors).
 * Batch norms are `nn.BatchNorm2d` in eval mode, or `FrozenBatchNorm2d` (all four entries buffers, no
 * `num_batches_tracked`) with `ctx.frozenBatchNorm`, as `resnet50(norm_layer=...)` builds them.
 */
export function resnet50Body(ctx: BuildContext, prefix: string, options: ResNetBodyOptions): ResNetBody {
  const eps = options.eps;
  if (typeof eps !== 'number' || !(eps >= 0 && Number.isFinite(eps))) throw new InvalidArgumentError('resnet50Body', 'eps', `must be a finite number >= 0, got ${String(eps)}`);
  const conv1 = conv2d(ctx, `${prefix}.conv1`, { inChannels: 3, outChannels: STEM_CHANNELS, kernel: 7, stride: 2, init: { normal: Math.sqrt(2 / (STEM_CHANNELS * 49)) } });
  const bn1 = batchNorm2d(ctx, `${prefix}.bn1`, STEM_CHANNELS, eps);
  // nn.MaxPool2d(kernel_size=3, stride=2, padding=1): the padding never wins the max (torch pads with -inf;
  // tfjs skips positions outside the input), and the output size is floor((H + 2 - 3) / 2) + 1 in both.
  const stem: Layer = (x) => tf.tidy(() => tf.maxPool(tf.relu(bn1(conv1(x))), 3, 2, 1));
  let inChannels = STEM_CHANNELS;
  const layers: Layer[] = [];
  const outChannels: number[] = [];
  RESNET50_LAYERS.forEach((blocks, l) => {
    const planes = STEM_CHANNELS * 2 ** l;
    const layerBlocks = Array.from({ length: blocks }, (_, i) => {
      const block = resnetBottleneck(ctx, `${prefix}.layer${l + 1}.${i}`, { inChannels, planes, stride: i === 0 && l > 0 ? 2 : 1, eps });
      inChannels = planes * BOTTLENECK_EXPANSION;
      return block;
    });
    layers.push((x) => layerBlocks.reduce((y, block) => block(y), x));
    outChannels.push(inChannels);
  });
  return { stem, layers, outChannels };
}

/**
 * torchvision's `_resnet_fpn_extractor(backbone, trainable_layers)` freezing rule: the parameters that stay
 * trainable with `trainableLayers` (0-5) of `["layer4", "layer3", "layer2", "layer1", "conv1"]` (and `bn1` with
 * all 5) trainable, counted from the last. Names are relative to the ResNet (`layer1.0.conv1.weight`).
 *
 * @returns A test on a parameter's name (without the `backbone.body.` prefix): true when it stays trainable.
 */
export function resnetTrainableLayers(trainableLayers: number): (name: string) => boolean {
  if (!Number.isInteger(trainableLayers) || trainableLayers < 0 || trainableLayers > 5) {
    throw new InvalidArgumentError('resnetTrainableLayers', 'trainableLayers', `must be an integer in [0, 5], got ${String(trainableLayers)}`);
  }
  const train = ['layer4', 'layer3', 'layer2', 'layer1', 'conv1'].slice(0, trainableLayers);
  if (trainableLayers === 5) train.push('bn1');
  return (name) => train.some((layer) => name.startsWith(layer));
}
