/** Typed bindings of @detkit/backends' WebAssembly kernels (assembly/index.ts). */
import { defineWasmModule } from '@detkit/core';
import { WASM_BASE64, type WasmExports } from './generated/wasm';

/**
 * Exports of assembly/index.ts: the interface the build generates from the AssemblyScript sources
 * (./generated/wasm.ts); pointers are byte offsets into tfjs-backend-wasm's heap.
 */
export type BackendsWasm = WasmExports;

/** The compiled module: `instantiate(heap)` gives its exports on `heap.memory` (one instance per memory). */
export const backendsWasm = defineWasmModule<BackendsWasm>(WASM_BASE64);
