import { tf } from '@detkit/core';
import type { DataId, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

const FIXED = Symbol.for('detkit.backends.cpuFix');

interface CpuBackend {
  data: { get(dataId: DataId): { values: ArrayLike<number> } };
  makeTensorInfo(shape: number[], dtype: string, values: ArrayLike<number>): TensorInfo;
}

function wrap(kernelName: string, fix: (original: KernelFunc) => KernelFunc): boolean {
  const original = tf.getKernel(kernelName, 'cpu') as (KernelConfig & { [FIXED]?: true }) | undefined;
  if (original === undefined || original[FIXED]) return false;
  tf.unregisterKernel(kernelName, 'cpu');
  tf.registerKernel({ ...original, [FIXED]: true, kernelFunc: fix(original.kernelFunc) } as KernelConfig);
  return true;
}

/**
 * Fixes tfjs-backend-cpu 4.22 kernels that break training or backend switches:
 * - `ResizeBilinearGrad` returns its (correctly laid out) gradient with height and width swapped in the
 *   shape, so `tf.image.resizeBilinear`'s gradient throws for any non-square image. The fix restores the
 *   shape of the resized input.
 * - `Cast` from bool or int32 to float32 returns a tensor sharing the input's data (a Uint8Array or
 *   Int32Array). tfjs tracks one dtype per data buffer, so when such a tensor later moves to the wasm
 *   backend (first use after a switch), it moves as bool or int32 bytes and the float32 tensor reads
 *   garbage there: a 0/1 mask made by `tf.cast` on cpu turns into ~1e-45 on wasm. The fix gives the cast
 *   its own Float32Array.
 *
 * `useBackend('cpu')` calls this. Idempotent; returns the names of the kernels it wrapped now.
 */
export function registerCpuKernelFixes(): string[] {
  const fixed: string[] = [];
  const resize = wrap('ResizeBilinearGrad', (original) => (args) => {
    const out = original(args) as TensorInfo;
    out.shape = [...(args.inputs as { images: TensorInfo }).images.shape];
    return out;
  });
  if (resize) fixed.push('ResizeBilinearGrad');
  const cast = wrap('Cast', (original) => (args) => {
    const x = (args.inputs as { x: TensorInfo }).x;
    const { dtype } = args.attrs as unknown as { dtype: string };
    if (dtype !== 'float32' || (x.dtype !== 'bool' && x.dtype !== 'int32')) return original(args);
    const backend = args.backend as unknown as CpuBackend;
    return backend.makeTensorInfo([...x.shape], 'float32', Float32Array.from(backend.data.get(x.dataId).values));
  });
  if (cast) fixed.push('Cast');
  return fixed;
}
