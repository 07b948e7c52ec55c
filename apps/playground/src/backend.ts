// Where the page and the worker find tfjs-backend-wasm's binaries, and how they pick a backend.
import { useBackend } from '@detkit/backends';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { PlaygroundBackend } from './train-protocol';

let configured = '';

/**
 * Makes `name` the active backend through @detkit/backends' useBackend (which registers detkit's wasm
 * training kernels). tfjs-backend-wasm's .wasm files are served from `wasmFolder` (the build copies them
 * to tfjs-wasm/); tfjs is told so with its own setWasmPaths, as @detkit/core's browser build asks.
 */
export async function startBackend(name: PlaygroundBackend, wasmFolder: string): Promise<string> {
  if (name === 'wasm' && configured !== wasmFolder) {
    setWasmPaths(wasmFolder);
    configured = wasmFolder;
  }
  return useBackend(name);
}
