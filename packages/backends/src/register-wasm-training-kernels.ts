import { setWasmSplitRunner, tf } from '@detkit/core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { adamConfig } from './adam';
import { queuedAddConfig } from './add';
import { fastBatchMatMulConfig, fusedMatMulConfig } from './batch-mat-mul';
import { fastSumConfig } from './sum';
import { fastTileConfig } from './tile';
import { batchNormTrainConfig, batchNormTrainGradConfig, fastFusedBatchNormConfig, movingAverageConfig } from './batch-norm';
import { directConv2DConfig, directFusedConv2DConfig } from './conv2d';
import { conv2dBackpropFilterConfig, conv2dBackpropInputConfig } from './conv2d-backprop';
import { sharedIdentityConfig } from './identity';
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from './depthwise-backprop';
import { maxPoolGradConfig } from './max-pool-grad';
import { reluGradConfig } from './relu-grad';
import { fastSliceConfigs } from './slice';
import { fastTransposeConfig } from './transpose';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum';
import { splitOnKernelThreads } from './wasm-backend';

/**
 * Kernels tfjs-backend-wasm 4.22 lacks, which training a conv net needs, and detkit's fused training-mode
 * batch norm, moving-statistic update and Adam update (@detkit/core's `BATCH_NORM_TRAIN_KERNELS`,
 * `MOVING_AVERAGE_KERNEL` and `ADAM_KERNEL`, used by @detkit/models) and ReLU gradient (`RELU_GRAD_KERNEL`,
 * used by @detkit/heads' fused layers); detkit adds them.
 */
export const ADDED_WASM_KERNELS = [
  'Conv2DBackpropFilter',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'UnsortedSegmentSum',
  'DetkitBatchNormTrain',
  'DetkitBatchNormTrainGrad',
  'DetkitMovingAverage',
  'DetkitAdam',
  'DetkitReluGrad',
] as const;

/**
 * tfjs-backend-wasm kernels detkit replaces: slow ones (the convolution's input gradient: the same results
 * within float32 rounding; the convolution, the fused convolution, the matrix product (plain and fused), transposes, slices
 * and sums over leading axes: the same bits; `Identity`, which copied, now shares the buffer) and `MaxPoolGrad`,
 * whose 4.22 version drops the gradient of windows whose maximum is negative.
 */
export const REPLACED_WASM_KERNELS = ['Conv2DBackpropInput', 'BatchMatMul', 'MaxPoolGrad', 'Transpose', 'Tile', 'Sum', 'FusedBatchNorm', 'Slice', 'SplitV', 'Unpack', 'Identity', 'Conv2D', 'FusedConv2D', 'Add', '_FusedMatMul'] as const;

const DETKIT = Symbol.for('detkit.backends.kernel');
type Marked = KernelConfig & { [DETKIT]?: true; [REPLACED]?: KernelConfig };

/**
 * Key under which a replacing kernel's config keeps tfjs-backend-wasm's own (`config[Symbol.for(
 * 'detkit.backends.replaced')]`), so that a benchmark can register it again for a comparison (apps/bench/kernel-ab.mjs).
 */
const REPLACED = Symbol.for('detkit.backends.replaced');

function mark(config: KernelConfig, replaced?: KernelConfig): KernelConfig {
  return Object.assign(config, { [DETKIT]: true as const }, replaced === undefined ? {} : { [REPLACED]: replaced });
}

function isOurs(name: string): boolean {
  return (tf.getKernel(name, 'wasm') as Marked | undefined)?.[DETKIT] === true;
}

function install(config: KernelConfig): void {
  const replaced = tf.getKernel(config.kernelName, 'wasm');
  if (replaced !== undefined) tf.unregisterKernel(config.kernelName, 'wasm');
  tf.registerKernel(mark(config, replaced));
}

/**
 * Makes tfjs-backend-wasm able to train conv nets, and fast at it: registers, for the `wasm` backend,
 * the gradient kernels it lacks ({@link ADDED_WASM_KERNELS}: conv2d's filter gradient, depthwise conv's
 * filter and input gradients, and `UnsortedSegmentSum`, tf.gather's gradient) and replaces others
 * ({@link REPLACED_WASM_KERNELS}: the convolution and its input gradient, matrix products, transposes,
 * strided slices, tiling, sums over leading axes (bias gradients), inference-mode batch norm and `Identity`, which are slow, and max-pool's gradient, which is wrong for negative
 * maxima). The convolutions, their gradients and most products run in detkit's direct SIMD kernels, the
 * rest in tfjs-backend-wasm's XNNPACK; everything in tfjs's heap. Also registers @detkit/core's
 * `WasmSplitRunner` ({@link splitOnKernelThreads}), so that other packages' wasm kernels on that heap
 * (@detkit/heads' RoIAlign and its gradient) are split over the same kernel threads.
 *
 * Registering kernels is a global side effect on tfjs's kernel registry, so it is explicit:
 * `useBackend('wasm')` calls this. Idempotent. Returns the names of the kernels it registered now.
 */
export function registerWasmTrainingKernels(): string[] {
  // Other packages' wasm kernels on tfjs-backend-wasm's heap run on the same kernel threads.
  setWasmSplitRunner(splitOnKernelThreads);
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
    movingAverageConfig,
    adamConfig,
    reluGradConfig,
  ];
  for (const config of configs) {
    if (isOurs(config.kernelName)) continue;
    install({ ...config });
    added.push(config.kernelName);
  }
  // Replacements that wrap tfjs-backend-wasm's own kernels (kept for what they do not handle).
  const replacements: [readonly string[], (originals: KernelConfig[]) => KernelConfig[]][] = [
    [['BatchMatMul', '_FusedMatMul'], ([matMul, fused]) => [fastBatchMatMulConfig(matMul!), fusedMatMulConfig(fused!)]],
    [['Transpose'], ([transpose]) => [fastTransposeConfig(transpose!)]],
    [['Tile'], ([tile]) => [fastTileConfig(tile!)]],
    [['Sum'], ([sum]) => [fastSumConfig(sum!)]],
    [['FusedBatchNorm'], ([batchNorm]) => [fastFusedBatchNormConfig(batchNorm!)]],
    [['Identity'], ([identity]) => [sharedIdentityConfig(identity!)]],
    [['Add'], ([add]) => [queuedAddConfig(add!)]],
    [['Conv2D', 'FusedConv2D'], ([conv, fused]) => [directConv2DConfig(conv!), directFusedConv2DConfig(fused!)]],
    [['Slice', 'SplitV', 'Unpack'], ([slice, splitV, unpack]) => fastSliceConfigs({ slice: slice!, splitV: splitV!, unpack: unpack! })],
  ];
  for (const [names, make] of replacements) {
    const originals = names.map((name) => tf.getKernel(name, 'wasm'));
    if (originals.some((kernel) => kernel === undefined) || isOurs(names[0]!)) continue;
    for (const config of make(originals as KernelConfig[])) {
      install(config);
      added.push(config.kernelName);
    }
  }
  return added;
}
