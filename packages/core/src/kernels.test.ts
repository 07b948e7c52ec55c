// @detkit/test-utils depends on this package, so these tests carry their own per-backend loop.
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from './backend';
import { toTensor, assertValidBoxes, setValueChecks } from './checks';
import { BackendUnavailableError, InvalidValueError, InvalidArgumentError } from './errors';
import { hasTypedArrayPath, peekValues, runTypedArrayKernel, type TypedArrayKernel } from './kernels';
import { tf } from './tf';
import { callWasmKernel, defineWasmModule, setWasmSplitRunner, wasmSimdSupported, type WasmSplitRunner } from './wasm-kernels';

/** out[i] = a[i] * scale, plus a data-dependent second output: the indices where a[i] > 0. */
const scaleKernel: TypedArrayKernel<{ scale: number }> = {
  kernelName: 'DetkitTestScale',
  inputNames: ['a'],
  compute([a], { scale }, ctx) {
    const out = ctx.output(a!.shape, 'float32');
    const o = out.values;
    const v = a!.values;
    const positive: number[] = [];
    for (let i = 0; i < v.length; i++) {
      o[i] = (v[i] as number) * scale;
      if ((v[i] as number) > 0) positive.push(i);
    }
    return [out, ctx.outputFrom(Int32Array.from(positive), [positive.length])];
  },
};

// A hand-assembled module importing env.memory, with one function doubling n float32 values:
//   (module (import "env" "memory" (memory 0))
//     (func (export "double") (param $in i32) (param $out i32) (param $n i32) (local $i i32)
//       (block (loop
//         (br_if 1 (i32.ge_u (local.get $i) (local.get $n)))
//         (f32.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))
//           (f32.mul (f32.load (i32.add (local.get $in) (i32.shl (local.get $i) (i32.const 2)))) (f32.const 2)))
//         (local.set $i (i32.add (local.get $i) (i32.const 1)))
//         (br 0)))))
const DOUBLE_WASM =
  'AGFzbQEAAAABBwFgA39/fwACDwEDZW52Bm1lbW9yeQIAAAMCAQAHCgEGZG91YmxlAAAKOAE2AQF/AkADQCADIAJPDQEgASADQQJ0aiAAIANBAnRqKgIAQwAAAECUOAIAIANBAWohAwwACwsL';
const doubler = defineWasmModule<{ double(input: number, output: number, n: number): void }>(DOUBLE_WASM);
let lastMemory: WebAssembly.Memory | undefined;
const doubleKernel: TypedArrayKernel = {
  kernelName: 'DetkitTestWasmDouble',
  inputNames: ['a'],
  compute([a], _attrs, ctx) {
    const out = ctx.output(a!.shape, 'float32');
    const n = a!.values.length;
    // A JS copy as the input and a backend output: on wasm one is copied into the heap, one is not.
    const input = Float32Array.from(a!.values);
    callWasmKernel(doubler, ctx, { inputs: [input], outputs: [out.values] }, (w, p) => w.double(p.inputs[0]!, p.outputs[0]!, n));
    return [out];
  },
};

describe('setupBackend', () => {
  it('rejects unknown backends with BackendUnavailableError and keeps the active one', async () => {
    await setupBackend('cpu');
    await expect(setupBackend('tpu' as 'cpu')).rejects.toBeInstanceOf(BackendUnavailableError);
    expect(tf.getBackend()).toBe('cpu');
  });

  it('activates wasm with SIMD from the installed package in Node', async () => {
    await setupBackend('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(wasmSimdSupported()).toBe(true);
  });

  it('registers tfjs-core gradients and chained ops (absent from tfjs-core’s Node build)', async () => {
    await setupBackend('cpu');
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.square(x)))(tf.tensor1d([1, 2, 3]));
    expect(Array.from(g.dataSync())).toEqual([2, 4, 6]);
    expect(typeof (tf.scalar(1) as unknown as { square?: unknown }).square).toBe('function');
  });
});

for (const backend of ['cpu', 'wasm'] as const) describe(`typed-array kernels [${backend}]`, () => {
  beforeAll(() => setupBackend(backend));

  it('run in place on cpu and wasm, with known-shape and data-dependent outputs', () => {
    expect(hasTypedArrayPath()).toBe(true);
    const a = tf.tensor2d([[1, -2], [3, 0]]);
    const [scaled, positive] = runTypedArrayKernel(scaleKernel, [a], { scale: 3 });
    expect(scaled!.shape).toEqual([2, 2]);
    expect(Array.from(scaled!.dataSync())).toEqual([3, -6, 9, 0]);
    expect(Array.from(positive!.dataSync())).toEqual([0, 2]);
    expect(positive!.dtype).toBe('int32');
    expect(tf.getKernel('DetkitTestScale', backend)).toBeDefined();
    tf.dispose([a, scaled!, positive!]);
  });

  it('see float32 values for an int32 tensor cast to float32 (tfjs-backend-cpu keeps the Int32Array)', () => {
    const cast = tf.cast(tf.tensor1d([1, -2, 3], 'int32'), 'float32');
    let seen: unknown;
    const probe: TypedArrayKernel = {
      kernelName: 'DetkitTestProbe',
      inputNames: ['a'],
      compute([a], _attrs, ctx) {
        seen = a!.values;
        return [ctx.outputFrom(Float32Array.from(a!.values), [a!.values.length])];
      },
    };
    const [out] = runTypedArrayKernel(probe, [cast], {});
    expect(seen).toBeInstanceOf(Float32Array);
    expect(Array.from(out!.dataSync())).toEqual([1, -2, 3]);
    tf.dispose([cast, out!]);
  });

  it('handle empty tensors', () => {
    const [scaled, positive] = runTypedArrayKernel(scaleKernel, [tf.zeros([0, 3])], { scale: 2 });
    expect(scaled!.shape).toEqual([0, 3]);
    expect(positive!.shape).toEqual([0]);
  });

  it('leave no tensors behind', () => {
    const before = tf.memory().numTensors;
    tf.dispose(tf.tidy(() => runTypedArrayKernel(scaleKernel, [tf.tensor1d([1, 2, -1])], { scale: 2 })));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('offer split calls to the registered runner on tfjs’s heap (wasm) only, and run them on this thread when it declines', () => {
    const asked: Parameters<WasmSplitRunner>[] = [];
    let take = true;
    // A runner that runs what it takes itself (on this thread, through the exports it is given).
    setWasmSplitRunner((...call) => {
      asked.push(call);
      const [, , exports, name, args, total] = call;
      if (take) (exports[name] as (...a: number[]) => void)(...args, 0, total);
      return take;
    });
    // `double(in, out, n)` as a split call: args [in, out, n], the range (0, n) appended and ignored by it.
    const splitDouble: TypedArrayKernel = {
      kernelName: 'DetkitTestWasmSplitDouble',
      inputNames: ['a'],
      compute([a], _attrs, ctx) {
        const out = ctx.output(a!.shape, 'float32');
        const n = a!.values.length;
        callWasmKernel(doubler, ctx, { inputs: [a!.values], outputs: [out.values] }, (_, p) => p.split('double', [p.inputs[0]!, p.outputs[0]!, n], n, 4, 3 * n));
        return [out];
      },
    };
    try {
      const a = tf.tensor1d([1, 2, 3, 4, 5]);
      const [taken] = runTypedArrayKernel(splitDouble, [a], {});
      take = false;
      const [declined] = runTypedArrayKernel(splitDouble, [a], {});
      // Taken and run by the runner; declined, or never offered (a private heap): run by split itself.
      expect(Array.from(taken!.dataSync())).toEqual([2, 4, 6, 8, 10]);
      expect(Array.from(declined!.dataSync())).toEqual([2, 4, 6, 8, 10]);
      if (backend === 'wasm') {
        expect(asked).toHaveLength(2);
        const [memory, module, exports, name, args, total, align, work] = asked[0]!;
        expect(memory).toBe((tf.backend() as unknown as { wasm: { asm: { memory: WebAssembly.Memory } } }).wasm.asm.memory);
        expect(module).toBe(doubler.compiled(memory));
        expect(typeof exports.double).toBe('function');
        expect([name, args.length, total, align, work]).toEqual(['double', 3, 5, 4, 15]);
      } else {
        expect(asked).toHaveLength(0);
      }
      tf.dispose([a, taken!, declined!]);
    } finally {
      setWasmSplitRunner(undefined);
    }
  });

  it('run wasm modules in tfjs’s heap (wasm) or a private heap (cpu), across memory growth', () => {
    lastMemory = undefined;
    const original = doubler.instantiate;
    doubler.instantiate = (heap) => {
      lastMemory = heap.memory;
      return original(heap);
    };
    try {
      // 8 MB: larger than the private heap's first size, so it must grow mid-call.
      const big = tf.fill([2_000_000], 1.5);
      const [out] = runTypedArrayKernel(doubleKernel, [big], {});
      const v = out!.dataSync();
      expect(v.length).toBe(2_000_000);
      expect(v[0]).toBe(3);
      expect(v[1_999_999]).toBe(3);
      if (backend === 'wasm') {
        const heap = (tf.backend() as unknown as { wasm: { asm: { memory: WebAssembly.Memory } } }).wasm.asm.memory;
        expect(lastMemory).toBe(heap);
      } else {
        expect(lastMemory).toBeInstanceOf(WebAssembly.Memory);
      }
      tf.dispose([big, out!]);
    } finally {
      doubler.instantiate = original;
    }
  });

  it('survive a heap that grows while they run: a view taken before an allocation still reads the input', () => {
    // Takes its input's view first, then allocates an output as large as the heap (on wasm that grows the
    // heap, which detaches every view of the old buffer), then reads the view: out[0] = 2 * a[0].
    const stale: TypedArrayKernel<{ n: number }> = {
      kernelName: 'DetkitTestStaleView',
      inputNames: ['a'],
      compute([a], { n }, ctx) {
        const v = a!.values;
        const out = ctx.output([n], 'float32');
        out.values[0] = 2 * (v[0] as number);
        return [out];
      },
    };
    const heapBytes = backend === 'wasm' ? (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length : 1 << 20;
    const a = tf.tensor1d([3, 4]);
    const before = tf.memory().numTensors;
    const [out] = runTypedArrayKernel(stale, [a], { n: heapBytes / 4 });
    expect(out!.dataSync()[0]).toBe(6);
    expect(tf.memory().numTensors).toBe(before + 1);
    tf.dispose([a, out!]);
  });

  it('peekValues reads in place and matches dataSync', () => {
    const t = tf.tensor1d([4, 5, 6]);
    expect(Array.from(peekValues(t))).toEqual([4, 5, 6]);
    t.dispose();
  });

  it('input checks: toTensor and assertValidBoxes', () => {
    expect(() => toTensor('op', 'x', 'not a tensor' as unknown as number[])).toThrow(InvalidArgumentError);
    const disposed = tf.scalar(1);
    disposed.dispose();
    expect(() => toTensor('op', 'x', disposed)).toThrow(/disposed/);
    const bad = tf.tensor2d([[0, 0, 1, 1], [2, 2, 1, 3]]);
    expect(() => assertValidBoxes('op', 'boxes', bad)).toThrow(InvalidValueError);
    setValueChecks(false);
    try {
      expect(() => assertValidBoxes('op', 'boxes', bad)).not.toThrow();
    } finally {
      setValueChecks(true);
    }
    bad.dispose();
  });
});
