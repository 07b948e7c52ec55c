import { tf } from '@detkit/core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { fastBatchMatMulConfig } from './batch-mat-mul';
import { batchNormTrainConfig, batchNormTrainGradConfig } from './batch-norm';
import { conv2dBackpropFilterConfig, conv2dBackpropInputConfig } from './conv2d-backprop';
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from './depthwise-backprop';
import { maxPoolGradConfig } from './max-pool-grad';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum';

/**
 * Kernels tfjs-backend-wasm 4.22 lacks, which training a conv net needs, and detkit's fused training-mode
 * batch norm (@detkit/core's `BATCH_NORM_TRAIN_KERNELS`, used by @detkit/models); detkit adds them.
 */
export const ADDED_WASM_KERNELS = [
  'Conv2DBackpropFilter',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'UnsortedSegmentSum',
  'DetkitBatchNormTrain',
  'DetkitBatchNormTrainGrad',
] as const;

/**
 * tfjs-backend-wasm kernels detkit replaces: two slow ones (same results within float32 rounding) and
 * `MaxPoolGrad`, whose 4.22 version drops the gradient of windows whose maximum is negative.
 */
export const REPLACED_WASM_KERNELS = ['Conv2DBackpropInput', 'BatchMatMul', 'MaxPoolGrad'] as const;

const DETKIT = Symbol.for('detkit.backends.kernel');
type Marked = KernelConfig & { [DETKIT]?: true };

function mark(config: KernelConfig): KernelConfig {
  return Object.assign(config, { [DETKIT]: true as const });
}

function isOurs(name: string): boolean {
  return (tf.getKernel(name, 'wasm') as Marked | undefined)?.[DETKIT] === true;
}

function install(config: KernelConfig): void {
  if (tf.getKernel(config.kernelName, 'wasm') !== undefined) tf.unregisterKernel(config.kernelName, 'wasm');
  tf.registerKernel(mark(config));
}

/**
 * Makes tfjs-backend-wasm able to train conv nets, and fast at it: registers, for the `wasm` backend,
 * the gradient kernels it lacks ({@link ADDED_WASM_KERNELS}: conv2d's filter gradient, depthwise conv's
 * filter and input gradients, and `UnsortedSegmentSum`, tf.gather's gradient) and replaces three
 * ({@link REPLACED_WASM_KERNELS}: conv2d's input gradient and matrix products with transposed or batched
 * operands, which are slow, and max-pool's gradient, which is wrong for negative maxima). The heavy arithmetic runs in tfjs-backend-wasm's own XNNPACK matrix product; data movement
 * runs in detkit's SIMD wasm kernels, in tfjs's heap.
 *
 * Registering kernels is a global side effect on tfjs's kernel registry, so it is explicit:
 * `useBackend('wasm')` calls this. Idempotent. Returns the names of the kernels it registered now.
 */
export function registerWasmTrainingKernels(): string[] {
  const added: string[] = [];
  const configs: KernelConfig[] = [
    conv2dBackpropFilterConfig,
    conv2dBackpropInputConfig,
    depthwiseBackpropFilterConfig,
    depthwiseBackpropInputConfig,
    unsortedSegmentSumConfig,
    maxPoolGradConfig,
    batchNormTrainConfig,
    batchNormTrainGradConfig,
  ];
  for (const config of configs) {
    if (isOurs(config.kernelName)) continue;
    install({ ...config });
    added.push(config.kernelName);
  }
  const matMul = tf.getKernel('BatchMatMul', 'wasm');
  if (matMul !== undefined && !isOurs('BatchMatMul')) {
    install(fastBatchMatMulConfig(matMul));
    added.push('BatchMatMul');
  }
  return added;
}
