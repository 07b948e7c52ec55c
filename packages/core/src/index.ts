export { tf } from './tf';
export { detach } from './detach';
export { onHost, hostBackendName } from './host';
export { assertGpuContext, gpuContextLost } from './gpu-context';
export { createRandom, type Random, type RandomState, type SeededRandom } from './random';
export { registerGradientFixes } from './gradient-fixes';
export { registerCpuKernelFixes, stockCpuKernel } from './cpu-kernel-fixes';
export {
  DetkitError,
  ShapeError,
  InvalidValueError,
  InvalidArgumentError,
  BackendUnavailableError,
  type DetkitErrorCode,
} from './errors';
export { assignWeights, saveWeights, type SaveWeightsOptions } from './weights';
export { assignBestPriors } from './assign-best-priors';
export { setupBackend, nodeWasmDistPath, type CoreBackendName, type SetupBackendOptions } from './backend';
export {
  runTypedArrayKernel,
  hasTypedArrayPath,
  hasFusedKernel,
  BATCH_NORM_TRAIN_KERNELS,
  ADAM_KERNEL,
  MOVING_AVERAGE_KERNEL,
  RELU_GRAD_KERNEL,
  peekValues,
  type TypedArrayKernel,
  type KernelInput,
  type KernelOutput,
  type KernelContext,
  type KernelDtype,
  type KernelArray,
  type WasmHeap,
} from './kernels';
export {
  toTensor,
  assertBoxesShape,
  assertShape,
  assertFinite,
  assertValidBoxes,
  assertNumberInRange,
  MAX_INPUT_MAGNITUDE,
  setValueChecks,
  valueChecksEnabled,
  type TensorInput,
  type ToTensorOptions,
} from './checks';
export {
  numberOption,
  integerOption,
  booleanOption,
  type NumberOptionSpec,
  type IntegerOptionSpec,
  type BooleanOptionSpec,
} from './options';
export {
  defineWasmModule,
  callWasmKernel,
  setWasmSplitRunner,
  wasmSimdSupported,
  type WasmModule,
  type WasmPointers,
  type WasmCall,
  type WasmSplitRunner,
} from './wasm-kernels';
