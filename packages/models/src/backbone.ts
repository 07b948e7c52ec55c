import { BATCH_NORM_TRAIN_KERNELS, InvalidArgumentError, MOVING_AVERAGE_KERNEL, ShapeError, integerOption, tf } from '@detkit/core';
import { componentSeed, uniquePrefix } from './variables';

/** One feature map a backbone produces: its stride (input pixels per cell) and channel count. */
export interface FeatureLevel {
  /** Input pixels per feature cell, e.g. 8 for a map of 16 x 16 cells on a 128 x 128 image. */
  readonly stride: number;
  /** Channels C of the map. */
  readonly channels: number;
}

/**
 * What a detector needs of a backbone: a function from images to feature maps with declared strides and
 * channels, and the trainable variables behind it. A user's own tfjs model satisfies it with a few lines:
 *
 * ```ts
 * const backbone: Backbone = {
 *   levels: [{ stride: 16, channels: 256 }],
 *   variables: Object.fromEntries(myModel.trainableWeights.map((w) => [w.name, w.read() as tf.Variable])),
 *   apply: (images) => [myModel.apply(images) as tf.Tensor4D],
 *   dispose: () => myModel.dispose(),
 * };
 * ```
 */
export interface Backbone {
  /** The maps {@link Backbone.apply} returns, in order (finest first for SSD). */
  readonly levels: readonly FeatureLevel[];
  /**
   * The variables by a stable key (saved in checkpoints under `backbone/<key>`): the trainable ones, and
   * non-trainable state such as batch-norm statistics (`trainable` false, left out of the optimizer).
   */
  readonly variables: Readonly<Record<string, tf.Variable>>;
  /**
   * Runs the backbone. Differentiable with respect to the trainable `variables`.
   *
   * @param images - Tensor[B, H, W, 3] float32 (normalised as the data pipeline makes them).
   * @param options - `training: true` while training (batch norm then uses and tracks batch statistics).
   * @returns One Tensor[B, ceil(H / stride), ceil(W / stride), channels] per level, NHWC.
   */
  apply(images: tf.Tensor4D, options?: { training?: boolean }): tf.Tensor4D[];
  /** Frees the variables. */
  dispose(): void;
}

/** Options of {@link createConvBackbone}. */
export interface ConvBackboneOptions {
  /**
   * Output channels of each stage. Stage i starts with a 3x3 stride-2 convolution, so it has stride 2^(i+1).
   * Default [16, 32, 64, 96, 128] (strides 2 to 32).
   */
  channels?: readonly number[];
  /**
   * 3x3 convolutions per stage (the first one strided). One number for all, or one per stage. Default 1 for
   * the first two stages (where maps are largest and convolutions most costly) and 2 for the others.
   */
  convsPerStage?: number | readonly number[];
  /** Strides of the stages whose outputs are returned, ascending, ending with the last stage's. Default the last three stages' ([8, 16, 32] for five stages). */
  outputStrides?: readonly number[];
  /**
   * Batch normalisation after each convolution (Ioffe & Szegedy 2015): `true` (default) trains much faster
   * from scratch; moving statistics (momentum 0.9) are used at inference.
   */
  batchNorm?: boolean;
  /** Seed of the weight initialisation: the same seed gives the same weights on every backend. Default unseeded. */
  seed?: number;
  /** Prefix of the variables' tfjs names. Default `'backbone'` (then `backbone_1`, ...). */
  name?: string;
}

/** The serialisable configuration of a {@link createConvBackbone} backbone. */
export interface ConvBackboneConfig {
  channels: number[];
  convsPerStage: number[];
  outputStrides: number[];
  /** See {@link ConvBackboneOptions.batchNorm}. */
  batchNorm: boolean;
}

/** Batch-norm momentum of the moving statistics (torch's 0.1 = 1 - 0.9). */
export const BATCH_NORM_MOMENTUM = 0.9;
/** Batch-norm epsilon (torch's default). */
export const BATCH_NORM_EPSILON = 1e-5;

interface ConvLayer {
  kernel: tf.Variable<tf.Rank.R4>;
  bias: tf.Variable<tf.Rank.R1>;
  stride: number;
  norm?: { gamma: tf.Variable<tf.Rank.R1>; movingMean: tf.Variable<tf.Rank.R1>; movingVariance: tf.Variable<tf.Rank.R1> };
}

/** A backbone made by {@link createConvBackbone}: a {@link Backbone} with its configuration. */
export interface ConvBackbone extends Backbone {
  readonly config: ConvBackboneConfig;
}

/**
 * Training-mode batch norm of an NHWC tensor (Ioffe & Szegedy 2015; torch's `nn.BatchNorm2d` in train mode)
 * as one custom-gradient op: `out = x̂ · gamma + beta`, `x̂ = (x - mean) / sqrt(variance + eps)` with the
 * batch's mean and biased variance over N, H and W; backward `dbeta = Σ dy`, `dgamma = Σ dy · x̂`,
 * `dx = gamma / (sqrt(variance + eps) · M) · (M dy - dbeta - x̂ dgamma)`, M = N·H·W (torch's
 * `batch_norm_backward`). Sums over N, H, W of the NHWC tensor (on wasm 3 to 9 times faster than a matrix
 * product with ones, or a sum over axis 0 of the [N·H·W, C] matrix, for fresh inputs of the trainer's and
 * SSDlite's shapes); tfjs's own moments + batchNorm chain takes several times the kernels and its gradient
 * tiles per-channel factors to the input's size.
 * Where the active backend registers @detkit/core's `BATCH_NORM_TRAIN_KERNELS` (wasm, by @detkit/backends'
 * `useBackend('wasm')`), forward and gradient each run as one fused kernel instead (same formulas).
 * Differentiable with respect to `x`, `gamma` and `beta`; `mean` and `variance` are constants (for the
 * caller's running statistics).
 *
 * @param x - Tensor[N, H, W, C] float32, N·H·W >= 1.
 * @param gamma - Tensor[C] scale.
 * @param beta - Tensor[C] shift.
 * @param eps - Added to the variance. Default {@link BATCH_NORM_EPSILON} (torch's 1e-5).
 * @param options - `relu`: `out` = ReLU(batch norm), as `tf.relu` of it (torchvision's BN + ReLU pairs); the
 *   fused kernels apply it in their last pass and mask the gradient by it. Default false.
 * @returns `out` Tensor[N, H, W, C]; `mean`, `variance` Tensor[C] (biased variance).
 */
export function batchNormTrain(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  eps = BATCH_NORM_EPSILON,
  options: { relu?: boolean } = {},
): { out: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const backend = tf.getBackend();
  const { forward, gradient } = BATCH_NORM_TRAIN_KERNELS;
  const relu = options.relu ?? false;
  if (tf.getKernel(forward, backend) !== undefined && tf.getKernel(gradient, backend) !== undefined) return fusedBatchNormTrain(x, gamma, beta, eps, relu);
  const m = x.size / x.shape[3];
  const axes = [0, 1, 2];
  const stats = tf.tidy(() => {
    const mean = tf.mean(x, axes) as tf.Tensor1D;
    return { mean, variance: tf.mean(tf.square(tf.sub(x, mean)), axes) as tf.Tensor1D };
  });
  const norm = tf.customGrad((input, g, b, save) => {
    const invStd = tf.rsqrt(tf.add(stats.variance, eps));
    const xhat = tf.mul(tf.sub(input as tf.Tensor4D, stats.mean), invStd);
    (save as tf.GradSaveFunc)([xhat, invStd, g as tf.Tensor]);
    const value = tf.add(tf.mul(xhat, g as tf.Tensor), b as tf.Tensor);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xh, inv, gm] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D];
      const dbeta = tf.sum(dy, axes);
      const dgamma = tf.sum(tf.mul(dy, xh), axes);
      const dx = tf.mul(tf.mul(gm, tf.div(inv, m)), tf.sub(tf.sub(tf.mul(dy, m), dbeta), tf.mul(xh, dgamma)));
      return [dx, dgamma, dbeta];
    };
    return { value, gradFunc };
  });
  const out = norm(x, gamma, beta) as tf.Tensor4D;
  return { out: relu ? (tf.relu(out) as tf.Tensor4D) : out, ...stats };
}

/**
 * {@link batchNormTrain} through @detkit/core's `BATCH_NORM_TRAIN_KERNELS` (registered by @detkit/backends for
 * wasm): the statistics, the normalisation (and the ReLU) and the gradient each one kernel of a few passes,
 * split over the backend's threads. Same formulas; the sums are added in another order (float32 rounding
 * apart, equal). With `relu` the gradient kernel reads the output, where it is above 0 (tfjs's Relu gradient).
 */
function fusedBatchNormTrain(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number, relu: boolean): { out: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const { forward, gradient } = BATCH_NORM_TRAIN_KERNELS;
  let stats: { mean: tf.Tensor1D; variance: tf.Tensor1D } | undefined;
  const norm = tf.customGrad((input, g, b, save) => {
    const [out, mean, variance] = tf.engine().runKernel(forward, { x: input as tf.Tensor, gamma: g as tf.Tensor, beta: b as tf.Tensor }, { epsilon: eps, relu }) as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D];
    stats = { mean: tf.keep(mean), variance: tf.keep(variance) };
    (save as tf.GradSaveFunc)(relu ? [input as tf.Tensor, mean, variance, g as tf.Tensor, out] : [input as tf.Tensor, mean, variance, g as tf.Tensor]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, mu, v, gm, y] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D, tf.Tensor4D | undefined];
      const inputs: tf.NamedTensorMap = { dy, x: xs, mean: mu, variance: v, gamma: gm };
      if (y !== undefined) inputs.y = y;
      return tf.engine().runKernel(gradient, inputs, { epsilon: eps }) as tf.Tensor[];
    };
    return { value: out, gradFunc };
  });
  const out = norm(x, gamma, beta) as tf.Tensor4D;
  // The statistics were kept to leave the op's own scope: tracked clones for the caller's scope instead.
  const kept = stats!;
  const result = { out, mean: tf.clone(kept.mean), variance: tf.clone(kept.variance) };
  tf.dispose([kept.mean, kept.variance]);
  return result;
}

/**
 * moving · decay + batch · factor (float32), with @detkit/core's `MOVING_AVERAGE_KERNEL` where the active
 * backend registers it (one kernel, the same bits), else tfjs's `add(mul(moving, decay), mul(batch, factor))`.
 */
function movingAverage(moving: tf.Tensor1D, batch: tf.Tensor1D, decay: number, factor: number): tf.Tensor1D {
  if (tf.getKernel(MOVING_AVERAGE_KERNEL, tf.getBackend()) === undefined) return tf.add(tf.mul(moving, decay), tf.mul(batch, factor));
  return tf.engine().runKernel(MOVING_AVERAGE_KERNEL, { moving, batch }, { decay, factor }) as tf.Tensor1D;
}

/**
 * Batch norm (or just the bias) of one conv output, then ReLU. While training: batch statistics over N, H,
 * W (the ReLU fused into the batch norm's kernels where the backend has them), and the moving statistics
 * are updated (an assignment, not part of the gradient); at inference: the moving ones.
 */
function normaliseRelu(y: tf.Tensor4D, layer: ConvLayer, training: boolean): tf.Tensor4D {
  const { norm, bias } = layer;
  if (!norm) return tf.relu(tf.add(y, bias)) as tf.Tensor4D;
  if (!training) return tf.relu(tf.batchNorm(y, norm.movingMean, norm.movingVariance, bias, norm.gamma, BATCH_NORM_EPSILON)) as tf.Tensor4D;
  const n = y.size / y.shape[3];
  const { out, mean, variance } = batchNormTrain(y, norm.gamma, bias, BATCH_NORM_EPSILON, { relu: true });
  tf.tidy(() => {
    const m = BATCH_NORM_MOMENTUM;
    norm.movingMean.assign(movingAverage(norm.movingMean, mean, m, 1 - m));
    // The moving variance is unbiased (n / (n - 1)), as torch tracks it.
    norm.movingVariance.assign(movingAverage(norm.movingVariance, variance, m, ((1 - m) * n) / Math.max(1, n - 1)));
  });
  tf.dispose([mean, variance]);
  return out;
}

/** Default stage widths of {@link createConvBackbone}. */
export const DEFAULT_BACKBONE_CHANNELS: readonly number[] = [16, 32, 64, 96, 128];

/**
 * {@link createConvBackbone}'s default convolutions per stage for `stages` stages: 1 in the first two (where
 * maps are largest and convolutions most costly), 2 in the others.
 */
export function defaultConvsPerStage(stages: number): number[] {
  return Array.from({ length: stages }, (_, i) => (i < 2 ? 1 : 2));
}

/**
 * A small VGG-like convolutional backbone that trains from scratch on a CPU: stages of 3x3 convolutions
 * with ReLU, each starting with a stride-2 convolution ('same' padding), returning the stages at
 * `outputStrides`, with batch normalisation by default. Weights are He-normal (Kaiming, fan-in, for ReLU),
 * biases zero.
 *
 * With the defaults a 128 x 128 image gives maps of 16 x 16 x 64, 8 x 8 x 96 and 4 x 4 x 128.
 */
export function createConvBackbone(options: ConvBackboneOptions = {}): ConvBackbone {
  const op = 'createConvBackbone';
  const channels = [...(options.channels ?? DEFAULT_BACKBONE_CHANNELS)];
  if (channels.length === 0) throw new InvalidArgumentError(op, 'channels', 'must list at least one stage');
  channels.forEach((c, i) => integerOption(op, `channels[${i}]`, c, { min: 1 }));
  const per = options.convsPerStage ?? defaultConvsPerStage(channels.length);
  const convsPerStage = typeof per === 'number' ? channels.map(() => per) : [...per];
  if (convsPerStage.length !== channels.length) {
    throw new InvalidArgumentError(op, 'convsPerStage', `must be one number or one per stage (${channels.length}), got ${JSON.stringify(per)}`);
  }
  convsPerStage.forEach((n, i) => integerOption(op, `convsPerStage[${i}]`, n, { min: 1 }));
  const strides = channels.map((_, i) => 2 ** (i + 1));
  const outputStrides = [...(options.outputStrides ?? strides.slice(-3))];
  if (
    outputStrides.length === 0 ||
    outputStrides.some((s, i) => !strides.includes(s) || (i > 0 && s <= outputStrides[i - 1]!)) ||
    outputStrides[outputStrides.length - 1] !== strides[strides.length - 1]
  ) {
    throw new InvalidArgumentError(
      op,
      'outputStrides',
      `must be ascending strides of the stages (${strides.join(', ')}) ending with the last one, got ${JSON.stringify(outputStrides)}`,
    );
  }
  const batchNorm = options.batchNorm ?? true;
  const seed = options.seed === undefined ? undefined : integerOption(op, 'seed', options.seed);
  const prefix = uniquePrefix(op, 'backbone', options.name);

  const variables: Record<string, tf.Variable> = {};
  const layers: ConvLayer[][] = [];
  let cin = 3;
  let index = 0;
  tf.tidy(() => {
    channels.forEach((cout, s) => {
      const stage: (typeof layers)[number] = [];
      for (let j = 0; j < convsPerStage[s]!; j++) {
        const key = `stage${s + 1}/conv${j + 1}`;
        const std = Math.sqrt(2 / (9 * cin));
        const kernel = tf.variable(tf.randomNormal([3, 3, cin, cout], 0, std, 'float32', componentSeed(seed, index++)), true, `${prefix}/${key}/kernel`) as tf.Variable<tf.Rank.R4>;
        const bias = tf.variable(tf.zeros([cout]), true, `${prefix}/${key}/bias`) as tf.Variable<tf.Rank.R1>;
        variables[`${key}/kernel`] = kernel;
        variables[`${key}/bias`] = bias;
        const layer: ConvLayer = { kernel, bias, stride: j === 0 ? 2 : 1 };
        if (batchNorm) {
          // The conv bias doubles as batch norm's beta (the norm's own shift would cancel it).
          const gamma = tf.variable(tf.ones([cout]), true, `${prefix}/${key}/gamma`) as tf.Variable<tf.Rank.R1>;
          const movingMean = tf.variable(tf.zeros([cout]), false, `${prefix}/${key}/moving_mean`) as tf.Variable<tf.Rank.R1>;
          const movingVariance = tf.variable(tf.ones([cout]), false, `${prefix}/${key}/moving_variance`) as tf.Variable<tf.Rank.R1>;
          variables[`${key}/gamma`] = gamma;
          variables[`${key}/moving_mean`] = movingMean;
          variables[`${key}/moving_variance`] = movingVariance;
          layer.norm = { gamma, movingMean, movingVariance };
        }
        stage.push(layer);
        cin = cout;
      }
      layers.push(stage);
    });
  });
  const levels = outputStrides.map((stride) => ({ stride, channels: channels[strides.indexOf(stride)]! }));
  const last = strides.indexOf(outputStrides[outputStrides.length - 1]!);

  return {
    config: { channels, convsPerStage, outputStrides, batchNorm },
    levels,
    variables,
    apply(images: tf.Tensor4D, applyOptions: { training?: boolean } = {}): tf.Tensor4D[] {
      const training = applyOptions.training ?? false;
      if (!(images instanceof tf.Tensor) || images.rank !== 4 || images.shape[3] !== 3) {
        throw new ShapeError('ConvBackbone.apply', 'images', '[B, H, W, 3]', images instanceof tf.Tensor ? images.shape : []);
      }
      return tf.tidy(() => {
        const outputs: tf.Tensor4D[] = [];
        let x: tf.Tensor4D = images;
        for (let s = 0; s <= last; s++) {
          for (const layer of layers[s]!) {
            x = normaliseRelu(tf.conv2d(x, layer.kernel, layer.stride, 'same'), layer, training);
          }
          if (outputStrides.includes(strides[s]!)) outputs.push(x);
        }
        return outputs;
      });
    },
    dispose() {
      for (const v of Object.values(variables)) if (!v.isDisposed) v.dispose();
    },
  };
}
