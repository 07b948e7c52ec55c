/** Typed bindings of @detkit/heads' WebAssembly kernels (assembly/index.ts). */
import { defineWasmModule } from '@detkit/core';
import { WASM_BASE64 } from './generated/wasm';

/** Exports of assembly/index.ts; pointers are byte offsets into the memory the module runs in. */
export interface HeadsWasm {
  roiAlignForward(
    features: number, numImages: number, height: number, width: number, channels: number,
    boxes: number, batch: number, numBoxes: number,
    pooledH: number, pooledW: number, scale: number, samplingRatio: number, aligned: boolean,
    out: number,
  ): void;
  roiAlignBackward(
    gradOut: number, numImages: number, height: number, width: number, channels: number,
    boxes: number, batch: number, numBoxes: number,
    pooledH: number, pooledW: number, scale: number, samplingRatio: number, aligned: boolean,
    gradIn: number,
  ): void;
  roiPoolForward(
    features: number, numImages: number, height: number, width: number, channels: number,
    boxes: number, batch: number, numBoxes: number,
    pooledH: number, pooledW: number, scale: number,
    out: number, argmax: number,
  ): void;
  roiPoolBackward(
    gradOut: number, argmax: number, numImages: number, height: number, width: number, channels: number,
    batch: number, numBoxes: number, pooledH: number, pooledW: number,
    gradIn: number,
  ): void;
}

export const headsWasm = defineWasmModule<HeadsWasm>(WASM_BASE64);
