export { useBackend, BACKEND_NAMES, type BackendName, type UseBackendOptions } from './use-backend';
export { backendInfo, type BackendInfo } from './backend-info';
export { registerCpuKernelFixes } from './cpu-kernel-fixes';
export { registerGradientFixes } from './gradient-fixes';
export { registerWasmTrainingKernels, ADDED_WASM_KERNELS, REPLACED_WASM_KERNELS } from './register-wasm-training-kernels';
export {
  evaluateCase,
  compareCaseResults,
  numericGradients,
  DEFAULT_TOLERANCE,
  type ConformanceCase,
  type HostTensor,
  type HostResult,
  type CaseResult,
} from './conformance';
