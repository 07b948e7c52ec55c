/**
 * detkit's own wasm kernels on more than one thread. tfjs-backend-wasm's threaded build runs XNNPACK's
 * kernels on its pthread pool; detkit's kernels (its convolutions, the fused batch norm, Adam, transposes)
 * would run on the calling thread alone. With that build the heap is a shared memory, so helper workers
 * instantiate the same kernel module on it, and a call is split by range into a few chunks per thread,
 * which the calling thread and the helpers take from a shared counter until none is left: a helper that
 * wakes late (another thread had its core) costs nothing, since the calling thread takes its chunks, and
 * a call the helper has not started by then is taken back instead of waited for. The call returns when
 * every chunk is written (the caller waits for a chunk still running: it polls for {@link SPIN_MS}, then
 * sleeps in `Atomics.wait`), synchronous as tfjs's kernels are. Each chunk writes its own output, so the
 * result is the same, bit for bit, on any number of threads and whoever runs which chunk.
 *
 * A call can also be queued instead ({@link KernelThreads.defer}): the helpers run queued calls between the
 * calling thread's own calls (which they serve first), while the calling thread goes on, and the calling
 * thread completes a queued call itself ({@link KernelThreads.complete}) when it needs the result, taking
 * chunks as the helpers do and waiting for the ones running. A queued call names the earlier calls it must
 * follow (`after`: the one before it in its job, or the last calls of the jobs that write what it reads, up
 * to {@link MAX_AFTER}); a thread takes chunks of the oldest call whose `after` calls are done, so
 * independent calls (a weight gradient and the next layer's input gradient) overlap and no thread idles at
 * the end of a call while another finishes its last chunk.
 *
 * Other modules instantiated on the same memory (another package's kernels, through @detkit/core's
 * `setWasmSplitRunner`) can run on the same helpers ({@link KernelThreads.runModule}): the helpers receive
 * such a module on a message port, which they read synchronously (`receiveMessageOnPort`) before the first
 * call that names it.
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
const CURSOR = 1; // the queued call the helper looks at (it is done with every earlier one)
const FUNCTION = 2; // index of the export to run; the helper writes -1 when it threw
const ARGC = 3; // arguments before the chunk bounds
const TOTAL = 4; // the call's range is [0, TOTAL)
const CHUNK = 5; // chunk length (a multiple of the call's alignment)
const ARGS = 6; // up to READY - ARGS arguments
const READY = 31; // 1 once the helper has instantiated the module
const MAX_ARGS = READY - ARGS;
const NEXT = 0; // in the job block: index of the next chunk to take
const BELL = 1; // in the job block: counts posts (a call or a queued call), which helpers wait on
const TAIL = 2; // in the job block: queued calls so far
const WANT = 3; // in the job block: the mark of the calls the calling thread waits for (0: none), see `want`
/**
 * Queued calls the ring holds; a slot is written again once every helper has moved past its call. A
 * forward pass that runs ahead (./deferred) queues a few calls per layer.
 */
const RING = 512;
/** One queued call in the ring: its call (as a helper block's FUNCTION..ARGS) and its chunk counters. */
const RECORD = 40;
const R_FUNCTION = 0;
const R_ARGC = 1;
const R_TOTAL = 2;
const R_CHUNK = 3;
const R_CHUNKS = 4; // chunks of the call
const R_NEXT = 5; // next chunk to take
const R_DONE = 6; // chunks finished
const R_FAILED = 7; // 1 once a chunk threw
const R_AFTER = 8; // MAX_AFTER queued calls that must be done before this one starts (-1: none)
/** Calls a queued call can wait for. */
export const MAX_AFTER = 4;
const R_ARGS = R_AFTER + MAX_AFTER;
/** Queued calls past the first one not done that a thread looks at for work. */
const WINDOW = 64;
const IDLE = 0;
const POSTED = 1;
const RUNNING = 2;
/** Chunks per thread of one call: small enough to even out a late or slower thread, few enough to cost nothing. */
const CHUNKS_PER_THREAD = 4;
/**
 * How long the calling thread polls for a helper's last chunk before it sleeps in `Atomics.wait`, in ms.
 * Most such waits are short (the trainer's SSD step: a call ended a median 38 us, 90% within 0.2 ms, after
 * the helper's last chunk, most of it the calling thread waking up), so polling first, as pthreadpool's
 * and OpenMP's threads do, saves the wake-up: 3 us median, and the SSD step on 2 threads 63 -> 59 ms
 * (backends README, 2026-12-05). The helpers do not poll between calls: with two cores they would take
 * time from V8's own background threads (measured slower).
 */
const SPIN_MS = 0.5;
/** A function number is module << MODULE_SHIFT | export index. */
const MODULE_SHIFT = 16;
const EXPORT_MASK = (1 << MODULE_SHIFT) - 1;

/** Polls `done` for up to {@link SPIN_MS}; the caller then sleeps until it is true. */
function spin(done: () => boolean): void {
  const deadline = performance.now() + SPIN_MS;
  for (let i = 1; !done(); i++) if ((i & 63) === 0 && performance.now() > deadline) return;
}

/**
 * The helper's source, run by `new Worker(source, { eval: true })`. A posted call is the helper's only if it
 * moves its state from POSTED to RUNNING first: the calling thread takes back a call the helper has not
 * started (POSTED to IDLE) once it has run every chunk itself, so it never waits for a helper that is
 * still waking up.
 */
const HELPER_SOURCE = `
const { parentPort, receiveMessageOnPort } = require('node:worker_threads');
parentPort.once('message', ({ module, memory, control, slot, helpers, names, port }) => {
  // Module m's kernels: kernels[m][i] is export names[i] of the m-th module (0: the one given here).
  const kernels = [];
  const load = (module, names) => {
    const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
    kernels.push(names.map((name) => exports[name]));
  };
  load(module, names);
  // A function number is module << ${MODULE_SHIFT} | export; a module's message arrives before its first call.
  const kernel = (f) => {
    const m = f >>> ${MODULE_SHIFT};
    for (let message; kernels[m] === undefined && (message = receiveMessageOnPort(port)) !== undefined; ) load(message.message.module, message.message.names);
    return kernels[m][f & ${EXPORT_MASK}];
  };
  const c = new Int32Array(control, slot * ${SLOTS * 4}, ${SLOTS});
  const job = new Int32Array(control, helpers * ${SLOTS * 4}, ${SLOTS});
  const queue = new Int32Array(control, (helpers + 1) * ${SLOTS * 4}, ${RING * RECORD});
  const want = new Int32Array(control, ((helpers + 1) * ${SLOTS} + ${RING * RECORD}) * 4, ${RING});
  Atomics.store(c, ${READY}, 1);
  let cursor = 0;
  // Runs one chunk of the first queued call in the window, from the oldest not done, whose chunks are not
  // all taken and whose calls to follow (R_AFTER: the calls it reads from) are done; with a mark, only of the
  // calls the calling thread waits for (want). False where there is none.
  const runOne = (tail, mark) => {
    for (let i = cursor; i < tail && i < cursor + ${WINDOW}; i++) {
      if (mark !== 0 && want[i % ${RING}] !== mark) continue;
      const r = (i % ${RING}) * ${RECORD};
      const chunks = queue[r + ${R_CHUNKS}];
      if (Atomics.load(queue, r + ${R_NEXT}) >= chunks) continue;
      let blocked = false;
      for (let j = 0; j < ${MAX_AFTER} && !blocked; j++) {
        const after = queue[r + ${R_AFTER} + j];
        if (after < cursor) continue;
        const a = (after % ${RING}) * ${RECORD};
        blocked = Atomics.load(queue, a + ${R_DONE}) < queue[a + ${R_CHUNKS}];
      }
      if (blocked) continue;
      const k = Atomics.add(queue, r + ${R_NEXT}, 1);
      if (k >= chunks) continue;
      const total = queue[r + ${R_TOTAL}];
      const chunk = queue[r + ${R_CHUNK}];
      try {
        kernel(queue[r + ${R_FUNCTION}])(...queue.subarray(r + ${R_ARGS}, r + ${R_ARGS} + queue[r + ${R_ARGC}]), k * chunk, Math.min(total, (k + 1) * chunk));
      } catch {
        Atomics.store(queue, r + ${R_FAILED}, 1);
      }
      // The call's last chunk: a call waiting for this one may start (threads waiting for progress wake).
      if (Atomics.add(queue, r + ${R_DONE}, 1) + 1 === chunks) {
        Atomics.add(job, ${BELL}, 1);
        Atomics.notify(job, ${BELL});
      }
      return true;
    }
    return false;
  };
  for (;;) {
    const bell = Atomics.load(job, ${BELL});
    // The calling thread's own call first: it waits for it.
    if (Atomics.load(c, ${STATE}) === ${POSTED}) {
      if (Atomics.compareExchange(c, ${STATE}, ${POSTED}, ${RUNNING}) !== ${POSTED}) continue;
      const fn = kernel(c[${FUNCTION}]);
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
      continue;
    }
    // Then the queued calls, one chunk at a time: first those the calling thread waits for, then any.
    const tail = Atomics.load(job, ${TAIL});
    while (cursor < tail && Atomics.load(queue, (cursor % ${RING}) * ${RECORD} + ${R_DONE}) === queue[(cursor % ${RING}) * ${RECORD} + ${R_CHUNKS}]) cursor++;
    Atomics.store(c, ${CURSOR}, cursor);
    const mark = Atomics.load(job, ${WANT});
    const ran = (mark !== 0 && runOne(tail, mark)) || runOne(tail, 0);
    if (ran) continue;
    if (cursor < tail) {
      // Queued calls wait for chunks running on another thread: poll for a while before sleeping.
      const deadline = performance.now() + ${SPIN_MS};
      for (let i = 1; Atomics.load(job, ${BELL}) === bell && Atomics.load(c, ${STATE}) !== ${POSTED}; i++) if ((i & 63) === 0 && performance.now() > deadline) break;
      if (Atomics.load(job, ${BELL}) !== bell || Atomics.load(c, ${STATE}) === ${POSTED}) continue;
    }
    Atomics.wait(job, ${BELL}, bell);
  }
});
`;

interface NodeWorker {
  postMessage(message: unknown): void;
  unref(): void;
}
interface NodeMessagePort {
  postMessage(message: unknown): void;
  unref(): void;
}
type WorkerThreads = {
  Worker: new (source: string, options: { eval: true }) => NodeWorker & { postMessage(message: unknown, transfer: unknown[]): void };
  MessageChannel: new () => { port1: NodeMessagePort; port2: NodeMessagePort };
  isMainThread: boolean;
};

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
  /**
   * Queues `exports[name](...args, start, end)` over [0, total) for the helpers (chunks as in {@link run});
   * returns the call's number, or undefined where it cannot be queued (no helper ready, or fewer than
   * `reserve` free places in the queue: a job of several calls queues all of them or none). The call starts
   * once the queued calls `after` (at most {@link MAX_AFTER}; default none) are done.
   */
  defer(name: string, args: readonly number[], total: number, align: number, reserve?: number, after?: readonly number[]): number | undefined;
  /** True once queued call `call` is done. */
  done(call: number): boolean;
  /** Chunks of queued calls the calling thread has run so far, completing reads (for tests). */
  readonly callerChunks: number;
  /** Runs the queued calls `call` needs (the calls its `after` names, and theirs) on this thread with the helpers until `call` is done. */
  complete(call: number): void;
  /** The kernel of the first done queued call in [from, to] a chunk of which threw (forgotten once asked), or undefined. */
  failure(from: number, to: number): string | undefined;
  /**
   * {@link KernelThreads.run} for another module instantiated on the same memory: `exports` is its instance
   * on this thread (which runs this thread's chunks), `module` the compiled module the helpers instantiate
   * (sent to them the first time).
   */
  runModule(module: WebAssembly.Module, exports: Readonly<Record<string, unknown>>, name: string, args: readonly number[], total: number, align: number): void;
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
  const control = new SharedArrayBuffer(((helpers + 1) * SLOTS + RING * RECORD + RING) * 4);
  const blocks = Array.from({ length: helpers }, (_, slot) => new Int32Array(control, slot * SLOTS * 4, SLOTS));
  const job = new Int32Array(control, helpers * SLOTS * 4, SLOTS);
  const queue = new Int32Array(control, (helpers + 1) * SLOTS * 4, RING * RECORD);
  /**
   * want[call % RING] is the mark of the complete() that waits for `call` (job[WANT] while it waits): the
   * helpers take chunks of those calls first, so the calling thread gets back to its JavaScript sooner.
   */
  const want = new Int32Array(control, ((helpers + 1) * SLOTS + RING * RECORD) * 4, RING);
  let mark = 0;
  /** Each helper's end of its message port, for the modules added later. */
  const ports: NodeMessagePort[] = [];
  for (let slot = 0; slot < helpers; slot++) {
    const worker = new threadsModule.Worker(HELPER_SOURCE, { eval: true });
    const { port1, port2 } = new threadsModule.MessageChannel();
    worker.postMessage({ module, memory, control, slot, helpers, names, port: port2 }, [port2]);
    // A helper waiting for work must not keep the process alive.
    worker.unref();
    port1.unref();
    ports.push(port1);
  }
  /** The modules the helpers run: 0 is `module`; each with its export names and this thread's runner. */
  const modules: { names: Map<string, number>; call: (name: string, args: readonly number[]) => void }[] = [
    { names: new Map(names.map((n, i) => [n, i])), call: run },
  ];
  const added = new Map<WebAssembly.Module, number>();
  const ready = () => blocks.filter((b) => Atomics.load(b, READY) === 1);
  const functionIndex = (m: number, name: string, args: readonly number[]): number => {
    const fn = modules[m]!.names.get(name);
    if (fn === undefined) throw new DetkitError('UNSUPPORTED_PLATFORM', `no kernel '${name}' to run on helper threads`);
    if (args.length + 2 > MAX_ARGS) throw new DetkitError('UNSUPPORTED_PLATFORM', `kernel '${name}' takes more than ${MAX_ARGS} arguments`);
    return (m << MODULE_SHIFT) | fn;
  };
  const ring = (call: number) => (call % RING) * RECORD;
  /** Queued calls so far; `completed` of them are done (in order: a call starts when the one before is done). */
  let tail = 0;
  let completed = 0;
  /** Done queued calls a chunk of which threw, with their kernel's name. */
  const failures = new Map<number, string>();
  const retire = () => {
    const r = ring(completed);
    if (queue[r + R_FAILED] !== 0) failures.set(completed, names[queue[r + R_FUNCTION]!]!);
    completed++;
  };
  /** True once queued call `call` (at or after `completed`, so its slot is its own) is done. */
  const isDone = (call: number) => Atomics.load(queue, ring(call) + R_DONE) === queue[ring(call) + R_CHUNKS];
  /** Retires the done calls at the front. */
  const retireDone = () => {
    while (completed < tail && isDone(completed)) retire();
  };
  /**
   * The queued calls `call` waits for, itself included, in queue order: the calls its `after` names that are
   * not done, and theirs. A queued call reads only what those calls write (./deferred names every writer),
   * so running them completes `call`; older calls it does not need stay queued for the helpers, which run
   * them while this thread goes on (a weight gradient of the step before, say, while the next step's
   * proposals are read).
   */
  const needed = (call: number): number[] => {
    const seen = new Set([call]);
    const stack = [call];
    while (stack.length > 0) {
      const r = ring(stack.pop()!);
      for (let j = 0; j < MAX_AFTER; j++) {
        const after = queue[r + R_AFTER + j]!;
        if (after < completed || seen.has(after) || isDone(after)) continue;
        seen.add(after);
        stack.push(after);
      }
    }
    return [...seen].sort((a, b) => a - b);
  };
  /** Chunks of queued calls this thread has run (KernelThreads.callerChunks). */
  let callerChunks = 0;
  /**
   * Runs one chunk of the first of `calls` (queued, in queue order) from `from.start` that has chunks left and
   * whose `after` calls are done (as a helper picks one); false where there is none. Calls whose chunks are
   * all taken stay so: `from.start` moves past them, so a long wait does not look at them again.
   */
  const runQueuedChunk = (calls: readonly number[], from: { start: number }): boolean => {
    for (; from.start < calls.length; from.start++) {
      const i = calls[from.start]!;
      if (i >= completed && Atomics.load(queue, ring(i) + R_NEXT) < queue[ring(i) + R_CHUNKS]!) break;
    }
    for (let n = from.start; n < calls.length; n++) {
      const i = calls[n]!;
      if (i < completed) continue;
      const r = ring(i);
      const chunks = queue[r + R_CHUNKS]!;
      if (Atomics.load(queue, r + R_NEXT) >= chunks) continue;
      let blocked = false;
      for (let j = 0; j < MAX_AFTER && !blocked; j++) {
        const after = queue[r + R_AFTER + j]!;
        blocked = after >= completed && !isDone(after);
      }
      if (blocked) continue;
      const k = Atomics.add(queue, r + R_NEXT, 1);
      if (k >= chunks) continue;
      const total = queue[r + R_TOTAL]!;
      const chunk = queue[r + R_CHUNK]!;
      const argc = queue[r + R_ARGC]!;
      const args = new Array<number>(argc + 2);
      for (let a = 0; a < argc; a++) args[a] = queue[r + R_ARGS + a]!;
      args[argc] = k * chunk;
      args[argc + 1] = Math.min(total, (k + 1) * chunk);
      callerChunks++;
      try {
        run(names[queue[r + R_FUNCTION]!]!, args);
      } catch {
        Atomics.store(queue, r + R_FAILED, 1);
      }
      if (Atomics.add(queue, r + R_DONE, 1) + 1 === chunks) {
        Atomics.add(job, BELL, 1);
        Atomics.notify(job, BELL);
      }
      return true;
    }
    return false;
  };
  /** Runs chunks of `calls` (the calls `call` needs) with the helpers until `call` is done. */
  const runUntilDone = (call: number, calls: readonly number[]): void => {
    const from = { start: 0 };
    for (;;) {
      // The bell is read before the call is looked at: a call finishing after the look rings it.
      const bell = Atomics.load(job, BELL);
      retireDone();
      if (completed > call || isDone(call)) return;
      if (runQueuedChunk(calls, from)) continue;
      // Every runnable chunk `call` needs is running on a helper: wait for a call to finish.
      spin(() => Atomics.load(job, BELL) !== bell);
      if (Atomics.load(job, BELL) === bell) Atomics.wait(job, BELL, bell);
    }
  };
  /** Runs module m's `name` over [0, total) split over this thread and the ready helpers (see KernelThreads.run). */
  const runIn = (m: number, name: string, args: readonly number[], total: number, align: number): void => {
    const fn = functionIndex(m, name, args);
    const call = modules[m]!.call;
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
    }
    Atomics.add(job, BELL, 1);
    Atomics.notify(job, BELL);
    let failed = false;
    try {
      // This thread takes chunks too, from the same counter, until none is left.
      for (let k = Atomics.add(job, NEXT, 1); k * chunk < total; k = Atomics.add(job, NEXT, 1)) {
        call(name, [...args, k * chunk, Math.min(total, (k + 1) * chunk)]);
      }
    } finally {
      for (const block of live) {
        // A helper that has not started yet gets nothing to do (its call is taken back); one that has
        // is finishing its last chunk, and no helper may still run this call when the next one starts.
        if (Atomics.compareExchange(block, STATE, POSTED, IDLE) === POSTED) continue;
        spin(() => Atomics.load(block, STATE) === IDLE);
        for (let state = Atomics.load(block, STATE); state !== IDLE; state = Atomics.load(block, STATE)) Atomics.wait(block, STATE, state);
        if (block[FUNCTION] === -1) failed = true;
      }
    }
    if (failed) throw new DetkitError('UNSUPPORTED_PLATFORM', `detkit's '${name}' kernel failed on a helper thread`);
  };
  return {
    get threads() {
      return ready().length + 1;
    },
    run(name, args, total, align) {
      runIn(0, name, args, total, align);
    },
    runModule(module, exports, name, args, total, align) {
      let m = added.get(module);
      if (m === undefined) {
        const exportNames = Object.keys(exports).filter((key) => typeof exports[key] === 'function');
        m = modules.length;
        modules.push({
          names: new Map(exportNames.map((n, i) => [n, i])),
          call: (kernel, all) => (exports[kernel] as (...a: number[]) => void)(...all),
        });
        added.set(module, m);
        // Sent before any call names the module: a helper reads it before running that call.
        for (const port of ports) port.postMessage({ module, names: exportNames });
      }
      runIn(m, name, args, total, align);
    },
    defer(name, args, total, align, reserve = 1, after = []) {
      if (after.length > MAX_AFTER) throw new DetkitError('UNSUPPORTED_PLATFORM', `a queued call waits for at most ${MAX_AFTER} calls`);
      const fn = functionIndex(0, name, args);
      const live = ready();
      if (live.length === 0) return undefined;
      // A slot is free once its call is done and every helper has moved past it.
      const oldest = tail + reserve - 1 - RING;
      if (oldest >= completed) return undefined;
      if (oldest >= 0 && blocks.some((b) => Atomics.load(b, CURSOR) <= oldest)) return undefined;
      const chunks = Math.max(1, Math.min(Math.ceil(total / align), (live.length + 1) * CHUNKS_PER_THREAD));
      const chunk = Math.max(align, Math.ceil(total / chunks / align) * align);
      const r = ring(tail);
      queue[r + R_FUNCTION] = fn;
      queue[r + R_ARGC] = args.length;
      queue[r + R_TOTAL] = total;
      queue[r + R_CHUNK] = chunk;
      queue[r + R_CHUNKS] = Math.ceil(total / chunk);
      queue[r + R_NEXT] = 0;
      queue[r + R_DONE] = 0;
      queue[r + R_FAILED] = 0;
      for (let j = 0; j < MAX_AFTER; j++) queue[r + R_AFTER + j] = after[j] ?? -1;
      queue.set(args, r + R_ARGS);
      // Storing the tail publishes the record (atomic operations order the plain writes before it).
      Atomics.store(job, TAIL, ++tail);
      Atomics.add(job, BELL, 1);
      Atomics.notify(job, BELL);
      return tail - 1;
    },
    done(call) {
      retireDone();
      return completed > call || isDone(call);
    },
    get callerChunks() {
      return callerChunks;
    },
    complete(call) {
      retireDone();
      if (completed > call || isDone(call)) return;
      const calls = needed(call);
      mark = mark === 0x7fffffff ? 1 : mark + 1;
      for (const c of calls) want[c % RING] = mark;
      // Publishes the marks (the atomic store orders the plain writes before it).
      Atomics.store(job, WANT, mark);
      try {
        runUntilDone(call, calls);
      } finally {
        Atomics.store(job, WANT, 0);
      }
    },
    failure(from, to) {
      for (const [call, name] of failures) {
        if (call < from || call > to) continue;
        failures.delete(call);
        return name;
      }
      // Done calls not retired yet (an earlier call is still running): their flag, cleared once asked.
      for (let call = Math.max(from, completed); call <= to && call < tail; call++) {
        const r = ring(call);
        if (queue[r + R_FAILED] === 0) continue;
        queue[r + R_FAILED] = 0;
        return names[queue[r + R_FUNCTION]!]!;
      }
      return undefined;
    },
  };
}
