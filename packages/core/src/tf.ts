/**
 * The one place detkit sets TensorFlow.js up. Importing `@detkit/core` (which every detkit package does)
 * registers tfjs-core's gradients, its chained tensor methods (`x.square()`) and the cpu and wasm backends,
 * and applies detkit's fixes of tfjs 4.22 (`registerGradientFixes`, `registerCpuKernelFixes`).
 *
 * Why this file exists: in native Node ESM, `@tensorflow/tfjs-core` resolves to its CommonJS bundle,
 * which ships neither gradients nor chained ops, and its ESM `dist/register_all_*` modules cannot be deep-imported by Node
 * (extension-less relative imports). tsup inlines those modules into @detkit/core's build (`noExternal`),
 * and the inlined gradients register into tfjs's global registry, shared by every copy of tfjs-core.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerCpuKernelFixes } from './cpu-kernel-fixes';
import { registerGradientFixes } from './gradient-fixes';

// Fixes of tfjs 4.22 that every detkit user needs, whichever backend they pick: gradients that ignore
// broadcasting, and cpu kernels that are wrong or far too slow to train with.
registerGradientFixes();
registerCpuKernelFixes();

/**
 * The TensorFlow.js core namespace (`@tensorflow/tfjs-core`), with gradients, chained ops and the cpu and
 * wasm backends registered. Use it, or your own import of tfjs-core: both share one engine.
 */
export { tf };
