import { BackendUnavailableError, gpuContextLost, registerCpuKernelFixes, registerGradientFixes, setupBackend, tf } from '@detkit/core';
import { importNodeGpu, loadWebgl, loadWebgpu, loadedVersions, NODE_GPU_PACKAGE } from './load-backend';
import { registerWasmTrainingKernels } from './register-wasm-training-kernels';
import { checkThreads, checkXnnpackThreads, MAX_WASM_THREADS, startWasm } from './wasm-threads';
import { startWebgpu } from './webgpu/start-webgpu';

/**
 * Where detkit's math runs:
 * - `'wasm'`: tfjs-backend-wasm (WebAssembly SIMD, on `threads` threads, default every core), with
 *   detkit's training kernels registered ({@link registerWasmTrainingKernels}). The default CPU backend.
 * - `'cpu'`: tfjs-backend-cpu, plain JavaScript: the reference every other backend is tested against
 *   (with {@link registerCpuKernelFixes}).
 * - `'gpu'`: the platform's GPU backend, on hardware only. In Node: TensorFlow's CUDA build through
 *   `@tensorflow/tfjs-node-gpu` when it is installed and finds a GPU, else WebGPU through Dawn (the npm package
 *   `webgpu`, an optional peer dependency) on a hardware adapter. In a browser: WebGPU on a hardware adapter,
 *   else WebGL. A software adapter (SwiftShader, llvmpipe) only with `{ allowSoftwareAdapter: true }`.
 * - `'webgpu'`: tfjs-backend-webgpu by name; in Node through Dawn. Takes a software adapter when it is the
 *   only one ({@link backendInfo} says so in `adapter.software`).
 * - `'webgl'`: tfjs-backend-webgl (browsers only). A WebGL backend whose context the browser took away (a
 *   GPU reset: @detkit/core's `gpuContextLost`) is replaced by a fresh one on a new context.
 * - `'auto'`: `'gpu'` when it loads, else `'wasm'`, else `'cpu'`.
 */
export type BackendName = 'wasm' | 'cpu' | 'gpu' | 'webgl' | 'webgpu' | 'auto';

/** The names {@link useBackend} accepts. */
export const BACKEND_NAMES: readonly BackendName[] = ['wasm', 'cpu', 'gpu', 'webgl', 'webgpu', 'auto'];

/** Options of {@link useBackend}. */
export interface UseBackendOptions {
  /**
   * Where tfjs-backend-wasm's `.wasm` files are served from (a folder URL ending in `/`). Default: in
   * Node, the installed package (found through its package.json, so pnpm's layout works); in a browser,
   * tfjs's default, the folder of the page's script (copy `tfjs-backend-wasm*.wasm` next to your bundle).
   */
  wasmPaths?: string;
  /**
   * `'wasm'` (and `'auto'` when it picks wasm): the threads the backend computes on, an integer from 1 to
   * 8. Default: every core (`os.availableParallelism()` in Node, `navigator.hardwareConcurrency` in a
   * browser), at most 8. One thread runs tfjs's unthreaded SIMD build; more run its threaded SIMD build (in
   * Node through detkit's start-up fixes, with detkit's kernels split over helper threads, see
   * `xnnpackThreads`; in a browser only on a cross-origin-isolated page, XNNPACK's pool on every thread).
   * Results do not depend on the count: work is split by outputs between threads, or (weight gradients) by
   * parts of the batch that the shapes fix, added in order; never by the count. Fixed when
   * wasm first starts in a process: another count later throws `InvalidArgumentError`, as does a count
   * that is not an integer from 1 to 8.
   */
  threads?: number;
  /**
   * `'wasm'` in Node with more than one thread: the threads of XNNPACK's pool, which runs
   * tfjs-backend-wasm's own kernels (elementwise ops, pooling, depthwise forwards), an integer from 1 to
   * `threads`. Default 1: XNNPACK runs on the calling thread, and the other `threads - 1` cores are
   * detkit's kernel threads (its convolutions and their gradients, products, batch norm, Adam, transposes),
   * which a pool's workers would compete with (they spin between calls). In a browser the pool has
   * `threads` threads (detkit's kernel threads are Node-only). Fixed with `threads`.
   */
  xnnpackThreads?: number;
  /**
   * Imports `@tensorflow/tfjs-node-gpu` for `'gpu'` in Node. Default: a dynamic import of that package by
   * name. Pass `() => import('@tensorflow/tfjs-node-gpu')` where a bundler must see the import.
   */
  loadNodeGpu?: () => Promise<unknown>;
  /**
   * Lets `'gpu'` and `'auto'` use a software WebGPU adapter (SwiftShader, llvmpipe: the GPU API emulated
   * on the CPU, slower than `'wasm'`) when no hardware adapter exists. Default false. `'webgpu'` asked for
   * by name always may.
   */
  allowSoftwareAdapter?: boolean;
  /** Dawn toggles passed to `create(flags)` of the `webgpu` package in Node, e.g. `['backend=vulkan']`. Default none. */
  dawnFlags?: readonly string[];
}

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/** The active backend's name, without making tfjs pick one when none is set yet. */
function currentBackendName(): string | null {
  return (tf.engine() as unknown as { backendName: string | null }).backendName ?? null;
}

async function restore(previous: string | null): Promise<void> {
  if (previous !== null && currentBackendName() !== previous) await tf.setBackend(previous);
}

/** Activates the tfjs backend `tfjsName` (already registered), or throws naming `requested`. */
async function activate(requested: BackendName, tfjsName: string, previous: string | null, why: string, hint: string): Promise<void> {
  let ok = false;
  let cause: unknown;
  try {
    ok = await tf.setBackend(tfjsName);
  } catch (error) {
    cause = error;
  }
  if (!ok) {
    await restore(previous);
    const reason = cause === undefined ? why : `${why} (${String(cause)})`;
    throw new BackendUnavailableError(requested, reason, hint, cause === undefined ? undefined : { cause });
  }
  await tf.ready();
}

const GPU_HINT = `Install ${NODE_GPU_PACKAGE} (npm install ${NODE_GPU_PACKAGE}; it needs Linux x64 with CUDA 11.2 and cuDNN 8.1), or use 'wasm'.`;

async function useNodeGpu(previous: string | null, options: UseBackendOptions): Promise<void> {
  try {
    await (options.loadNodeGpu ?? importNodeGpu)();
  } catch (cause) {
    await restore(previous);
    const text = String((cause as Error)?.message ?? cause);
    const missing = /ERR_MODULE_NOT_FOUND|MODULE_NOT_FOUND/.test(String((cause as { code?: string })?.code)) || /Cannot find (package|module)|Could not resolve/.test(text);
    const reason = missing && new RegExp(`['"]${NODE_GPU_PACKAGE}['"]`).test(text) ? `${NODE_GPU_PACKAGE} is not installed` : `${NODE_GPU_PACKAGE} failed to load (${text.split('\n')[0]})`;
    throw new BackendUnavailableError('gpu', reason, GPU_HINT, { cause });
  }
  if (tf.findBackendFactory('tensorflow') === null) {
    await restore(previous);
    throw new BackendUnavailableError('gpu', `${NODE_GPU_PACKAGE} loaded but registered no 'tensorflow' backend`, GPU_HINT);
  }
  await activate('gpu', 'tensorflow', previous, "TensorFlow's native backend failed to initialise", GPU_HINT);
  const native = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
  if (native.isUsingGpuDevice === false) {
    await restore(previous);
    throw new BackendUnavailableError('gpu', `${NODE_GPU_PACKAGE} loaded, but TensorFlow found no CUDA GPU (it would run on the CPU)`, 'Check the NVIDIA driver, CUDA 11.2 and cuDNN 8.1 installation, or use \'wasm\'.');
  }
  loadedVersions.set('tensorflow', NODE_GPU_PACKAGE);
}

/**
 * A WebGL backend whose context the browser took away (a GPU reset) stays registered with tfjs, and
 * `tf.setBackend('webgl')` would hand it back: every kernel a no-op, every read zeros. Replaces it with a
 * fresh instance of the same factory, which makes a new context (tfjs-backend-webgl dropped the lost one from
 * its cache). The lost backend's tensors are gone either way; disposing them afterwards is a no-op.
 */
function replaceLostWebglBackend(): void {
  const stale = tf.findBackend('webgl');
  const factory = tf.findBackendFactory('webgl');
  if (stale == null || factory == null || !gpuContextLost(stale)) return;
  // tfjs keeps each factory's priority only in its engine (tfjs-backend-webgl registers with 2).
  const registered = (tf.engine() as unknown as { registryFactory?: Record<string, { priority?: number }> }).registryFactory;
  const priority = registered?.['webgl']?.priority ?? 2;
  tf.removeBackend('webgl');
  tf.registerBackend('webgl', factory, priority);
}

async function useBrowserBackend(requested: BackendName, which: 'webgl' | 'webgpu', previous: string | null): Promise<void> {
  try {
    await (which === 'webgl' ? loadWebgl() : loadWebgpu());
  } catch (cause) {
    await restore(previous);
    throw new BackendUnavailableError(requested, `@tensorflow/tfjs-backend-${which} failed to load (${String(cause)})`, `Reinstall @detkit/backends' dependency @tensorflow/tfjs-backend-${which}, or use 'wasm'.`, { cause });
  }
  if (which === 'webgpu' && (typeof navigator === 'undefined' || !(navigator as { gpu?: unknown }).gpu)) {
    await restore(previous);
    throw new BackendUnavailableError(requested, 'WebGPU is not available here (no navigator.gpu)', "Use a browser with WebGPU (Chrome 113+), or use 'webgl' or 'wasm'.");
  }
  if (which === 'webgl') replaceLostWebglBackend();
  const why = which === 'webgl' ? 'no WebGL context could be created here' : 'no WebGPU adapter could be obtained here';
  const hint = which === 'webgl' ? "Run in a browser with WebGL 2 (Node has none), or use 'wasm'." : "Use a browser with WebGPU enabled, or use 'webgl' or 'wasm'.";
  await activate(requested, which, previous, why, hint);
}

/** Starts WebGPU on an adapter `options` accept (see {@link startWebgpu}) and activates it. */
async function useWebgpu(requested: BackendName, previous: string | null, options: UseBackendOptions): Promise<void> {
  try {
    await startWebgpu(requested, { allowSoftwareAdapter: options.allowSoftwareAdapter ?? false, dawnFlags: options.dawnFlags });
  } catch (error) {
    await restore(previous);
    throw error;
  }
  await activate(requested, 'webgpu', previous, 'the WebGPU device could not be created', "Check the GPU driver, or use 'wasm'.");
}

/**
 * `'gpu'`: in Node tfjs-node-gpu, else WebGPU through Dawn; in a browser WebGPU, else WebGL. When none
 * works, one error listing each attempt and why it failed.
 */
async function useGpu(previous: string | null, options: UseBackendOptions): Promise<void> {
  const attempts: Array<[string, () => Promise<void>]> = isNode()
    ? [
        [NODE_GPU_PACKAGE, () => useNodeGpu(previous, options)],
        ['WebGPU through Dawn', () => useWebgpu('gpu', previous, options)],
      ]
    : [
        ['WebGPU', () => useWebgpu('gpu', previous, options)],
        ['WebGL', () => useBrowserBackend('gpu', 'webgl', previous)],
      ];
  const failures: Array<{ what: string; error: BackendUnavailableError }> = [];
  for (const [what, attempt] of attempts) {
    try {
      await attempt();
      return;
    } catch (error) {
      if (!(error instanceof BackendUnavailableError)) throw error;
      failures.push({ what, error });
    }
  }
  const reasonOf = (e: BackendUnavailableError): string => {
    const prefix = `backend '${e.backend}' is unavailable: `;
    return e.message.slice(prefix.length, e.message.length - e.hint.length - 2);
  };
  const reasons = failures.map(({ what, error }, i) => `(${i + 1}) ${what}: ${reasonOf(error)}`);
  const hints = failures.map(({ error }) => error.hint).join(' Or: ');
  throw new BackendUnavailableError('gpu', `tried ${reasons.join('; ')}`, hints, { cause: failures[0]?.error });
}

/**
 * Reads every variable's data off webgpu asynchronously when it is the active backend, so that moving the
 * variables to another backend reads nothing synchronously: tfjs moves data with a sync read, which in a
 * browser goes through a canvas (headless Chromium on SwiftShader loses the device on it) and stalls a GPU.
 * tfjs-backend-webgpu keeps what an async read returned beside the buffer, where the move finds it.
 */
async function downloadVariablesFromWebgpu(): Promise<void> {
  if (currentBackendName() !== 'webgpu') return;
  const variables = Object.values((tf.engine().state as unknown as { registeredVariables: Record<string, tf.Variable> }).registeredVariables);
  await Promise.all(variables.filter((v) => !v.isDisposed).map((v) => v.data()));
}

/**
 * Makes `name` the active backend for every detkit and tfjs op that follows, and waits until it is
 * ready. Tensors and variables made on the previous backend stay valid: tfjs moves each one's data to the
 * new backend the first time it is used there, so a training loop can switch between steps and keep its
 * weights and optimizer state (see {@link registerCpuKernelFixes} for the one cpu kernel that made such
 * moves lose values). Leaving webgpu, every variable (weights, optimizer slots) is first read
 * asynchronously, so that the move needs no synchronous GPU read; other tensors kept on webgpu are read
 * synchronously when first used on the new backend.
 *
 * Throws {@link BackendUnavailableError} naming the backend, the cause and what to install when the
 * backend cannot be used (an unknown name, `@tensorflow/tfjs-node-gpu` missing or failing to load, no
 * WebGL or WebGPU here). The previously active backend then stays active.
 *
 * @returns What now runs the math ({@link backendInfo}'s `backend` is the tfjs name: 'wasm', 'cpu',
 *   'tensorflow', 'webgl' or 'webgpu').
 */
export async function useBackend(name: BackendName, options: UseBackendOptions = {}): Promise<string> {
  if (!BACKEND_NAMES.includes(name)) {
    throw new BackendUnavailableError(String(name), 'unknown backend name', `Use one of ${BACKEND_NAMES.map((n) => `'${n}'`).join(', ')}.`);
  }
  if (options.threads !== undefined) checkThreads(options.threads);
  if (options.xnnpackThreads !== undefined) checkXnnpackThreads(options.xnnpackThreads, options.threads ?? MAX_WASM_THREADS);
  registerGradientFixes();
  const previous = currentBackendName();
  if (name !== 'webgpu') await downloadVariablesFromWebgpu();
  switch (name) {
    case 'cpu':
      registerCpuKernelFixes();
      await setupBackend('cpu');
      break;
    case 'wasm':
      registerWasmTrainingKernels();
      await startWasm(options);
      break;
    case 'webgl':
      await useBrowserBackend(name, name, previous);
      break;
    case 'webgpu':
      await useWebgpu('webgpu', previous, { ...options, allowSoftwareAdapter: true });
      break;
    case 'gpu':
      await useGpu(previous, options);
      break;
    case 'auto':
      try {
        await useBackend('gpu', options);
      } catch {
        try {
          await useBackend('wasm', options);
        } catch {
          await useBackend('cpu', options);
        }
      }
      break;
  }
  return tf.getBackend();
}
