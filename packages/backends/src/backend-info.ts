import { tf, wasmSimdSupported } from '@detkit/core';
import { getThreadsCount, version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { loadedVersions } from './load-backend';
import { kernelThreadCount } from './wasm-backend';
import { wasmIsThreaded, wasmThreadCount } from './wasm-threads';
import type { AdapterDescription } from './webgpu/adapter';
import { webgpuAdapter } from './webgpu/start-webgpu';

/** What runs detkit's math now (see {@link backendInfo}). */
export interface BackendInfo {
  /** The active tfjs backend: 'wasm', 'cpu', 'tensorflow' (tfjs-node-gpu), 'webgl' or 'webgpu'. */
  backend: string;
  /** Where the backend's data lives: host memory ('cpu', 'wasm') or a device ('gpu'). */
  device: 'cpu' | 'gpu';
  /** On wasm, whether the WebAssembly SIMD build runs; null on other backends. */
  simd: boolean | null;
  /**
   * Threads the backend computes with: on wasm the count it started with (`useBackend`'s `threads`:
   * the calling thread, XNNPACK's pool workers and detkit's kernel helpers), 1 for cpu, null for GPUs.
   */
  threads: number | null;
  /**
   * On wasm, the threads of XNNPACK's pool (tfjs-backend-wasm's own kernels): in Node 1 by default (the
   * calling thread; detkit's kernel threads take the other cores), in a browser `threads`; null on other
   * backends.
   */
  xnnpackThreads: number | null;
  /**
   * On wasm, whether tfjs's threaded build runs (`tfjs-backend-wasm-threaded-simd.wasm`, shared memory,
   * XNNPACK on a worker pool); null on other backends.
   */
  threaded: boolean | null;
  /**
   * On wasm, the threads detkit's own kernels (convolutions and their gradients, products, batch norm, Adam) split their work over: helper
   * workers beside the calling thread on the threaded build in Node, started at the first large call (1
   * until then and elsewhere); null on other backends.
   */
  kernelThreads: number | null;
  /** Versions of tfjs-core and of the active backend's package. */
  versions: { tfjsCore: string; backend: string | null };
  /** 'node' or 'browser'. */
  platform: 'node' | 'browser';
  /**
   * On webgpu, the adapter it runs on: vendor, architecture, device, description, whether it is a software
   * (CPU) implementation such as SwiftShader, and whether it came from Dawn (Node) or the browser. Null on
   * other backends.
   */
  adapter: AdapterDescription | null;
}

function cachedFlag(name: string): boolean | undefined {
  const value = tf.env().getFlags()[name];
  return typeof value === 'boolean' ? value : undefined;
}

/**
 * Reports the active backend, whether it runs WebAssembly SIMD, how many threads, and the versions of
 * tfjs-core and the backend package. Synchronous: it reads what tfjs has already set up (call it after
 * `useBackend`).
 */
export function backendInfo(): BackendInfo {
  const backend = (tf.engine() as unknown as { backendName: string | null }).backendName ?? 'none';
  const platform = typeof process !== 'undefined' && typeof process.versions?.node === 'string' ? 'node' : 'browser';
  const info: BackendInfo = {
    backend,
    device: backend === 'cpu' || backend === 'wasm' || backend === 'none' ? 'cpu' : 'gpu',
    simd: null,
    threads: null,
    threaded: null,
    xnnpackThreads: null,
    kernelThreads: null,
    versions: { tfjsCore: tf.version_core, backend: loadedVersions.get(backend) ?? null },
    platform,
    adapter: null,
  };
  if (backend === 'wasm') {
    info.simd = cachedFlag('WASM_HAS_SIMD_SUPPORT') ?? wasmSimdSupported();
    info.threads = wasmThreadCount();
    info.xnnpackThreads = getThreadsCount();
    info.threaded = wasmIsThreaded();
    info.kernelThreads = kernelThreadCount(tf.backend());
    info.versions.backend = version_wasm;
  } else if (backend === 'cpu') {
    info.threads = 1;
    info.versions.backend = tf.version_core;
  } else if (backend === 'webgpu') {
    info.versions.backend = tf.version_core;
    info.adapter = webgpuAdapter();
  }
  return info;
}
