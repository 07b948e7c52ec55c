// detkit's modules on tfjs-backend-wasm's threaded build, whose memory is shared: the shared-memory variant
// of a module (only its memory import changes) instantiates against a shared memory and computes the same.
import { describe, expect, it } from 'vitest';
import { defineWasmModule, sharedMemoryVariant } from './wasm-kernels';

/**
 * A module written by hand: imports env.memory with the limits `limits`, exports inc(p) that adds 1 to
 * the i32 at p and returns it.
 */
function incModule(limits: number[]): Uint8Array {
  const name = (s: string) => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
  const importEntry = [1, ...name('env'), ...name('memory'), 0x02, ...limits];
  // local.get 0, local.get 0, i32.load, i32.const 1, i32.add, i32.store, local.get 0, i32.load, end
  const body = [0x00, 0x20, 0x00, 0x20, 0x00, 0x28, 0x02, 0x00, 0x41, 0x01, 0x6a, 0x36, 0x02, 0x00, 0x20, 0x00, 0x28, 0x02, 0x00, 0x0b];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f, // type (i32) -> i32
    0x02, importEntry.length, ...importEntry,
    0x03, 0x02, 0x01, 0x00, // one function of type 0
    0x07, 0x07, 0x01, ...name('inc'), 0x00, 0x00,
    0x0a, body.length + 2, 0x01, body.length, ...body,
  ]);
}

type Inc = { inc(pointer: number): number };

function runInc(bytes: Uint8Array, memory: WebAssembly.Memory): number {
  const { inc } = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), { env: { memory } }).exports as unknown as Inc;
  new Int32Array(memory.buffer)[4] = 41;
  return inc(16);
}

describe('sharedMemoryVariant', () => {
  const shared = () => new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });

  it('a module importing an unshared memory (no maximum, as AssemblyScript emits) cannot take a shared one; its variant can', () => {
    const bytes = incModule([0x00, 0x00]);
    expect(runInc(bytes, new WebAssembly.Memory({ initial: 1 }))).toBe(42);
    expect(() => runInc(bytes, shared())).toThrow(WebAssembly.LinkError);
    const variant = sharedMemoryVariant(bytes);
    expect(runInc(variant, shared())).toBe(42);
    expect(() => runInc(variant, new WebAssembly.Memory({ initial: 1 }))).toThrow(WebAssembly.LinkError);
    expect(WebAssembly.Module.exports(new WebAssembly.Module(variant as BufferSource))).toEqual([{ name: 'inc', kind: 'function' }]);
  });

  it('keeps a declared maximum (here 2 pages, LEB128-encoded)', () => {
    const variant = sharedMemoryVariant(incModule([0x01, 0x01, 0x02]));
    expect(runInc(variant, new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true }))).toBe(42);
    expect(() => runInc(variant, shared())).toThrow(WebAssembly.LinkError);
  });

  it('defineWasmModule picks the variant for a shared heap and the original for an unshared one', () => {
    const module = defineWasmModule<Inc>(Buffer.from(incModule([0x00, 0x00])).toString('base64'));
    for (const memory of [shared(), new WebAssembly.Memory({ initial: 1 })]) {
      new Int32Array(memory.buffer)[2] = 6;
      expect(module.instantiate({ memory, malloc: () => 0, free: () => {} }).inc(8)).toBe(7);
    }
  });

  it("compiled(memory) is the module instantiate uses for that memory, for another thread's instance", () => {
    const module = defineWasmModule<Inc>(Buffer.from(incModule([0x00, 0x00])).toString('base64'));
    const memory = shared();
    const compiled = module.compiled(memory);
    expect(module.compiled(memory)).toBe(compiled);
    // A second instance on the same shared memory (what a helper thread makes) sees the first one's writes.
    const first = module.instantiate({ memory, malloc: () => 0, free: () => {} });
    const second = new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as Inc;
    expect(first.inc(32)).toBe(1);
    expect(second.inc(32)).toBe(2);
    const plain = new WebAssembly.Memory({ initial: 1 });
    expect(module.compiled(plain)).not.toBe(compiled);
    expect(() => new WebAssembly.Instance(module.compiled(plain), { env: { memory } })).toThrow(WebAssembly.LinkError);
  });
});
