/**
 * `Identity` for tfjs-backend-wasm without a copy. tfjs clones every tensor it saves for the backward pass
 * (`Engine.saveTensorsForBackwardMode`, and `tf.customGrad`'s saved tensors) through `Identity`, and
 * tfjs-backend-wasm 4.22's `Identity` copies the data: 331 copies in one step of the trainer's default
 * SSD, 1,121 in Faster R-CNN's, most of them activation maps of megabytes, on one thread. tfjs tensors are
 * immutable (a variable's `assign` takes a new buffer), so the clone can share the buffer and count one
 * more reference to it, as tfjs-backend-cpu's `Identity` and tfjs-backend-wasm's own `Reshape` do. String
 * tensors keep tfjs's kernel.
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { replacing, type WasmBackend } from './wasm-backend';

/** The zero-copy `Identity`, falling back to tfjs-backend-wasm's kernel (`original`) for strings. */
export function sharedIdentityConfig(original: KernelConfig): KernelConfig {
  return replacing(original, (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    if (x.dtype === 'string') return original.kernelFunc(args);
    (args.backend as WasmBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  });
}
