import { ShapeError, tf } from '@detkit/core';
import { batchNormTrain } from '@detkit/models';
import type { TorchParameters } from './state-dict';

/** A layer of a torchvision module, NHWC in and out. */
export type Layer = (x: tf.Tensor4D) => tf.Tensor4D;

/** torch.nn activations used by torchvision's detectors. */
export type Activation = 'relu' | 'relu6' | 'hardswish' | 'hardsigmoid' | null;

/**
 * The tfjs seed of the next random parameter: `ctx.seed`'s low 32 bits plus one, then `ctx.seed` moves on.
 * Never 0: tfjs-core 4.22's random initialisers read their seed as `seed ? seed : Math.random()`, so a
 * seed of 0 would give other weights in every process.
 */
function nextSeed(ctx: BuildContext): number {
  return (ctx.seed++ >>> 0) + 1;
}

/** Where a model's layers register their parameters, and how fresh ones are initialised. */
export interface BuildContext {
  readonly params: TorchParameters;
  /** Standard deviation of the normal initialisation of convolution weights (SSDlite's `_normal_init`: 0.03). */
  readonly convStd: number;
  /** Seed of the next initialisation; incremented by every random parameter. */
  seed: number;
  /**
   * Batch norms are torchvision's `FrozenBatchNorm2d` (what torchvision builds when it loads pretrained
   * weights): `weight` and `bias` are buffers (never trained) and there is no `num_batches_tracked`
   * (a file that has one loads; the entry is ignored, as torchvision's `_load_from_state_dict` drops it).
   * Default false: `nn.BatchNorm2d` in eval mode.
   */
  frozenBatchNorm?: boolean;
  /**
   * The model's mode, read at every call: while `training` is true, `nn.BatchNorm2d` layers normalise with
   * the batch's statistics and update their running ones (torch's train mode). Absent: always eval mode.
   */
  mode?: ModelMode;
  /** The batch norms' `momentum` (train mode). Default torch's 0.1 (SSDlite: 0.03). */
  batchNormMomentum?: number;
}

/** A model's train / eval switch (torch's `module.train()` / `module.eval()`), shared by its layers. */
export interface ModelMode {
  training: boolean;
}

/**
 * torch's activations. `hardswish` is `x · relu6(x + 3) / 6` and `hardsigmoid` `relu6(x + 3) / 6`, in the
 * order torch's CPU kernels compute them (multiply, then divide by 6).
 */
export function activate(x: tf.Tensor4D, activation: Activation): tf.Tensor4D {
  switch (activation) {
    case 'relu':
      return tf.relu(x);
    case 'relu6':
      return tf.relu6(x);
    case 'hardswish':
      return tf.div(tf.mul(x, tf.relu6(tf.add(x, 3))), 6);
    case 'hardsigmoid':
      return tf.div(tf.relu6(tf.add(x, 3)), 6);
    default:
      return x;
  }
}

/** Options of {@link conv2d}. */
export interface Conv2dOptions {
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride?: number;
  dilation?: number;
  /** 1 (a full convolution) or `inChannels` (depthwise: `outChannels` must equal it). */
  groups?: number;
  bias?: boolean;
  /** The output channels follow the class count (see `ParamSpec.classDependent`). */
  classDependent?: boolean;
  /**
   * Initial weights: `{ normal: std }` or `{ uniform: bound }` (U(-bound, bound), e.g. torch's
   * `kaiming_uniform_(a=1)`: bound sqrt(3 / fan_in)). Default `{ normal: ctx.convStd }`. Biases start at 0.
   */
  init?: { normal: number } | { uniform: number };
}

/**
 * torch `nn.Conv2d(in, out, kernel, stride, padding=(kernel - 1) / 2 · dilation, dilation, groups, bias)`:
 * symmetric zero padding, as torch pads (tfjs' `'same'` pads stride-2 convolutions of even inputs on one side
 * only, which shifts the grid). Parameters `${name}.weight` (and `${name}.bias`).
 */
export function conv2d(ctx: BuildContext, name: string, o: Conv2dOptions): Layer {
  const { inChannels: cin, outChannels: cout, kernel: k } = o;
  const stride = o.stride ?? 1;
  const dilation = o.dilation ?? 1;
  const depthwise = (o.groups ?? 1) !== 1;
  const pad = ((k - 1) / 2) * dilation;
  const padding: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [pad, pad], [pad, pad], [0, 0]];
  const torchShape = depthwise ? [cin, 1, k, k] : [cout, cin, k, k];
  const tfShape = depthwise ? [k, k, cin, 1] : [k, k, cin, cout];
  const init = o.init ?? { normal: ctx.convStd };
  const value = 'normal' in init ? tf.randomNormal(tfShape, 0, init.normal, 'float32', nextSeed(ctx)) : tf.randomUniform(tfShape, -init.uniform, init.uniform, 'float32', nextSeed(ctx));
  const weight = ctx.params.add({ name: `${name}.weight`, torchShape, layout: depthwise ? 'depthwise' : 'conv', kind: 'parameter', classDependent: o.classDependent ?? false }, value);
  const bias = o.bias ? ctx.params.add({ name: `${name}.bias`, torchShape: [cout], layout: 'plain', kind: 'parameter', classDependent: o.classDependent ?? false }, tf.zeros([cout])) : null;
  return (x) => {
    const y = depthwise
      ? tf.depthwiseConv2d(x, weight as tf.Tensor4D, stride, padding, 'NHWC', dilation)
      : tf.conv2d(x, weight as tf.Tensor4D, stride, padding, 'NHWC', dilation);
    return bias ? tf.add(y, bias) : y;
  };
}

/**
 * torch `nn.BatchNorm2d(channels, eps, momentum)`. In eval mode (running statistics), which is also what
 * torchvision's `FrozenBatchNorm2d` computes: `(x - running_mean) / sqrt(running_var + eps) · weight + bias`.
 * In train mode (`ctx.mode.training`): the batch's mean and biased variance over N, H and W normalise (and
 * are differentiated through), and the running statistics move by `momentum` towards the batch's mean and
 * unbiased variance (`running = (1 - momentum) · running + momentum · batch`), `num_batches_tracked` + 1;
 * like torch, that needs more than one value per channel. Parameters `${name}.weight`, `.bias`; buffers
 * `.running_mean`, `.running_var`, `.num_batches_tracked`. With `ctx.frozenBatchNorm`, `FrozenBatchNorm2d`'s
 * entries: all four are buffers, no counter, and always the running statistics.
 *
 * @param momentum - torch's `momentum`. Default `ctx.batchNormMomentum`, else torch's 0.1.
 */
export function batchNorm2d(ctx: BuildContext, name: string, channels: number, eps: number, momentum = ctx.batchNormMomentum ?? 0.1): Layer {
  const vec = (suffix: string, kind: 'parameter' | 'buffer', init: tf.Tensor) => ctx.params.add({ name: `${name}.${suffix}`, torchShape: [channels], layout: 'plain', kind }, init);
  const affine = ctx.frozenBatchNorm ? 'buffer' : 'parameter';
  const weight = vec('weight', affine, tf.ones([channels]));
  const bias = vec('bias', affine, tf.zeros([channels]));
  const mean = vec('running_mean', 'buffer', tf.zeros([channels]));
  const variance = vec('running_var', 'buffer', tf.ones([channels]));
  if (ctx.frozenBatchNorm) ctx.params.ignoreOnLoad(`${name}.num_batches_tracked`);
  else ctx.params.addCounter(`${name}.num_batches_tracked`);
  const counter = `${name}.num_batches_tracked`;
  return (x) => {
    if (ctx.frozenBatchNorm || ctx.mode?.training !== true) return tf.batchNorm4d(x, mean as tf.Tensor1D, variance as tf.Tensor1D, bias as tf.Tensor1D, weight as tf.Tensor1D, eps);
    const [n, h, w] = x.shape;
    const count = n * h * w;
    if (count < 2) throw new ShapeError(name, 'input', '[N, H, W, C] with N·H·W > 1 (torch: more than 1 value per channel when training)', x.shape);
    // @detkit/models' train-mode batch norm: one custom-gradient op, torch's backward formula.
    const batch = batchNormTrain(x, weight as tf.Tensor1D, bias as tf.Tensor1D, eps);
    // The running statistics are state, not part of the graph. torch keeps the unbiased variance.
    tf.tidy(() => {
      mean.assign(tf.add(tf.mul(mean, 1 - momentum), tf.mul(batch.mean, momentum)));
      variance.assign(tf.add(tf.mul(variance, 1 - momentum), tf.mul(batch.variance, (momentum * count) / (count - 1))));
    });
    tf.dispose([batch.mean, batch.variance]);
    ctx.params.incrementCounter(counter);
    return batch.out;
  };
}

/** Options of {@link conv2dNormActivation}. */
export interface ConvNormActivationOptions extends Omit<Conv2dOptions, 'bias'> {
  /** Batch-norm epsilon. */
  eps: number;
  activation: Activation;
}

/**
 * torchvision `ops.misc.Conv2dNormActivation`: a bias-free convolution (`${name}.0`), a batch norm
 * (`${name}.1`) and an activation.
 */
export function conv2dNormActivation(ctx: BuildContext, name: string, o: ConvNormActivationOptions): Layer {
  const conv = conv2d(ctx, `${name}.0`, { ...o, bias: false });
  const norm = batchNorm2d(ctx, `${name}.1`, o.outChannels, o.eps);
  return (x) => activate(norm(conv(x)), o.activation);
}

/**
 * torchvision `ops.misc.SqueezeExcitation(input, squeeze, activation=ReLU, scale_activation=Hardsigmoid)` as
 * MobileNetV3 uses it (Hu et al. 2018): global average pool, 1x1 conv `${name}.fc1`, ReLU, 1x1 conv
 * `${name}.fc2`, hardsigmoid, times the input.
 */
export function squeezeExcitation(ctx: BuildContext, name: string, channels: number, squeeze: number): Layer {
  const fc1 = conv2d(ctx, `${name}.fc1`, { inChannels: channels, outChannels: squeeze, kernel: 1, bias: true });
  const fc2 = conv2d(ctx, `${name}.fc2`, { inChannels: squeeze, outChannels: channels, kernel: 1, bias: true });
  return (x) => tf.mul(activate(fc2(tf.relu(fc1(tf.mean(x, [1, 2], true)))), 'hardsigmoid'), x);
}

/** A fully connected layer on rows: Tensor[K, in] → Tensor[K, out]. */
export type LinearLayer = (x: tf.Tensor2D) => tf.Tensor2D;

/**
 * torch `nn.Linear(inFeatures, outFeatures)`: `x · weightᵀ + bias`, with torch's default initialisation
 * (weight and bias uniform in ±1 / sqrt(inFeatures)). Parameters `${name}.weight` (torch `[out, in]`,
 * stored `[in, out]`) and `${name}.bias`.
 */
export function linear(ctx: BuildContext, name: string, inFeatures: number, outFeatures: number, classDependent = false): LinearLayer {
  const bound = 1 / Math.sqrt(inFeatures);
  const weight = ctx.params.add({ name: `${name}.weight`, torchShape: [outFeatures, inFeatures], layout: 'linear', kind: 'parameter', classDependent }, tf.randomUniform([inFeatures, outFeatures], -bound, bound, 'float32', nextSeed(ctx)));
  const bias = ctx.params.add({ name: `${name}.bias`, torchShape: [outFeatures], layout: 'plain', kind: 'parameter', classDependent }, tf.randomUniform([outFeatures], -bound, bound, 'float32', nextSeed(ctx)));
  return (x) => tf.add(tf.matMul(x, weight as tf.Tensor2D), bias);
}

/** Layers applied one after the other. */
export function sequential(layers: readonly Layer[]): Layer {
  return (x) => layers.reduce((y, layer) => layer(y), x);
}
