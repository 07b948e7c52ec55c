/**
 * Synchronous GPU reads for tfjs-backend-webgpu in Node. Its `readSync` (what `Tensor.dataSync` calls, and
 * detkit's fused kernels and value checks with it) draws the buffer into an OffscreenCanvas, which Node
 * lacks. In Node detkit replaces it on the backend instance: copy to a mappable buffer, `mapAsync`, and run
 * Node's event loop (native/event-loop-pump.c) until Dawn reports the buffer mapped. Internal to the package.
 */
import type * as NodeModule from 'node:module';
import type * as NodeOs from 'node:os';
import type * as NodePath from 'node:path';
import { DetkitError } from '@detkit/core';

/** The parts of tfjs-backend-webgpu's WebGPUBackend a synchronous read uses. */
interface WebgpuBackendInternals {
  tensorMap: { get(dataId: object): { values: unknown; dtype: string; resource: GpuBuffer; complexTensorInfos?: unknown } };
  bufferManager: { acquireBuffer(size: number, usage: number): GpuBuffer; releaseBuffer(buffer: GpuBuffer): void };
  commandEncoder: { copyBufferToBuffer(src: GpuBuffer, so: number, dst: GpuBuffer, dof: number, size: number): void };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  convertAndCacheOnCPU(dataId: object, values: unknown): unknown;
  readSync(dataId: object): unknown;
}
interface GpuBuffer {
  size: number;
  mapState: 'unmapped' | 'pending' | 'mapped';
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
}

interface Pump {
  runOnce(wait: boolean): boolean;
}

let pump: Pump | undefined;

const NODE_MODULE = 'node:module';
const NODE_PATH = 'node:path';
const NODE_OS = 'node:os';

/**
 * Loads the event-loop pump: the committed binary for this platform, else one compiled now with the
 * system C compiler into the OS temp folder. Node only; call once before the first read.
 */
export async function loadEventLoopPump(): Promise<void> {
  if (pump !== undefined) return;
  const { createRequire } = (await import(/* @vite-ignore */ NODE_MODULE)) as typeof NodeModule;
  const path = (await import(/* @vite-ignore */ NODE_PATH)) as typeof NodePath;
  const os = (await import(/* @vite-ignore */ NODE_OS)) as typeof NodeOs;
  const require = createRequire(import.meta.url);
  const root = path.dirname(require.resolve('@detkit/backends/package.json'));
  const platform = `${process.platform}-${process.arch}`;
  const prebuilt = path.join(root, 'native', 'prebuilt', platform, 'event-loop-pump.node');
  try {
    pump = require(prebuilt) as Pump;
    return;
  } catch {
    // Not shipped for this platform: build it.
  }
  try {
    const { buildPump } = (await import(/* @vite-ignore */ path.join(root, 'native', 'build-pump.mjs'))) as { buildPump(outRoot: string): string };
    pump = require(buildPump(path.join(os.tmpdir(), 'detkit-event-loop-pump'))) as Pump;
  } catch (cause) {
    throw new DetkitError(
      'UNSUPPORTED_PLATFORM',
      `synchronous reads on webgpu in Node need detkit's event-loop pump, which has no binary for ${platform} and could not be compiled (${String((cause as Error)?.message ?? cause).split('\n')[0]}): install a C compiler (cc) or use 'wasm'`,
      { cause },
    );
  }
}

/** GPUBufferUsage / GPUMapMode values (WebGPU spec constants). */
const COPY_DST = 0x0008;
const MAP_READ = 0x0001;
const READ = 0x0001;

/** Replaces `backend.readSync` with the Node implementation (needs {@link loadEventLoopPump} first). */
export function installSyncRead(backend: object): void {
  const b = backend as WebgpuBackendInternals;
  const stock = b.readSync.bind(b);
  b.readSync = (dataId: object): unknown => {
    const data = b.tensorMap.get(dataId);
    if (data.values != null || data.dtype === 'string' || data.dtype === 'complex64') return stock(dataId);
    const size = data.resource.size;
    const staging = b.bufferManager.acquireBuffer(size, COPY_DST | MAP_READ);
    b.ensureCommandEncoderReady();
    b.endComputePassEncoder();
    b.commandEncoder.copyBufferToBuffer(data.resource, 0, staging, 0, size);
    b.submitQueue();
    let failed: unknown;
    staging.mapAsync(READ).catch((error: unknown) => {
      failed = error;
    });
    while (staging.mapState === 'pending' && failed === undefined) pump!.runOnce(true);
    if (staging.mapState !== 'mapped') {
      b.bufferManager.releaseBuffer(staging);
      throw new DetkitError('UNSUPPORTED_PLATFORM', `webgpu: a synchronous read failed (${String(failed ?? `buffer ${staging.mapState}`)})`, { cause: failed });
    }
    const bytes = staging.getMappedRange().slice(0);
    staging.unmap();
    b.bufferManager.releaseBuffer(staging);
    // As tfjs's util.convertBackendValuesAndArrayBuffer: bool is stored as int32 on the GPU, read as Uint8Array.
    const values = data.dtype === 'float32' ? new Float32Array(bytes) : data.dtype === 'int32' ? new Int32Array(bytes) : Uint8Array.from(new Int32Array(bytes));
    return b.convertAndCacheOnCPU(dataId, values);
  };
}
