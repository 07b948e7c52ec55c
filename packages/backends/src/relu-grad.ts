/**
 * `DetkitReluGrad` for tfjs-backend-wasm (@detkit/core's `RELU_GRAD_KERNEL`): dy where y > 0, else 0, for a
 * ReLU's output y (@detkit/heads' fused convolution and dense layers take their gradient through it).
 * One pass of the `reluGrad` kernel, queued behind the calls that made dy where the backend runs ahead
 * (./deferred), so a backward pass through a fused layer does not stop there.
 */
import { RELU_GRAD_KERNEL, ShapeError } from '@detkit/core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { callAddress, runPhases, runsAhead } from './deferred';
import { addressOf, PASS_WORK_PER_ELEMENT, type WasmBackend } from './wasm-backend';

/** `DetkitReluGrad` on wasm: inputs dy and y (float32, one shape); output dy masked by y > 0. */
export const reluGradConfig: KernelConfig = {
  kernelName: RELU_GRAD_KERNEL,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend }) => {
    const wasm = backend as WasmBackend;
    const { dy, y } = inputs as { dy: TensorInfo; y: TensorInfo };
    if (dy.shape.length !== y.shape.length || dy.shape.some((d, i) => d !== y.shape[i])) throw new ShapeError(RELU_GRAD_KERNEL, 'y', `[${dy.shape.join(', ')}] (dy's)`, y.shape);
    if (dy.dtype !== 'float32' || y.dtype !== 'float32') throw new TypeError(`${RELU_GRAD_KERNEL}: dy and y must be float32, got ${dy.dtype} and ${y.dtype}`);
    const size = dy.shape.reduce((n, d) => n * d, 1);
    const out = wasm.makeOutput([...dy.shape], 'float32');
    const ahead = runsAhead(wasm);
    const phase = { kernel: 'reluGrad' as const, args: [callAddress(wasm, dy, ahead), callAddress(wasm, y, ahead), addressOf(wasm, out)], total: size, align: 4, work: size * PASS_WORK_PER_ELEMENT };
    runPhases(wasm, [phase], { outputs: [out], reads: [dy, y], scratch: [] }, ahead);
    return out;
  },
};
