/** Typed bindings of @detkit/losses' WebAssembly kernels (assembly/index.ts). */
import { defineWasmModule } from '@detkit/core';
import { WASM_BASE64 } from './generated/wasm';

/** Exports of assembly/index.ts; pointers are byte offsets into the memory the module runs in. */
export interface LossesWasm {
  expConstants(k: number): void;
  softmaxCrossEntropy(logits: number, labels: number, rows: number, classes: number, ignoreIndex: number, lossOut: number, maxOut: number, logSumOut: number, k: number): void;
  softmaxCrossEntropyGrad(logits: number, labels: number, maxIn: number, logSumIn: number, dy: number, rows: number, classes: number, ignoreIndex: number, out: number, k: number): void;
  smoothL1Rows(pred: number, target: number, weights: number, rows: number, width: number, beta: number, out: number): void;
  smoothL1RowsGrad(pred: number, target: number, weights: number, dy: number, rows: number, width: number, beta: number, out: number): void;
  firstOutOfRange(values: number, n: number, limit: number): number;
  firstBadLabel(labels: number, n: number, classes: number, ignore: number): number;
}

export const lossesWasm = defineWasmModule<LossesWasm>(WASM_BASE64);

/** Scratch bytes of exp's constants block (`expConstants`: 13 splatted v128s). */
export const EXP_CONSTANTS_BYTES = 13 * 16;
