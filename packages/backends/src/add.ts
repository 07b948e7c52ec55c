/**
 * `Add` for tfjs-backend-wasm while a pass runs ahead (./deferred): two float32 tensors of one shape are
 * added by a queued call (`scaledSum` with both factors 1: a · 1 + b · 1 = a + b, each rounded as tfjs's
 * Add rounds it, so the same bits) instead of tfjs's kernel, which would wait for pending inputs. A training
 * step's backward pass adds the gradients of a tensor read twice (a feature map read by the next layer and
 * by a head) this way. Otherwise, and for broadcasts and other dtypes, tfjs-backend-wasm's kernel runs.
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { queuedAddress, runQueued, runsAhead } from './deferred';
import { addressOf, replacing, type WasmBackend } from './wasm-backend';

/** Wraps tfjs-backend-wasm's `Add` (`original`): queued for same-shape float32 operands where the backend runs ahead. */
export function queuedAddConfig(original: KernelConfig): KernelConfig {
  return replacing(original, (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const backend = args.backend as WasmBackend;
    const sameShape = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || !sameShape || !runsAhead(backend)) return original.kernelFunc(args);
    const size = a.shape.reduce((n, d) => n * d, 1);
    const out = backend.makeOutput([...a.shape], 'float32');
    const ones = backend.makeOutput([2], 'float32');
    (backend.typedArrayFromHeap(ones) as Float32Array).set([1, 1]);
    const phase = { kernel: 'scaledSum' as const, args: [queuedAddress(backend, a), queuedAddress(backend, b), addressOf(backend, ones), addressOf(backend, out)], total: size, align: 4, work: size };
    runQueued(backend, [phase], { outputs: [out], reads: [a, b], scratch: [ones] });
    return out;
  });
}
