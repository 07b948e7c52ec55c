/**
 * detkit's own wasm kernels on more than one thread. tfjs-backend-wasm's threaded build runs XNNPACK's
 * kernels on its pthread pool; detkit's kernels (its convolutions, the fused batch norm, Adam, transposes)
 * would run on the calling thread alone. With that build the heap is a shared memory, so helper workers
 * instantiate the same kernel module on it, and a call is split by range into a few chunks per thread,
 * which the calling thread and the helpers take from a shared counter until none is left: a helper that
 * wakes late (another thread had its core) costs nothing, since the calling thread takes its chunks, and
 * a call the helper has not started by then is taken back instead of waited for. The call returns when
 * every chunk is written (the caller waits with `Atomics.wait` for a chunk still running), synchronous as
 * tfjs's kernels are. Each chunk writes its own output, so the result is the same, bit for bit, on any
 * number of threads and whoever runs which chunk.
 *
 * Node only (`worker_threads`, and a main thread that may block in `Atomics.wait`); elsewhere, or before a
 * helper has started, the calling thread runs the whole range. Internal to the package.
 */
import { DetkitError } from '@detkit/core';

/**
 * One helper's control block in the shared control buffer: 32 int32 slots. The blocks are followed by one
 * shared job block, whose NEXT slot hands out the chunks of the current call.
 */
const SLOTS = 32;
const STATE = 0; // IDLE, POSTED (work waiting for the helper) or RUNNING
const FUNCTION = 2; // index of the export to run; the helper writes -1 when it threw
const ARGC = 3; // arguments before the chunk bounds
const TOTAL = 4; // the call's range is [0, TOTAL)
const CHUNK = 5; // chunk length (a multiple of the call's alignment)
const ARGS = 6; // up to READY - ARGS arguments
const READY = 31; // 1 once the helper has instantiated the module
const MAX_ARGS = READY - ARGS;
const NEXT = 0; // in the job block: index of the next chunk to take
const IDLE = 0;
const POSTED = 1;
const RUNNING = 2;
/** Chunks per thread of one call: small enough to even out a late or slower thread, few enough to cost nothing. */
const CHUNKS_PER_THREAD = 4;

/**
 * The helper's source, run by `new Worker(source, { eval: true })`. A posted call is the helper's only if it
 * moves its state from POSTED to RUNNING first: the calling thread takes back a call the helper has not
 * started (POSTED to IDLE) once it has run every chunk itself, so it never waits for a helper that is
 * still waking up.
 */
const HELPER_SOURCE = `
const { parentPort } = require('node:worker_threads');
parentPort.once('message', ({ module, memory, control, slot, helpers, names }) => {
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const c = new Int32Array(control, slot * ${SLOTS * 4}, ${SLOTS});
  const job = new Int32Array(control, helpers * ${SLOTS * 4}, ${SLOTS});
  Atomics.store(c, ${READY}, 1);
  for (;;) {
    Atomics.wait(c, ${STATE}, ${IDLE});
    if (Atomics.compareExchange(c, ${STATE}, ${POSTED}, ${RUNNING}) !== ${POSTED}) continue;
    const fn = exports[names[c[${FUNCTION}]]];
    const args = Array.from(c.subarray(${ARGS}, ${ARGS} + c[${ARGC}]));
    const total = c[${TOTAL}];
    const chunk = c[${CHUNK}];
    try {
      for (let k = Atomics.add(job, ${NEXT}, 1); k * chunk < total; k = Atomics.add(job, ${NEXT}, 1)) {
        fn(...args, k * chunk, Math.min(total, (k + 1) * chunk));
      }
    } catch {
      c[${FUNCTION}] = -1;
    }
    Atomics.store(c, ${STATE}, ${IDLE});
    Atomics.notify(c, ${STATE});
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
   * Runs `exports[name](...args, start, end)` over [0, total), in chunks (a few per ready thread, each
   * bound a multiple of `align` but the last end) that this thread and the helpers take in turn; returns
   * when every chunk is done.
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
  const control = new SharedArrayBuffer((helpers + 1) * SLOTS * 4);
  const blocks = Array.from({ length: helpers }, (_, slot) => new Int32Array(control, slot * SLOTS * 4, SLOTS));
  const job = new Int32Array(control, helpers * SLOTS * 4, SLOTS);
  for (let slot = 0; slot < helpers; slot++) {
    const worker = new threadsModule.Worker(HELPER_SOURCE, { eval: true });
    worker.postMessage({ module, memory, control, slot, helpers, names });
    // A helper waiting for work must not keep the process alive.
    worker.unref();
  }
  const index = new Map(names.map((n, i) => [n, i]));
  const ready = () => blocks.filter((b) => Atomics.load(b, READY) === 1);
  return {
    get threads() {
      return ready().length + 1;
    },
    run(name, args, total, align) {
      const fn = index.get(name);
      if (fn === undefined) throw new DetkitError('UNSUPPORTED_PLATFORM', `no kernel '${name}' to run on helper threads`);
      if (args.length + 2 > MAX_ARGS) throw new DetkitError('UNSUPPORTED_PLATFORM', `kernel '${name}' takes more than ${MAX_ARGS} arguments`);
      if (total <= 0) return;
      const live = ready();
      const chunks = Math.min(Math.ceil(total / align), (live.length + 1) * CHUNKS_PER_THREAD);
      const chunk = Math.ceil(total / chunks / align) * align;
      Atomics.store(job, NEXT, 0);
      for (const block of live) {
        block[FUNCTION] = fn;
        block[ARGC] = args.length;
        block[TOTAL] = total;
        block[CHUNK] = chunk;
        block.set(args, ARGS);
        Atomics.store(block, STATE, POSTED);
        Atomics.notify(block, STATE);
      }
      let failed = false;
      try {
        // This thread takes chunks too, from the same counter, until none is left.
        for (let k = Atomics.add(job, NEXT, 1); k * chunk < total; k = Atomics.add(job, NEXT, 1)) {
          run(name, [...args, k * chunk, Math.min(total, (k + 1) * chunk)]);
        }
      } finally {
        for (const block of live) {
          // A helper that has not started yet gets nothing to do (its call is taken back); one that has
          // is finishing its last chunk, and no helper may still run this call when the next one starts.
          if (Atomics.compareExchange(block, STATE, POSTED, IDLE) === POSTED) continue;
          for (let state = Atomics.load(block, STATE); state !== IDLE; state = Atomics.load(block, STATE)) Atomics.wait(block, STATE, state);
          if (block[FUNCTION] === -1) failed = true;
        }
      }
      if (failed) throw new DetkitError('UNSUPPORTED_PLATFORM', `detkit's '${name}' kernel failed on a helper thread`);
    },
  };
}
