/** Typed bindings of @detkit/matchers' WebAssembly kernels (assembly/index.ts). */
import { defineWasmModule } from '@detkit/core';
import { WASM_BASE64 } from './generated/wasm';

/** Exports of assembly/index.ts; pointers are byte offsets into the memory the module runs in. */
export interface MatchersWasm {
  scanQuality(q: number, m: number, n: number, colMax: number, colArg: number, rowMax: number, rowArg: number): void;
  firstNotIou(a: number, len: number, tol: number): number;
  maxIouMatch(
    q: number, m: number, n: number, high: number, low: number, negMin: number, lowQuality: number, minLowQuality: number,
    matches: number, labels: number, scratch: number,
  ): void;
  ssdMatch(q: number, m: number, n: number, t: number, matches: number, labels: number, rowMax: number, rowArg: number, scratch: number): void;
}

export const matchersWasm = defineWasmModule<MatchersWasm>(WASM_BASE64);
