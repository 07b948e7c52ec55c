/**
 * A WebGL context the browser has taken away. When Chrome resets its GPU process (a driver hang, the GPU
 * watchdog on a loaded machine, too much GPU memory), every WebGL context of the page is lost: the
 * textures holding tfjs's tensors are gone and each later GL call is a no-op, so kernels "run" and read
 * back zeros. tfjs-backend-webgl does not notice: it only drops the context from its cache, and because it
 * calls `preventDefault()` on `webglcontextlost`, Chrome then restores a fresh, empty context into the same
 * `WebGLRenderingContext`, whose `isContextLost()` is false again while every texture, program and buffer
 * tfjs made before belongs to the old one. A detector on either would silently find nothing.
 * {@link assertGpuContext} turns both into an error.
 */
import { BackendUnavailableError } from './errors';
import { tf } from './tf';

interface WebglBackendInternals {
  gpgpu?: {
    gl?: { isContextLost?: () => boolean; isBuffer?: (buffer: unknown) => boolean };
    /** The quad tfjs-backend-webgl's GPGPUContext makes (and binds) once, when it starts. */
    vertexBuffer?: unknown;
  };
}

/**
 * True when the active tfjs backend is `webgl` and the WebGL context its tensors live in is gone: lost now
 * (`WebGLRenderingContext.isContextLost()`), or lost and restored since tfjs started on it (the vertex
 * buffer tfjs made then is no longer a buffer of the context: `gl.isBuffer(vertexBuffer)` is false, as for
 * every object of a lost context). False for every other backend and for a live context.
 *
 * @param backend - A tfjs-backend-webgl instance to check instead of the active backend, e.g.
 *   `tf.findBackend('webgl')` (false for a backend without a WebGL context).
 */
export function gpuContextLost(backend?: tf.KernelBackend): boolean {
  if (backend === undefined && tf.getBackend() !== 'webgl') return false;
  const gpgpu = ((backend ?? tf.backend()) as unknown as WebglBackendInternals).gpgpu;
  const gl = gpgpu?.gl;
  if (gl == null) return false;
  if (gl.isContextLost?.() === true) return true;
  return gpgpu!.vertexBuffer != null && gl.isBuffer?.(gpgpu!.vertexBuffer) === false;
}

/**
 * Throws when the active backend's GPU context is lost or was restored empty ({@link gpuContextLost});
 * call it after reading a result back, so that zeros read from a lost context never pass for an answer.
 *
 * @param op - The operation to name in the error, e.g. `'detect'`.
 * @throws BackendUnavailableError (`backend: 'webgl'`) saying the context was lost and what to do.
 */
export function assertGpuContext(op: string): void {
  if (!gpuContextLost()) return;
  throw new BackendUnavailableError(
    'webgl',
    `${op}: the browser lost the WebGL context (it reset the GPU), so the tensors on it are gone and its results were zeros`,
    "Reload the page, or dispose the model, call useBackend('webgl') from @detkit/backends (it replaces a WebGL backend whose context is gone) and load the model again; or use 'wasm'.",
  );
}
