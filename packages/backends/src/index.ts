// Training needs tfjs-core's gradients, and cpu is every backend's fallback and oracle: registered in browser
// bundles too (@detkit/core's Node build already registers both; its browser build imports no backend).
import '@detkit/core/gradients';
import '@tensorflow/tfjs-backend-cpu';

export { useBackend, BACKEND_NAMES, type BackendName, type UseBackendOptions } from './use-backend';
export { backendInfo, type BackendInfo } from './backend-info';
export {
  startDataParallel,
  runReplica,
  type DataParallel,
  type DataParallelOptions,
  type DataParallelState,
  type Replica,
  type ReplicaContext,
} from './data-parallel';
// Moved to @detkit/core (which applies them on import); re-exported here for existing callers.
export { registerCpuKernelFixes, registerGradientFixes } from '@detkit/core';
export { registerWasmTrainingKernels, ADDED_WASM_KERNELS, REPLACED_WASM_KERNELS } from './register-wasm-training-kernels';
export { registerWebgpuKernels, ADDED_WEBGPU_KERNELS } from './webgpu/register-webgpu-kernels';
export { isSoftwareAdapter, type AdapterDescription } from './webgpu/adapter';
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
