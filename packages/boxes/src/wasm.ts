/** Typed bindings of @detkit/boxes' WebAssembly kernels (assembly/index.ts). */
import { defineWasmModule } from '@detkit/core';
import { WASM_BASE64 } from './generated/wasm';

/** Exports of assembly/index.ts; pointers are byte offsets into the memory the module runs in. */
export interface BoxesWasm {
  boxIou(a: number, n: number, b: number, m: number, out: number, scratch: number): void;
  nmsScratchBytes(n: number): number;
  nmsSorted(coords: number, n: number, threshold: number, maxKeep: number, scratch: number, keptOut: number): number;
}

export const boxesWasm = defineWasmModule<BoxesWasm>(WASM_BASE64);
