// Conformance cases for @detkit/core's kernel machinery: typed-array kernels (in place on cpu and wasm,
// over a download elsewhere) and wasm kernels called through callWasmKernel (tfjs's heap on wasm, a
// private heap elsewhere), on a small kernel of each kind.
import { callWasmKernel, runTypedArrayKernel, type TypedArrayKernel } from '@detkit/core';
import type { ConformanceCase } from '../../src/conformance';
import { backendsWasm } from '../../src/wasm';
import { uniform, values } from './inputs';

/** Row-wise running maximum and the column where it was reached: float and int outputs, both allocation styles. */
const runningMax: TypedArrayKernel<{ scale: number }> = {
  kernelName: 'DetkitTestRunningMax',
  inputNames: ['x'],
  compute([x], { scale }, ctx) {
    const [rows, cols] = x!.shape as [number, number];
    const best = ctx.output([rows, cols], 'float32');
    const where = new Int32Array(rows * cols);
    const v = x!.values;
    const o = best.values;
    for (let r = 0; r < rows; r++) {
      let m = -Infinity;
      let at = -1;
      for (let c = 0; c < cols; c++) {
        const value = (v[r * cols + c] as number) * scale;
        if (value > m) {
          m = value;
          at = c;
        }
        o[r * cols + c] = m;
        where[r * cols + c] = at;
      }
    }
    return [best, ctx.outputFrom(where, [rows, cols])];
  },
};

/** Segment sums through detkit's own wasm module, by callWasmKernel. */
const wasmSegmentSum: TypedArrayKernel<{ numSegments: number }> = {
  kernelName: 'DetkitTestWasmSegmentSum',
  inputNames: ['x', 'ids'],
  compute([x, ids], { numSegments }, ctx) {
    const [rows, inner] = x!.shape as [number, number];
    const out = ctx.output([numSegments, inner], 'float32');
    callWasmKernel(backendsWasm, ctx, { inputs: [x!.values, ids!.values], outputs: [out.values] }, (wasm, p) =>
      wasm.unsortedSegmentSum(p.inputs[0]!, p.inputs[1]!, rows, inner, numSegments, p.outputs[0]!),
    );
    return [out];
  },
};

export const CORE_CASES: ConformanceCase[] = [
  { name: 'core/runTypedArrayKernel (float and int outputs)', inputs: [uniform([5, 9], 201)], run: (x) => runTypedArrayKernel(runningMax, [x], { scale: 2 }) },
  {
    name: 'core/callWasmKernel (heap in place on wasm, private heap elsewhere)',
    inputs: [uniform([7, 6], 202), values([1, 0, 3, 1, -1, 2, 9], [7], 'int32')],
    run: (x, ids) => runTypedArrayKernel(wasmSegmentSum, [x, ids], { numSegments: 4 }),
  },
];
