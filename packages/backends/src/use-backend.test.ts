import { availableParallelism } from 'node:os';
import { BackendUnavailableError, DetkitError, tf } from '@detkit/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { backendInfo } from './backend-info';
import { useBackend, type BackendName } from './use-backend';

/** Runs `fn`, expecting a BackendUnavailableError; returns it. */
async function unavailable(fn: () => Promise<unknown>): Promise<BackendUnavailableError> {
  let caught: unknown;
  try {
    await fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(BackendUnavailableError);
  expect(DetkitError.isInstance(caught)).toBe(true);
  return caught as BackendUnavailableError;
}

describe('useBackend', () => {
  beforeEach(async () => {
    await useBackend('wasm');
  });

  it("activates 'cpu' and 'wasm' (the wasm files found from the installed package, no options)", async () => {
    expect(await useBackend('cpu')).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(await useBackend('wasm')).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(tf.sum(tf.tensor1d([1, 2, 3])).dataSync()[0]).toBe(6);
  });

  it("'gpu' without @tensorflow/tfjs-node-gpu installed: typed error naming backend, cause and install; wasm stays", async () => {
    const e = await unavailable(() => useBackend('gpu'));
    expect(e.backend).toBe('gpu');
    expect(e.code).toBe('BACKEND_UNAVAILABLE');
    expect(e.message).toContain('@tensorflow/tfjs-node-gpu is not installed');
    expect(e.hint).toContain('npm install @tensorflow/tfjs-node-gpu');
    expect(e.cause).toBeDefined();
    expect(tf.getBackend()).toBe('wasm');
  });

  it("'gpu' when tfjs-node-gpu is present but its native addon cannot load: typed error with the loader's cause", async () => {
    await useBackend('cpu');
    const e = await unavailable(() => useBackend('gpu', { loadNodeGpu: () => import('../test/fixtures/broken-node-gpu.mjs') }));
    expect(e.backend).toBe('gpu');
    expect(e.message).toContain('failed to load');
    expect(e.message).toContain('libcudart.so.11.0');
    expect(String((e.cause as Error).message)).toContain('libcudart');
    expect(tf.getBackend()).toBe('cpu');
  });

  it("'gpu' when the package loads but registers no TensorFlow backend: typed error", async () => {
    const e = await unavailable(() => useBackend('gpu', { loadNodeGpu: async () => ({}) }));
    expect(e.message).toContain("registered no 'tensorflow' backend");
    expect(tf.getBackend()).toBe('wasm');
  });

  it.each(['webgl', 'webgpu'] as const)("'%s' in Node: typed error, previous backend stays", async (name) => {
    const e = await unavailable(() => useBackend(name));
    expect(e.backend).toBe(name);
    expect(e.hint.length).toBeGreaterThan(0);
    expect(tf.getBackend()).toBe('wasm');
  });

  it('an unknown name: typed error naming it', async () => {
    const e = await unavailable(() => useBackend('tpu' as BackendName));
    expect(e.backend).toBe('tpu');
    expect(e.message).toContain('unknown backend name');
    expect(tf.getBackend()).toBe('wasm');
  });

  it("'auto' in Node without a GPU package takes wasm", async () => {
    await useBackend('cpu');
    expect(await useBackend('auto')).toBe('wasm');
  });
});

describe('backendInfo', () => {
  it('reports wasm with SIMD, on every core by default (the threaded build from 2 cores), and versions', async () => {
    await useBackend('wasm');
    const info = backendInfo();
    const cores = Math.min(8, availableParallelism());
    expect(info).toMatchObject({ backend: 'wasm', device: 'cpu', simd: true, threads: cores, threaded: cores > 1, platform: 'node' });
    expect(info.versions.tfjsCore).toBe(tf.version_core);
    expect(info.versions.backend).toMatch(/^4\.22\./);
  });

  it('reports cpu', async () => {
    await useBackend('cpu');
    expect(backendInfo()).toMatchObject({ backend: 'cpu', device: 'cpu', simd: null, threads: 1, threaded: null });
  });
});
