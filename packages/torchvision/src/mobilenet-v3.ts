import { InvalidArgumentError, tf } from '@detkit/core';
import { conv2dNormActivation, squeezeExcitation, type Activation, type BuildContext, type Layer } from './layers';

/** One inverted-residual block of MobileNetV3 (torchvision `InvertedResidualConfig`, channels after width). */
export interface InvertedResidualConfig {
  inputChannels: number;
  kernel: number;
  expandedChannels: number;
  outChannels: number;
  useSe: boolean;
  /** Hardswish (`HS`) or ReLU (`RE`). */
  useHs: boolean;
  stride: number;
  dilation: number;
}

/** Options of {@link mobilenetV3LargeConfig}, torchvision's `_mobilenet_v3_conf` keyword arguments. */
export interface MobileNetV3ConfigOptions {
  /** Channel multiplier (`width_mult`), default 1. Channels are rounded by `_make_divisible(c · width, 8)`. */
  widthMult?: number;
  /** Halve the channels of the last three blocks and of the tail (`reduced_tail`), default false. */
  reducedTail?: boolean;
  /** Dilate the last three blocks instead of striding (`dilated`), default false. */
  dilated?: boolean;
}

/**
 * torchvision's `_make_divisible(v, 8)`: the nearest multiple of `divisor` at least `divisor`, raised by one
 * step if rounding lost more than 10% (from the TF-slim MobileNet code).
 */
export function makeDivisible(v: number, divisor = 8): number {
  let next = Math.max(divisor, Math.floor(Math.trunc(v + divisor / 2) / divisor) * divisor);
  if (next < 0.9 * v) next += divisor;
  return next;
}

/**
 * MobileNetV3-Large's block table (Howard et al. 2019, table 1) as torchvision 0.14's
 * `_mobilenet_v3_conf("mobilenet_v3_large", ...)` writes it, and the tail's channel count `last_channel`.
 */
export function mobilenetV3LargeConfig(options: MobileNetV3ConfigOptions = {}): { blocks: InvertedResidualConfig[]; lastChannel: number } {
  const width = options.widthMult ?? 1;
  if (!(typeof width === 'number' && width > 0 && Number.isFinite(width))) throw new InvalidArgumentError('mobilenetV3LargeConfig', 'widthMult', `must be a number > 0, got ${String(width)}`);
  const r = options.reducedTail ? 2 : 1;
  const d = options.dilated ? 2 : 1;
  const adjust = (c: number) => makeDivisible(c * width, 8);
  const conf = (input: number, kernel: number, expanded: number, out: number, useSe: boolean, act: 'RE' | 'HS', stride: number, dilation: number): InvertedResidualConfig => ({
    inputChannels: adjust(input),
    kernel,
    expandedChannels: adjust(expanded),
    outChannels: adjust(out),
    useSe,
    useHs: act === 'HS',
    stride,
    dilation,
  });
  const blocks = [
    conf(16, 3, 16, 16, false, 'RE', 1, 1),
    conf(16, 3, 64, 24, false, 'RE', 2, 1), // C1
    conf(24, 3, 72, 24, false, 'RE', 1, 1),
    conf(24, 5, 72, 40, true, 'RE', 2, 1), // C2
    conf(40, 5, 120, 40, true, 'RE', 1, 1),
    conf(40, 5, 120, 40, true, 'RE', 1, 1),
    conf(40, 3, 240, 80, false, 'HS', 2, 1), // C3
    conf(80, 3, 200, 80, false, 'HS', 1, 1),
    conf(80, 3, 184, 80, false, 'HS', 1, 1),
    conf(80, 3, 184, 80, false, 'HS', 1, 1),
    conf(80, 3, 480, 112, true, 'HS', 1, 1),
    conf(112, 3, 672, 112, true, 'HS', 1, 1),
    conf(112, 5, 672, Math.floor(160 / r), true, 'HS', 2, d), // C4
    conf(Math.floor(160 / r), 5, Math.floor(960 / r), Math.floor(160 / r), true, 'HS', 1, d),
    conf(Math.floor(160 / r), 5, Math.floor(960 / r), Math.floor(160 / r), true, 'HS', 1, d),
  ];
  return { blocks, lastChannel: adjust(Math.floor(1280 / r)) };
}

/** An inverted-residual block split into its layers, so a detector can cut it (SSDlite's C4 split). */
export interface InvertedResidualBlock {
  /** The layers of torchvision's `block` Sequential, in order: [expand?], depthwise, [SE?], project. */
  parts: Layer[];
  /** Whether the input is added to the result (stride 1 and same channels). */
  residual: boolean;
  /** Whether the block reduces resolution (torchvision's `_is_cn`). */
  isCn: boolean;
  outChannels: number;
}

/**
 * torchvision `mobilenetv3.InvertedResidual` (Sandler et al. 2018, with Howard et al. 2019's SE and
 * hardswish). `partName(j)` is the module name of the j-th layer of its `block` (normally
 * `${prefix}.block.${j}`).
 */
export function invertedResidual(ctx: BuildContext, cnf: InvertedResidualConfig, eps: number, partName: (j: number) => string): InvertedResidualBlock {
  const act: Activation = cnf.useHs ? 'hardswish' : 'relu';
  const parts: Layer[] = [];
  if (cnf.expandedChannels !== cnf.inputChannels) {
    parts.push(conv2dNormActivation(ctx, partName(parts.length), { inChannels: cnf.inputChannels, outChannels: cnf.expandedChannels, kernel: 1, eps, activation: act }));
  }
  parts.push(
    conv2dNormActivation(ctx, partName(parts.length), {
      inChannels: cnf.expandedChannels,
      outChannels: cnf.expandedChannels,
      kernel: cnf.kernel,
      stride: cnf.dilation > 1 ? 1 : cnf.stride,
      dilation: cnf.dilation,
      groups: cnf.expandedChannels,
      eps,
      activation: act,
    }),
  );
  if (cnf.useSe) parts.push(squeezeExcitation(ctx, `${partName(parts.length)}`, cnf.expandedChannels, makeDivisible(Math.floor(cnf.expandedChannels / 4), 8)));
  parts.push(conv2dNormActivation(ctx, partName(parts.length), { inChannels: cnf.expandedChannels, outChannels: cnf.outChannels, kernel: 1, eps, activation: null }));
  return { parts, residual: cnf.stride === 1 && cnf.inputChannels === cnf.outChannels, isCn: cnf.stride > 1, outChannels: cnf.outChannels };
}

/** Runs a block's layers, with its residual connection. */
export function runBlock(block: InvertedResidualBlock, x: tf.Tensor4D): tf.Tensor4D {
  const y = block.parts.reduce((h, layer) => layer(h), x);
  return block.residual ? tf.add(y, x) : y;
}

/** MobileNetV3-Large's `features`: the stem, the 15 blocks and the last 1x1 convolution, as layers. */
export interface MobileNetV3Features {
  /** `features.0`: 3x3 stride-2 conv, batch norm, hardswish. */
  stem: Layer;
  /** `features.1` … `features.15`. */
  blocks: InvertedResidualBlock[];
  /** `features.16`: 1x1 conv to 6 × the last block's channels, batch norm, hardswish. */
  last: Layer;
  lastChannels: number;
  /** torchvision's stage indices into `features`: 0, every block with `isCn`, 16 (`_mobilenet_extractor`). */
  stageIndices: number[];
}

/**
 * Builds torchvision 0.14's `MobileNetV3(...).features` for MobileNetV3-Large (Howard et al. 2019,
 * "Searching for MobileNetV3"). `name(i, j)` gives the module name of part j of `features[i]`'s block (for
 * the stem and the last conv `j` is -1, the Conv2dNormActivation itself); torchvision's classifier names it
 * `features.${i}` and `features.${i}.block.${j}`.
 */
export function mobilenetV3LargeFeatures(ctx: BuildContext, options: MobileNetV3ConfigOptions & { eps: number; name: (i: number, j: number) => string }): MobileNetV3Features {
  const { blocks: confs } = mobilenetV3LargeConfig(options);
  const eps = options.eps;
  const first = confs[0]!.inputChannels;
  const stem = conv2dNormActivation(ctx, options.name(0, -1), { inChannels: 3, outChannels: first, kernel: 3, stride: 2, eps, activation: 'hardswish' });
  const blocks = confs.map((cnf, b) => invertedResidual(ctx, cnf, eps, (j) => options.name(b + 1, j)));
  const lastIn = confs[confs.length - 1]!.outChannels;
  const last = conv2dNormActivation(ctx, options.name(confs.length + 1, -1), { inChannels: lastIn, outChannels: 6 * lastIn, kernel: 1, eps, activation: 'hardswish' });
  const stageIndices = [0, ...blocks.flatMap((b, i) => (b.isCn ? [i + 1] : [])), confs.length + 1];
  return { stem, blocks, last, lastChannels: 6 * lastIn, stageIndices };
}
