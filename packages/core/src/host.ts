/**
 * Running a computation on the host (CPU) backend while a device backend is active: tfjs's counterpart of
 * TensorFlow's `with tf.device('/CPU:0')`, which TensorFlow's detection pipelines use to build targets
 * on the CPU beside a GPU model.
 */
import { hasTypedArrayPath } from './kernels';
import { tf } from './tf';

interface EngineInternals {
  registry: Record<string, unknown>;
  backendName: string;
  backendInstance: unknown;
}

/** The backend {@link onHost} runs on: the active one when it is a host backend, else wasm when started, else cpu. */
export function hostBackendName(): 'cpu' | 'wasm' {
  const active = tf.getBackend();
  if (hasTypedArrayPath()) return active as 'cpu' | 'wasm';
  return (tf.engine() as unknown as EngineInternals).registry['wasm'] !== undefined ? 'wasm' : 'cpu';
}

/**
 * Makes `name` the active backend now. tfjs-core's `setBackend` switches synchronously to a backend that
 * is already initialised or initialises synchronously (cpu; the promise it returns only reports it);
 * anything else would leave the engine between backends, so it is checked and thrown.
 */
function switchNow(name: string): void {
  const engine = tf.engine() as unknown as EngineInternals;
  void tf.setBackend(name).catch(() => undefined);
  if (engine.backendName !== name || engine.backendInstance === null || engine.backendInstance !== engine.registry[name]) {
    throw new Error(`@detkit/core onHost: the tfjs backend '${name}' did not start synchronously`);
  }
}

/**
 * Runs `fn` with a host backend active and returns what it returns. On cpu and wasm it simply calls `fn`.
 * On a device backend (webgpu, webgl, tensorflow) it makes tfjs-backend-wasm (when already started, else
 * tfjs-backend-cpu) the active backend for the duration of the call, synchronously, and switches back.
 *
 * What it is for: work whose inputs are host data (typed arrays, tensors made from them) and whose
 * kernels are sequential, such as matching ground truth to anchors. Tensors `fn` makes live on the host
 * backend; a device kernel that later takes one uploads it (tfjs moves data to the backend that reads
 * it), which is a write to the device and never a read back. A device tensor read inside `fn` is read
 * back (a sync download): pass host data. Tensors `fn` returns are not disposed; inside `tf.tidy` they
 * are tracked as usual. The gradient tape records `fn`'s ops like any others.
 *
 * @param fn - Synchronous work; must not switch backends itself.
 * @returns `fn`'s result.
 */
export function onHost<T>(fn: () => T): T {
  if (hasTypedArrayPath()) return fn();
  const active = tf.getBackend();
  switchNow(hostBackendName());
  try {
    return fn();
  } finally {
    switchNow(active);
  }
}
