/** Typed bindings of @detkit/samplers' WebAssembly kernels (assembly/index.ts). */
import { defineWasmModule } from '@detkit/core';
import { WASM_BASE64 } from './generated/wasm';

/** Exports of assembly/index.ts; pointers are byte offsets into the memory the module runs in. */
export interface SamplersWasm {
  mineHardNegatives(loss: number, labels: number, rows: number, n: number, negPosRatio: number, minNegatives: number, out: number, scratch: number): void;
}

export const samplersWasm = defineWasmModule<SamplersWasm>(WASM_BASE64);
