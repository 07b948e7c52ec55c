/** Typed bindings of @detkit/backends' WebAssembly kernels (assembly/index.ts). */
import { defineWasmModule } from '@detkit/core';
import { WASM_BASE64 } from './generated/wasm';

/** Geometry shared by the convolution kernels: NHWC input [n, h, w, c], taps kh x kw, output oh x ow. */
type ConvGeometry = [n: number, h: number, w: number, c: number, kh: number, kw: number, sh: number, sw: number, pt: number, pl: number, oh: number, ow: number];

/** Exports of assembly/index.ts; pointers are byte offsets into tfjs-backend-wasm's heap. */
export interface BackendsWasm {
  im2col(x: number, ...rest: [...ConvGeometry, number]): void;
  im2colT(x: number, ...rest: [...ConvGeometry, number]): void;
  col2im(cols: number, ...rest: [...ConvGeometry, number]): void;
  depthwiseFilterGrad(x: number, dy: number, ...rest: [...ConvGeometry, number]): void;
  depthwiseInputGrad(dy: number, filter: number, ...rest: [...ConvGeometry, dx: number, accumulate: number]): void;
  maxPoolGrad(x: number, dy: number, ...rest: [...ConvGeometry, number]): void;
  unsortedSegmentSum(x: number, ids: number, rows: number, inner: number, numSegments: number, out: number): void;
}

export const backendsWasm = defineWasmModule<BackendsWasm>(WASM_BASE64);
