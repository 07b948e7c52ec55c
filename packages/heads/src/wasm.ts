/** Typed bindings of @detkit/heads' WebAssembly kernels (assembly/index.ts). */
import { defineWasmModule } from '@detkit/core';
import { WASM_BASE64, type WasmExports } from './generated/wasm';

/**
 * Exports of assembly/index.ts: the interface the build generates from the AssemblyScript sources
 * (./generated/wasm.ts); pointers are byte offsets into the memory the module runs in.
 */
export type HeadsWasm = WasmExports;

/** The compiled module: `instantiate(heap)` gives its exports on `heap.memory` (one instance per memory). */
export const headsWasm = defineWasmModule<HeadsWasm>(WASM_BASE64);

/**
 * Scratch bytes of `roiAlignForward` / `roiAlignBackward` per range they may be split into: per box of the
 * forward, per image of the gradient (ALIGN_SCRATCH_STRIDE: one RoI's geometry, 24, and one sample's
 * corners, 32, padded to a cache line, so that threads on neighbouring ranges do not share one).
 */
export const ROI_ALIGN_SCRATCH_BYTES = 64;
