// assertGpuContext in Node: a stand-in 'webgl' backend (tfjs-backend-cpu's factory under that name, with
// the `gpgpu.gl` and `gpgpu.vertexBuffer` tfjs-backend-webgl keeps) whose context the test loses, and
// restores (the old vertex buffer then is not a buffer of it). The real thing, a context lost, and lost and
// restored, in headless Chromium through WEBGL_lose_context, is in tooling/consumer's browser test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from './backend';
import { BackendUnavailableError, DetkitError } from './errors';
import { assertGpuContext, gpuContextLost } from './gpu-context';
import { tf } from './tf';

describe('assertGpuContext', () => {
  let lost = false;
  let restored = false;
  const vertexBuffer = {};
  beforeAll(async () => {
    await setupBackend('wasm');
    tf.registerBackend('webgl', () => {
      const backend = tf.findBackendFactory('cpu')!() as tf.KernelBackend & { gpgpu?: unknown };
      backend.gpgpu = { gl: { isContextLost: () => lost, isBuffer: (b: unknown) => b === vertexBuffer && !restored }, vertexBuffer };
      return backend;
    });
  });
  afterAll(async () => {
    await tf.setBackend('wasm');
    tf.removeBackend('webgl');
  });

  it('is quiet on wasm and on a live WebGL context', async () => {
    expect(gpuContextLost()).toBe(false);
    expect(() => assertGpuContext('detect')).not.toThrow();
    await tf.setBackend('webgl');
    expect(gpuContextLost()).toBe(false);
    expect(() => assertGpuContext('detect')).not.toThrow();
  });

  it('throws BackendUnavailableError naming webgl and the op once the context is lost', async () => {
    await tf.setBackend('webgl');
    lost = true;
    try {
      expect(gpuContextLost()).toBe(true);
      let thrown: unknown;
      try {
        assertGpuContext('detect');
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(BackendUnavailableError);
      expect(DetkitError.isInstance(thrown) && thrown.code).toBe('BACKEND_UNAVAILABLE');
      expect((thrown as BackendUnavailableError).backend).toBe('webgl');
      expect((thrown as Error).message).toMatch(/detect: the browser lost the WebGL context/);
      await tf.setBackend('wasm');
      expect(gpuContextLost()).toBe(false);
    } finally {
      lost = false;
    }
  });

  it('throws once the context was lost and restored empty (isContextLost is false again, tfjs\'s buffers are gone)', async () => {
    await tf.setBackend('webgl');
    restored = true;
    try {
      expect(gpuContextLost()).toBe(true);
      expect(() => assertGpuContext('detect')).toThrow(BackendUnavailableError);
      await tf.setBackend('wasm');
      expect(gpuContextLost()).toBe(false);
      // A given backend is checked whichever is active: the 'webgl' instance, and one without a WebGL context.
      expect(gpuContextLost(tf.findBackend('webgl')!)).toBe(true);
      expect(gpuContextLost(tf.findBackend('wasm')!)).toBe(false);
    } finally {
      restored = false;
    }
  });
});
