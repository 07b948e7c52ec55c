/**
 * detkit's own wasm kernels on more than one thread. tfjs-backend-wasm's threaded build runs XNNPACK's
 * convolutions and products on its pthread pool, but detkit's kernels (the filter gradient's transposing
 * im2col, ...) ran on the calling thread alone while the other cores waited. With that build the heap is a
 * shared memory, so helper workers instantiate the same kernel module on it, and a call is split by range:
 * each helper takes one part, the calling thread the last, and the call returns when every part is written
 * (the caller waits with `Atomics.wait`), synchronous as tfjs's kernels are. Each part writes its own
 * output columns, so the result is the same, bit for bit, on any number of threads.
 *
 * Node only (`worker_threads`, and a main thread that may block in `Atomics.wait`); elsewhere, or before a
 * helper has started, the calling thread runs the whole range. Internal to the package.
 */
import { DetkitError } from '@detkit/core';

/** One helper's control block in the shared control buffer: 32 int32 slots. */
const SLOTS = 32;
const POSTED = 0; // sequence number of the last call posted to the helper
const DONE = 1; // sequence number of the last call the helper finished
const FUNCTION = 2; // index of the export to run; the helper writes -1 when it threw
const ARGC = 3;
const ARGS = 4; // up to READY - ARGS arguments
const READY = 31; // 1 once the helper has instantiated the module
const MAX_ARGS = READY - ARGS;

/** The helper's source, run by `new Worker(source, { eval: true })`. */
const HELPER_SOURCE = `
const { parentPort } = require('node:worker_threads');
parentPort.once('message', ({ module, memory, control, slot, names }) => {
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const c = new Int32Array(control, slot * ${SLOTS * 4}, ${SLOTS});
  Atomics.store(c, ${READY}, 1);
  let seen = 0;
  for (;;) {
    Atomics.wait(c, ${POSTED}, seen);
    const posted = Atomics.load(c, ${POSTED});
    if (posted === seen) continue;
    seen = posted;
    const args = Array.from(c.subarray(${ARGS}, ${ARGS} + c[${ARGC}]));
    try {
      exports[names[c[${FUNCTION}]]](...args);
    } catch {
      c[${FUNCTION}] = -1;
    }
    Atomics.store(c, ${DONE}, posted);
    Atomics.notify(c, ${DONE});
  }
});
`;

interface NodeWorker {
  postMessage(message: unknown): void;
  unref(): void;
}
type WorkerThreads = { Worker: new (source: string, options: { eval: true }) => NodeWorker; isMainThread: boolean };

/** Helpers that run exports of one kernel module on one shared memory. */
export interface KernelThreads {
  /** Threads a call can use: the helpers that have started, plus the calling one. */
  readonly threads: number;
  /**
   * Runs `exports[name](...args, start, end)` over [0, total), split into one part per ready thread, each
   * part's bounds a multiple of `align` (but the last end); returns when every part is done.
   */
  run(name: string, args: readonly number[], total: number, align: number): void;
}

function workerThreads(): WorkerThreads | undefined {
  const proc = (globalThis as { process?: { versions?: { node?: string }; getBuiltinModule?: (id: string) => unknown } }).process;
  if (typeof proc?.versions?.node !== 'string' || typeof proc.getBuiltinModule !== 'function') return undefined;
  return proc.getBuiltinModule('node:worker_threads') as WorkerThreads | undefined;
}

/**
 * Starts `helpers` workers running `module`'s `names` exports on `memory` (shared). Returns undefined where
 * they cannot run (not Node, not a shared memory, no helper asked for); helpers start in the background
 * and take work once ready.
 */
export function startKernelThreads(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
  names: readonly string[],
  helpers: number,
  run: (name: string, args: readonly number[]) => void,
): KernelThreads | undefined {
  const threadsModule = workerThreads();
  if (helpers < 1 || threadsModule === undefined || typeof SharedArrayBuffer === 'undefined' || !(memory.buffer instanceof SharedArrayBuffer)) return undefined;
  const control = new SharedArrayBuffer(helpers * SLOTS * 4);
  const blocks = Array.from({ length: helpers }, (_, slot) => new Int32Array(control, slot * SLOTS * 4, SLOTS));
  for (let slot = 0; slot < helpers; slot++) {
    const worker = new threadsModule.Worker(HELPER_SOURCE, { eval: true });
    worker.postMessage({ module, memory, control, slot, names });
    // A helper waiting for work must not keep the process alive.
    worker.unref();
  }
  const index = new Map(names.map((n, i) => [n, i]));
  const sequence = new Int32Array(helpers);
  const ready = () => blocks.filter((b) => Atomics.load(b, READY) === 1);
  return {
    get threads() {
      return ready().length + 1;
    },
    run(name, args, total, align) {
      const fn = index.get(name);
      if (fn === undefined) throw new DetkitError('UNSUPPORTED_PLATFORM', `no kernel '${name}' to run on helper threads`);
      if (args.length + 2 > MAX_ARGS) throw new DetkitError('UNSUPPORTED_PLATFORM', `kernel '${name}' takes more than ${MAX_ARGS} arguments`);
      const live = ready();
      const parts = live.length + 1;
      const step = Math.ceil(total / parts / align) * align;
      // Parts from 0 to the helpers, the rest to this thread; a helper with an empty part is left idle.
      const posted: { block: Int32Array; seq: number }[] = [];
      let start = 0;
      for (const block of live) {
        const end = Math.min(total, start + step);
        if (end >= total) break;
        const slot = blocks.indexOf(block);
        const seq = (sequence[slot]! + 1) | 0 || 1;
        sequence[slot] = seq;
        block[FUNCTION] = fn;
        block[ARGC] = args.length + 2;
        block.set(args, ARGS);
        block[ARGS + args.length] = start;
        block[ARGS + args.length + 1] = end;
        Atomics.store(block, POSTED, seq);
        Atomics.notify(block, POSTED);
        posted.push({ block, seq });
        start = end;
      }
      run(name, [...args, start, total]);
      let failed = false;
      for (const { block, seq } of posted) {
        for (let done = Atomics.load(block, DONE); done !== seq; done = Atomics.load(block, DONE)) Atomics.wait(block, DONE, done);
        if (block[FUNCTION] === -1) failed = true;
      }
      if (failed) throw new DetkitError('UNSUPPORTED_PLATFORM', `detkit's '${name}' kernel failed on a helper thread`);
    },
  };
}
