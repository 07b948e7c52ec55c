/**
 * Adam's update as one kernel per variable for tfjs-backend-wasm (@detkit/core's `ADAM_KERNEL`, used by
 * @detkit/models' `adam`), where tfjs's `AdamOptimizer` runs about fourteen one-thread element-wise kernels
 * per variable (mul, add, square, div, sqrt, ... each with its own output): in the trainer's SSD step about 230
 * `Multiply`, 170 `Add` and 110 `RealDiv` calls. Same operations in the same order in float32, so the same bits
 * as tfjs's chain; split over the kernel threads for large variables.
 */
import { ADAM_KERNEL } from '@detkit/core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { callAddress, runPhases, runsAhead } from './deferred';
import { addressOf, type WasmBackend } from './wasm-backend';

/** The Adam kernel's attributes (see @detkit/core's `ADAM_KERNEL`). */
interface AdamAttrs {
  beta1: number;
  beta2: number;
  oneMinusBeta1: number;
  oneMinusBeta2: number;
  oneMinusAccBeta1: number;
  oneMinusAccBeta2: number;
  epsilon: number;
  negLearningRate: number;
}

/** `DetkitAdam` on wasm: inputs value, m, v, gradient (float32, one shape); outputs the new value, m, v. */
export const adamConfig: KernelConfig = {
  kernelName: ADAM_KERNEL,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const wasm = backend as WasmBackend;
    const { value, m, v, gradient } = inputs as Record<'value' | 'm' | 'v' | 'gradient', TensorInfo>;
    const a = attrs as unknown as AdamAttrs;
    const params = wasm.makeOutput([8], 'float32');
    (wasm.typedArrayFromHeap(params) as Float32Array).set([
      a.beta1, a.beta2, a.oneMinusBeta1, a.oneMinusBeta2, a.oneMinusAccBeta1, a.oneMinusAccBeta2, a.epsilon, a.negLearningRate,
    ]);
    const outs = [0, 1, 2].map(() => wasm.makeOutput([...value.shape], 'float32'));
    const size = value.shape.reduce((s, d) => s * d, 1);
    // Queued where the backend runs ahead (./deferred): the gradient is usually still pending then.
    const ahead = runsAhead(wasm);
    const addresses = [...[value, m, v, gradient].map((t) => callAddress(wasm, t, ahead)), ...[params, ...outs].map((t) => addressOf(wasm, t))];
    runPhases(wasm, [{ kernel: 'adamUpdate', args: addresses, total: size, align: 4, work: size }], { outputs: outs, reads: [value, m, v, gradient], scratch: [params] }, ahead);
    return outs as TensorInfo[];
  },
};
