/**
 * What `@detkit/core`'s Node build does on import: registers tfjs-core's gradients and chained tensor
 * methods (inlined from tfjs-core's ESM build by tsup, see tsup.config.ts: tfjs-core's CommonJS main, which
 * Node loads, has neither) and the cpu and wasm backends, then applies detkit's fixes of tfjs 4.22 to them.
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { provideWasmPathSetter } from './backend';
import { registerCpuKernelFixes } from './cpu-kernel-fixes';
import { registerGradientFixes } from './gradient-fixes';

// Gradients that ignore broadcasting, and cpu kernels that are wrong or far too slow to train with.
registerGradientFixes();
registerCpuKernelFixes();
provideWasmPathSetter(setWasmPaths);
