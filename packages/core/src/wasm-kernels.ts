/**
 * Running detkit's own WebAssembly (SIMD) kernels inside typed-array kernels.
 *
 * detkit's hot loops (pairwise IoU, NMS, ...) are written in AssemblyScript under each package's
 * `assembly/` folder and compiled to small modules that import their memory as `env.memory` and declare
 * no data segments, so they can run directly in tfjs-backend-wasm's heap: on the wasm backend a kernel's
 * inputs and outputs are passed as pointers into tfjs's own memory and nothing is copied. On every other
 * backend the module runs in a private memory, with inputs copied in and outputs copied out.
 *
 * tfjs-backend-wasm's threaded build (`useBackend('wasm', { threads })` of @detkit/backends) has a shared
 * memory. A module may only import a shared memory if it says so, so each module is also compiled in a
 * variant whose memory import is marked shared ({@link sharedMemoryVariant}); the code is the same. detkit's
 * kernels run on the calling thread only, while XNNPACK's worker threads are idle between tfjs kernels.
 */
import { DetkitError } from './errors';
import type { KernelArray, KernelContext, WasmHeap } from './kernels';

/** A compiled detkit kernel module (see {@link defineWasmModule}). */
export interface WasmModule<Exports> {
  /** The module's exports, instantiated against `heap.memory` (cached per memory). */
  instantiate(heap: WasmHeap): Exports;
  /**
   * The compiled module that {@link WasmModule.instantiate} uses for `memory` (the shared-memory variant for
   * a shared one): for instantiating the same kernels on that memory in another thread.
   */
  compiled(memory: WebAssembly.Memory): WebAssembly.Module;
}

/** True where WebAssembly with fixed-width SIMD can be compiled (Node 16.4+, every current browser). */
export function wasmSimdSupported(): boolean {
  // The smallest module using a v128 local: (module (func (local v128))).
  const probe = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 7, 1, 5, 1, 1, 123, 0, 11]);
  return typeof WebAssembly === 'object' && WebAssembly.validate(probe);
}

function decodeBase64(text: string): Uint8Array {
  if (typeof atob === 'function') {
    const s = atob(text);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  return new Uint8Array(Buffer.from(text, 'base64'));
}

function readLeb(bytes: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  let i = at;
  for (;;) {
    const b = bytes[i++]!;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return [value, i];
    scale *= 128;
  }
}

function writeLeb(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    const b = v % 128;
    v = Math.floor(v / 128);
    out.push(v > 0 ? b | 0x80 : b);
  } while (v > 0);
  return out;
}

/** The largest memory a wasm32 module can address, in 64 KiB pages (4 GiB). */
const MAX_PAGES = 65536;

/**
 * The same module with its imported memory declared shared (limits flag 0x03, maximum kept or 4 GiB), so
 * it can be instantiated against a `WebAssembly.Memory({ shared: true })` such as the threaded
 * tfjs-backend-wasm's heap. Only the import section changes. Modules without a memory import come back
 * unchanged.
 */
export function sharedMemoryVariant(bytes: Uint8Array): Uint8Array {
  let at = 8; // magic and version
  while (at < bytes.length) {
    const id = bytes[at]!;
    const [size, body] = readLeb(bytes, at + 1);
    const end = body + size;
    if (id === 2) {
      const out: number[] = [];
      let [count, i] = readLeb(bytes, body);
      out.push(...writeLeb(count));
      for (; count > 0; count--) {
        const start = i;
        for (let name = 0; name < 2; name++) {
          const [length, next] = readLeb(bytes, i);
          i = next + length;
        }
        const kind = bytes[i++]!;
        out.push(...bytes.subarray(start, i));
        if (kind === 2) {
          const flags = bytes[i++]!;
          const [min, afterMin] = readLeb(bytes, i);
          let max = MAX_PAGES;
          i = afterMin;
          if (flags & 1) [max, i] = readLeb(bytes, i);
          out.push(0x03, ...writeLeb(min), ...writeLeb(max));
          continue;
        }
        const descStart = i;
        if (kind === 0) i = readLeb(bytes, i)[1];
        else if (kind === 1) {
          const flags = bytes[i + 1]!;
          i = readLeb(bytes, i + 2)[1];
          if (flags & 1) i = readLeb(bytes, i)[1];
        } else if (kind === 3) i += 2;
        else if (kind === 4) i = readLeb(bytes, i + 1)[1];
        else throw new DetkitError('UNSUPPORTED_PLATFORM', `unknown wasm import kind ${kind}`);
        out.push(...bytes.subarray(descStart, i));
      }
      const result = new Uint8Array(bytes.length - (end - at) + 1 + writeLeb(out.length).length + out.length);
      result.set(bytes.subarray(0, at));
      let w = at;
      result[w++] = 2;
      for (const b of [...writeLeb(out.length), ...out]) result[w++] = b;
      result.set(bytes.subarray(end), w);
      return result;
    }
    at = end;
  }
  return bytes;
}

function isShared(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
}

/**
 * Wraps a module's bytes (base64, as the generated `*.wasm.ts` files hold them). Compilation is lazy and
 * synchronous (the modules are a few KB, under browsers' limit for sync compiles on the main thread). A
 * shared memory gets the {@link sharedMemoryVariant} of the module.
 */
export function defineWasmModule<Exports>(base64: string): WasmModule<Exports> {
  const compiled: { plain?: WebAssembly.Module; shared?: WebAssembly.Module } = {};
  const instances = new WeakMap<WebAssembly.Memory, Exports>();
  const compile = (shared: boolean): WebAssembly.Module => {
    const which = shared ? 'shared' : 'plain';
    let module = compiled[which];
    if (module === undefined) {
      try {
        const bytes = decodeBase64(base64);
        module = new WebAssembly.Module((shared ? sharedMemoryVariant(bytes) : bytes) as BufferSource);
      } catch (cause) {
        throw new DetkitError(
          'UNSUPPORTED_PLATFORM',
          shared
            ? 'detkit kernels on a shared memory need WebAssembly threads and fixed-width SIMD (Node 16.4+, current browsers with cross-origin isolation)'
            : 'detkit kernels need WebAssembly with fixed-width SIMD (Node 16.4+, Chrome 91+, Firefox 89+, Safari 16.4+)',
          { cause },
        );
      }
      compiled[which] = module;
    }
    return module;
  };
  return {
    instantiate(heap) {
      let exports = instances.get(heap.memory);
      if (exports === undefined) {
        exports = new WebAssembly.Instance(compile(isShared(heap.memory)), { env: { memory: heap.memory } }).exports as Exports;
        instances.set(heap.memory, exports);
      }
      return exports;
    },
    compiled: (memory) => compile(isShared(memory)),
  };
}

/**
 * A private heap for backends whose memory wasm cannot address (cpu, GPU downloads): a bump allocator
 * over one growable memory, reset after every kernel call.
 */
class PrivateHeap implements WasmHeap {
  readonly memory = new WebAssembly.Memory({ initial: 16 });
  private top = 16; // keep 0 free: a null pointer is never valid

  malloc(bytes: number): number {
    const pointer = (this.top + 15) & ~15;
    const end = pointer + bytes;
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / 65536));
    this.top = end;
    return pointer;
  }

  free(): void {}

  reset(): void {
    this.top = 16;
  }
}

let privateHeap: PrivateHeap | undefined;

/** Pointers that a wasm kernel call receives, and a way to run a range kernel on more than one thread. */
export interface WasmPointers {
  /** Byte offsets of the inputs' data, in the order given. */
  inputs: number[];
  /** Byte offsets of the outputs' data, in the order given. */
  outputs: number[];
  /** Byte offset of `scratchBytes` of 16-byte-aligned scratch memory (0 when none was asked for). */
  scratch: number;
  /**
   * Runs the module's range kernel `name` as `exports[name](...args, start, end)` over [0, `total`): split
   * into ranges (their bounds multiples of `align`, but the last end) over the threads the
   * {@link WasmSplitRunner} gives where one is registered for this memory and takes the call, else in one
   * call on this thread. The kernel must give the same result however its range is split (each range
   * writes its own outputs and its own part of the scratch). `args` are int32 (pointers, sizes, a float's
   * bits); `work` estimates the call's cost (elements times the operations on each), below which a runner
   * keeps small calls on this thread.
   */
  split(name: string, args: readonly number[], total: number, align: number, work: number): void;
}

/**
 * Runs `exports[name](...args, start, end)` over [0, total) on threads that share `memory` with this one
 * (`module`: the compiled module behind `exports`, which the other threads instantiate on `memory`); returns
 * false when it does not take the call (the caller then runs it on this thread). Registered by the package
 * that owns such threads (@detkit/backends' kernel threads for tfjs-backend-wasm's threaded build).
 */
export type WasmSplitRunner = (
  memory: WebAssembly.Memory,
  module: WebAssembly.Module,
  exports: Readonly<Record<string, unknown>>,
  name: string,
  args: readonly number[],
  total: number,
  align: number,
  work: number,
) => boolean;

let splitRunner: WasmSplitRunner | undefined;

/**
 * Registers (or, with undefined, removes) the {@link WasmSplitRunner} that {@link WasmPointers.split} offers
 * its calls to. One per process; the last registration wins.
 */
export function setWasmSplitRunner(runner: WasmSplitRunner | undefined): void {
  splitRunner = runner;
}

/** What a wasm kernel call reads, writes and needs besides. */
export interface WasmCall {
  /** Arrays the kernel reads: views of backend memory (a kernel's `input.values`) or plain JS arrays. */
  inputs: readonly KernelArray[];
  /** Arrays the kernel writes: a kernel's `output.values`, or JS arrays that receive the results. */
  outputs: readonly KernelArray[];
  /** Scratch memory the kernel needs, in bytes. */
  scratchBytes?: number;
}

/**
 * Calls a wasm kernel from a typed-array kernel's `compute`. Arrays that already live in the heap the
 * module runs in (tfjs-backend-wasm's, on the wasm backend) are passed by address and not copied; any
 * other array is copied into the heap (inputs) or out of it (outputs) around the call. Scratch memory is
 * allocated for the call and freed after it.
 */
export function callWasmKernel<Exports, R>(
  module: WasmModule<Exports>,
  ctx: KernelContext,
  call: WasmCall,
  fn: (exports: Exports, pointers: WasmPointers) => R,
): R {
  const heap: WasmHeap = ctx.heap ?? (privateHeap ??= new PrivateHeap());
  const exports = module.instantiate(heap);
  // Decide residency before any allocation: an allocation may grow the memory and detach old views.
  const buffer = heap.memory.buffer;
  const resident = (a: KernelArray) => a.buffer === buffer;
  const inPtrs = call.inputs.map((a) => (resident(a) ? a.byteOffset : -1));
  const outPtrs = call.outputs.map((a) => (resident(a) ? a.byteOffset : -1));
  const owned: number[] = [];
  const alloc = (bytes: number) => {
    const p = heap.malloc(Math.max(bytes, 16));
    owned.push(p);
    return p;
  };
  try {
    call.inputs.forEach((a, i) => {
      if (inPtrs[i] === -1) inPtrs[i] = alloc(a.byteLength);
    });
    call.outputs.forEach((a, i) => {
      if (outPtrs[i] === -1) outPtrs[i] = alloc(a.byteLength);
    });
    const scratch = call.scratchBytes ? alloc(call.scratchBytes) : 0;
    call.inputs.forEach((a, i) => {
      if (!resident(a)) bytesOf(heap.memory.buffer, inPtrs[i]!, a.byteLength).set(bytesOf(a.buffer, a.byteOffset, a.byteLength));
    });
    const split = (name: string, args: readonly number[], total: number, align: number, work: number): void => {
      if (total <= 0) return;
      const exported = exports as unknown as Record<string, (...a: number[]) => void>;
      // A private heap is this thread's alone: no other thread can reach it.
      const taken = !(heap instanceof PrivateHeap) && splitRunner !== undefined && splitRunner(heap.memory, module.compiled(heap.memory), exported, name, args, total, align, work);
      if (!taken) exported[name]!(...args, 0, total);
    };
    const result = fn(exports, { inputs: inPtrs, outputs: outPtrs, scratch, split });
    call.outputs.forEach((a, i) => {
      if (!resident(a)) bytesOf(a.buffer, a.byteOffset, a.byteLength).set(bytesOf(heap.memory.buffer, outPtrs[i]!, a.byteLength));
    });
    return result;
  } finally {
    if (heap instanceof PrivateHeap) heap.reset();
    else for (const p of owned) heap.free(p);
  }
}

function bytesOf(buffer: ArrayBufferLike, offset: number, length: number): Uint8Array {
  return new Uint8Array(buffer, offset, length);
}
