/**
 * Starting tfjs-backend-wasm's threaded SIMD build (`tfjs-backend-wasm-threaded-simd.wasm`), which runs
 * XNNPACK's convolutions and matrix products on a pool of worker threads, in Node as well as in browsers.
 * Internal to the package; `useBackend('wasm', { threads })` calls {@link startWasm}.
 *
 * tfjs-backend-wasm 4.22 does not start its threaded build in Node (it reports no thread support there),
 * and forcing it fails three ways, each worked around here for the duration of the initialisation only:
 * - Emscripten's pthread worker is given as a `blob:` URL, which Node's `worker_threads` refuses
 *   (`ERR_WORKER_PATH`). The worker script (tfjs's `wasmWorkerContents`, which already has a Node branch)
 *   is written to a real file, and `URL.createObjectURL` answers that file's path for it.
 * - The main script reaches each worker as a `Blob`, which the worker's Node branch cannot `importScripts`.
 *   The written worker reads the Blob's text itself (holding later messages until it has) and evaluates
 *   it with the bundle-level names it refers to (`require$$0` = fs, ..., tslib's helpers) defined.
 * - tfjs's C++ caps the pool at `emscripten_num_logical_cores() / 2` ("many x86-64 processors have 2
 *   threads per core"), which is `os.cpus().length / 2` in Node: 1 on a 2-core machine. `os.cpus()`
 *   reports 16 entries while the module starts, so the cap is the count asked for (and tfjs's own 8).
 * Emscripten leaves its 8 pre-started workers referenced, which would keep Node from exiting: they are
 * unref'd.
 */
import type * as NodeCrypto from 'node:crypto';
import type * as NodeFs from 'node:fs';
import type * as NodeModule from 'node:module';
import type * as NodePath from 'node:path';
import { BackendUnavailableError, InvalidArgumentError, setupBackend, tf } from '@detkit/core';
import { getThreadsCount, setThreadsCount, version_wasm } from '@tensorflow/tfjs-backend-wasm';

/** tfjs-backend-wasm's thread pool holds at most 8 workers (its Emscripten build pre-starts 8). */
export const MAX_WASM_THREADS = 8;

/** Options of {@link startWasm}. */
export interface StartWasmOptions {
  threads?: number;
  xnnpackThreads?: number;
  wasmPaths?: string;
}

/** The threads {@link startWasm} started wasm on in this process; undefined where it did not start it. */
let wasmThreads: number | undefined;

/**
 * The threads wasm runs on in this process: {@link startWasm}'s count (the calling thread, XNNPACK's pool
 * workers and detkit's kernel helpers share them), else tfjs-backend-wasm's own thread count.
 */
export function wasmThreadCount(): number {
  return wasmThreads ?? getThreadsCount();
}

// Node built-ins by specifiers held in variables, opaque to browser bundlers (as @detkit/core does).
const NODE_OS = 'node:os';
const NODE_FS = 'node:fs';
const NODE_PATH = 'node:path';
const NODE_MODULE = 'node:module';
const NODE_CRYPTO = 'node:crypto';

type OsModule = { cpus(): unknown[]; availableParallelism?: () => number; tmpdir(): string };

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

async function nodeOs(): Promise<OsModule> {
  const mod = (await import(/* @vite-ignore */ NODE_OS)) as { default: OsModule };
  return mod.default;
}

/**
 * Every core: `os.availableParallelism()` in Node, `navigator.hardwareConcurrency` in a browser, at most
 * {@link MAX_WASM_THREADS}.
 */
export async function defaultWasmThreads(): Promise<number> {
  let cores = 1;
  if (isNode()) {
    const os = await nodeOs();
    cores = os.availableParallelism?.() ?? os.cpus().length;
  } else if (typeof navigator !== 'undefined' && typeof navigator.hardwareConcurrency === 'number') {
    cores = navigator.hardwareConcurrency;
  }
  return Math.max(1, Math.min(MAX_WASM_THREADS, cores));
}

/** Checks `useBackend`'s `xnnpackThreads` option: an integer from 1 to `threads`. */
export function checkXnnpackThreads(xnnpackThreads: unknown, threads: number): number {
  if (typeof xnnpackThreads !== 'number' || !Number.isInteger(xnnpackThreads) || xnnpackThreads < 1 || xnnpackThreads > threads) {
    throw new InvalidArgumentError('useBackend', 'xnnpackThreads', `must be an integer from 1 to threads (${threads}), got ${String(xnnpackThreads)}`);
  }
  return xnnpackThreads;
}

/** Checks `useBackend`'s `threads` option: an integer from 1 to {@link MAX_WASM_THREADS}. */
export function checkThreads(threads: unknown): number {
  if (typeof threads !== 'number' || !Number.isInteger(threads)) {
    throw new InvalidArgumentError('useBackend', 'threads', `must be an integer from 1 to ${MAX_WASM_THREADS}, got ${String(threads)}`);
  }
  if (threads < 1 || threads > MAX_WASM_THREADS) {
    throw new InvalidArgumentError('useBackend', 'threads', `must be from 1 to ${MAX_WASM_THREADS} (tfjs-backend-wasm's pool holds ${MAX_WASM_THREADS} workers), got ${threads}`);
  }
  return threads;
}

/** The initialised wasm backend, or undefined before its first use in this process. */
function initialisedWasm(): { wasm: { PThread?: { unusedWorkers: Array<{ unref?(): void }>; runningWorkers: Array<{ unref?(): void }> } } } | undefined {
  return (tf.engine() as unknown as { registry: Record<string, unknown> }).registry.wasm as never;
}

/** Whether the running wasm backend is the threaded build (its Emscripten module has a pthread pool). */
export function wasmIsThreaded(): boolean {
  return initialisedWasm()?.wasm.PThread !== undefined;
}

// The parts of tfjs's worker script the Node fixes replace (tfjs-backend-wasm 4.22's wasmWorkerContents).
const WORKER_ON_MESSAGE = 'parentPort.on("message",data=>onmessage({data:data}));';
const WORKER_IMPORT_MAIN =
  'if(typeof e.data.urlOrBlob=="string"){importScripts(e.data.urlOrBlob)}else{var objectUrl=URL.createObjectURL(e.data.urlOrBlob);importScripts(objectUrl);URL.revokeObjectURL(objectUrl)}';

/**
 * Globals the main script (the threaded Emscripten factory's source, as tfjs passes it) refers to from
 * tfjs's Node bundle: its required modules, `commonjsGlobal`, `_scriptDir`, and tslib's helpers.
 */
const WORKER_GLOBALS = [
  'Object.assign(global,{require$$0:require("fs"),require$$1:require("path"),require$$3:require("perf_hooks"),require$$4:require("os"),commonjsGlobal:global,_scriptDir:__filename,',
  '__values:function(o){var m=typeof Symbol=="function"&&o[Symbol.iterator];if(m)return m.call(o);var i=0;return{next:function(){if(o&&i>=o.length)o=void 0;return{value:o&&o[i++],done:!o}}}},',
  '__read:function(o,n){var a=Array.from(o);return n===undefined?a:a.slice(0,n)},',
  '__spreadArray:function(to,from){return to.concat(Array.prototype.slice.call(from))}});',
].join('');

/**
 * Queues messages until the main script (a Blob) has been read, then evaluates it where tfjs's worker
 * would have `importScripts`-ed it.
 */
const WORKER_QUEUE =
  'var detkitQueue=null;parentPort.on("message",data=>{if(detkitQueue!==null){detkitQueue.push(data);return}' +
  'if(data&&data.cmd==="load"&&typeof data.urlOrBlob!=="string"){detkitQueue=[];data.urlOrBlob.text().then(text=>{' +
  'data.detkitMainScript=text;var queued=detkitQueue;detkitQueue=null;onmessage({data:data});for(const d of queued)onmessage({data:d})})}' +
  'else onmessage({data:data})});';

/** Writes tfjs's pthread worker script, patched for Node, to a file; returns its path (cached per process). */
let workerPath: Promise<string> | undefined;

async function writeWorkerScript(): Promise<string> {
  const fs = ((await import(/* @vite-ignore */ NODE_FS)) as { default: typeof NodeFs }).default;
  const path = ((await import(/* @vite-ignore */ NODE_PATH)) as { default: typeof NodePath }).default;
  const { createRequire } = (await import(/* @vite-ignore */ NODE_MODULE)) as typeof NodeModule;
  const { createHash } = (await import(/* @vite-ignore */ NODE_CRYPTO)) as typeof NodeCrypto;
  const os = await nodeOs();
  const require = createRequire(import.meta.url);
  const bundle = fs.readFileSync(require.resolve('@tensorflow/tfjs-backend-wasm'), 'utf8');
  const found = /\nvar wasmWorkerContents = ("(?:[^"\\]|\\.)*");\n/.exec(bundle);
  const hint = `Use { threads: 1 }, or tfjs-backend-wasm 4.22.0 (this is ${version_wasm}).`;
  if (found === null) throw new BackendUnavailableError('wasm', "the threaded build's worker script was not found in tfjs-backend-wasm's Node bundle", hint);
  // As tfjs does before making its Blob: newlines inside the script's string literals become '\n'.
  let script = (JSON.parse(found[1]!) as string).replace(/\n/g, '\\n');
  if (!script.includes(WORKER_ON_MESSAGE) || !script.includes(WORKER_IMPORT_MAIN)) {
    throw new BackendUnavailableError('wasm', "tfjs-backend-wasm's worker script is not the one detkit knows how to start in Node", hint);
  }
  // Replacer functions: a replacement string would read the '$$' of require$$0 as an escape.
  script = script.replace(WORKER_ON_MESSAGE, () => WORKER_QUEUE + WORKER_GLOBALS);
  script = script.replace(WORKER_IMPORT_MAIN, () => '(0,eval)(e.data.detkitMainScript);');
  const hash = createHash('sha256').update(script).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), `detkit-tfjs-wasm-${version_wasm}-${hash}`);
  const file = path.join(dir, 'tfjs-backend-wasm-threaded-simd.worker.js');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true });
    // Written under a temporary name and renamed: processes starting at once never see half a file.
    const partial = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(partial, script);
    fs.renameSync(partial, file);
  }
  return file;
}

/** Runs `start` with tfjs's threaded build able to start in Node (see the file's comment). */
async function withNodeThreadFixes<T>(start: () => Promise<T>): Promise<T> {
  const worker = await (workerPath ??= writeWorkerScript().catch((error: unknown) => {
    workerPath = undefined;
    throw error;
  }));
  const os = await nodeOs();
  const cpus = os.cpus;
  const createObjectURL = URL.createObjectURL;
  os.cpus = () => Array.from({ length: 2 * MAX_WASM_THREADS }, () => ({}));
  URL.createObjectURL = (object: Blob | MediaSource): string =>
    object instanceof Blob && object.type === 'application/javascript' ? worker : createObjectURL(object);
  try {
    return await start();
  } finally {
    os.cpus = cpus;
    URL.createObjectURL = createObjectURL;
  }
}

/**
 * Makes tfjs-backend-wasm the active backend on `threads` threads (default: every core, see
 * {@link defaultWasmThreads}). The count is fixed when the backend first starts in a process (tfjs starts
 * its module once): asking for another count afterwards throws {@link InvalidArgumentError}; omitting it
 * reuses the running backend. One thread runs the unthreaded SIMD build; more run the threaded SIMD build
 * (in a browser only where tfjs finds thread support: a cross-origin-isolated page), where XNNPACK's pool
 * has `threads` threads in a browser and `xnnpackThreads` (default 1: on the calling thread) in Node,
 * whose other threads are detkit's kernel helpers (./kernel-threads).
 */
export async function startWasm(options: StartWasmOptions): Promise<void> {
  const asked = options.threads === undefined ? undefined : checkThreads(options.threads);
  const paths = options.wasmPaths === undefined ? {} : { wasmPaths: options.wasmPaths };
  if (initialisedWasm() !== undefined) {
    const running = wasmThreadCount();
    if (asked !== undefined && asked !== running) {
      throw new InvalidArgumentError(
        'useBackend',
        'threads',
        `cannot change to ${asked}: tfjs-backend-wasm already runs ${running} thread(s) in this process (the count is fixed when it first starts)`,
      );
    }
    await setupBackend('wasm', paths);
    return;
  }
  const threads = asked ?? (await defaultWasmThreads());
  const xnnpack = options.xnnpackThreads === undefined ? undefined : checkXnnpackThreads(options.xnnpackThreads, threads);
  if (!isNode()) {
    setThreadsCount(threads);
    await setupBackend('wasm', paths);
    wasmThreads = threads;
    return;
  }
  // In Node detkit's kernel threads take the cores beside the calling one, which runs XNNPACK's kernels
  // unless `xnnpackThreads` asks for a pool (its workers spin between calls, on the helpers' cores).
  const pool = xnnpack ?? 1;
  setThreadsCount(pool);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', threads > 1);
  if (threads === 1) {
    await setupBackend('wasm', paths);
    wasmThreads = threads;
    return;
  }
  await withNodeThreadFixes(() => setupBackend('wasm', paths));
  const workers = initialisedWasm()?.wasm.PThread;
  for (const worker of [...(workers?.unusedWorkers ?? []), ...(workers?.runningWorkers ?? [])]) worker.unref?.();
  const running = getThreadsCount();
  if (running !== pool) {
    throw new BackendUnavailableError('wasm', `tfjs-backend-wasm started ${running} thread(s) instead of ${pool}`, 'Use { threads: 1 }.');
  }
  wasmThreads = threads;
}
