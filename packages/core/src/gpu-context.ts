/**
 * A WebGL context the browser has taken away. When Chrome resets its GPU process (a driver hang, the GPU
 * watchdog on a loaded machine, too much GPU memory), every WebGL context of the page is lost: the
 * textures holding tfjs's tensors are gone and each later GL call is a no-op, so kernels "run" and read
 * back zeros. tfjs-backend-webgl does not notice (it only drops the context from its cache), and a
 * detector on it would silently find nothing. {@link assertGpuContext} turns that into an error.
 */
import { BackendUnavailableError } from './errors';
import { tf } from './tf';

interface WebglBackendInternals {
  gpgpu?: { gl?: { isContextLost?: () => boolean } };
}

/**
 * True when the active tfjs backend is `webgl` and its WebGL context has been lost
 * (`WebGLRenderingContext.isContextLost()`); false for every other backend and for a live context.
 */
export function gpuContextLost(): boolean {
  if (tf.getBackend() !== 'webgl') return false;
  const gl = (tf.backend() as unknown as WebglBackendInternals).gpgpu?.gl;
  return gl?.isContextLost?.() === true;
}

/**
 * Throws when the active backend's GPU context is lost ({@link gpuContextLost}); call it after reading a
 * result back, so that zeros read from a lost context never pass for an answer.
 *
 * @param op - The operation to name in the error, e.g. `'detect'`.
 * @throws BackendUnavailableError (`backend: 'webgl'`) saying the context was lost and what to do.
 */
export function assertGpuContext(op: string): void {
  if (!gpuContextLost()) return;
  throw new BackendUnavailableError(
    'webgl',
    `${op}: the browser lost the WebGL context (it reset the GPU), so the tensors on it are gone and its results were zeros`,
    "Reload the page (or remove and set the 'webgl' backend again) and load the model again, or use 'wasm'.",
  );
}
