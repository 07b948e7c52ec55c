import type * as NodeModule from 'node:module';
import type * as NodePath from 'node:path';
import { registerCpuKernelFixes } from './cpu-kernel-fixes';
import { BackendUnavailableError } from './errors';
import { tf } from './tf';

/** Backends that `@detkit/core` sets up itself. `@detkit/backends` adds the GPU-class ones. */
export type CoreBackendName = 'cpu' | 'wasm';

/** Options of {@link setupBackend}. */
export interface SetupBackendOptions {
  /**
   * Where the wasm binaries live: a folder URL or path ending in `/`, passed to tfjs's `setWasmPaths`.
   * Default: in Node, the `dist/` folder of the installed `@tensorflow/tfjs-backend-wasm` (found through
   * its package.json, so pnpm's symlinked layout works); in a browser, tfjs's own default (files beside the
   * page). Node only: a browser bundle of `@detkit/core` does not import tfjs-backend-wasm, so there call its
   * `setWasmPaths` yourself (passing this option throws a {@link BackendUnavailableError}).
   */
  wasmPaths?: string;
}

let wasmPathsConfigured = false;

/**
 * tfjs-backend-wasm's `setWasmPaths`, handed over by `node-setup.ts`, which imports that package in the Node
 * build (the browser build imports no backend, see {@link setupBackend}). Internal: not exported by the index.
 */
let wasmPathSetter: ((paths: string) => void) | undefined;

/** Gives {@link setupBackend} tfjs-backend-wasm's `setWasmPaths` (called by the Node build's setup). */
export function provideWasmPathSetter(setter: (paths: string) => void): void {
  wasmPathSetter = setter;
}

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/**
 * Node built-ins, named by specifiers held in variables: browser bundlers (esbuild, Vite, webpack) leave a
 * dynamic import of a variable alone, where a literal `import('node:path')` makes them try to resolve it
 * (and tsup's es2022 build would strip the `node:` prefix from a literal).
 */
const NODE_MODULE = 'node:module';
const NODE_PATH = 'node:path';

/** The `dist/` folder of the installed tfjs-backend-wasm, as a path ending in `/` (Node only). */
export async function nodeWasmDistPath(): Promise<string> {
  const { createRequire } = (await import(/* @vite-ignore */ NODE_MODULE)) as typeof NodeModule;
  const path = (await import(/* @vite-ignore */ NODE_PATH)) as typeof NodePath;
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('@tensorflow/tfjs-backend-wasm/package.json');
  return path.join(path.dirname(pkg), 'dist') + path.sep;
}

/**
 * Makes `name` the active tfjs backend and waits until it is ready.
 *
 * `@detkit/core`'s Node build registers both backends on import. Its browser build imports neither: there
 * the backend's package (`@tensorflow/tfjs-backend-cpu` or `-wasm`) must be imported first, or use
 * `useBackend` from `@detkit/backends`, which imports them. For `'cpu'` it applies
 * {@link registerCpuKernelFixes}. For `'wasm'` in Node it points tfjs at the wasm binaries (see
 * {@link SetupBackendOptions.wasmPaths}; in a browser bundle call tfjs-backend-wasm's `setWasmPaths` yourself).
 * Throws {@link BackendUnavailableError} when the backend is unknown or fails to initialise; the
 * previously active backend then stays active.
 */
export async function setupBackend(name: CoreBackendName, options: SetupBackendOptions = {}): Promise<void> {
  if (name !== 'cpu' && name !== 'wasm') {
    throw new BackendUnavailableError(String(name), 'unknown backend name', "Use 'cpu' or 'wasm' (or @detkit/backends for GPU backends).");
  }
  if (tf.findBackendFactory(name) === null) {
    // Only in a browser bundle: Node's build of @detkit/core registers both backends on import. The browser
    // build imports no backend itself (not even lazily: a dynamic import makes esbuild wrap tfjs-core in
    // lazy initialisers and stop tree-shaking it), so a bundle carries only the backends its code imports.
    throw new BackendUnavailableError(name, 'it is not registered', `In a browser bundle, import '@tensorflow/tfjs-backend-${name}' before setupBackend('${name}'), or use useBackend from @detkit/backends, which imports it.`);
  }
  if (name === 'cpu') registerCpuKernelFixes();
  if (name === 'wasm' && (!wasmPathsConfigured || options.wasmPaths !== undefined)) {
    const paths = options.wasmPaths ?? (isNode() ? await nodeWasmDistPath() : undefined);
    if (paths !== undefined) {
      if (wasmPathSetter === undefined) {
        throw new BackendUnavailableError(name, 'wasmPaths cannot be set from a browser bundle of @detkit/core', "Call setWasmPaths from '@tensorflow/tfjs-backend-wasm' yourself, then setupBackend('wasm') without wasmPaths.");
      }
      wasmPathSetter(paths);
    }
    wasmPathsConfigured = true;
  }
  const previous = tf.getBackend();
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
  } catch (cause) {
    ok = false;
    if (previous) await tf.setBackend(previous);
    throw new BackendUnavailableError(name, `initialisation failed (${String(cause)})`, 'Check that @tensorflow/tfjs-backend-wasm is installed and its .wasm files are reachable.', { cause });
  }
  if (!ok) {
    if (previous) await tf.setBackend(previous);
    throw new BackendUnavailableError(name, 'initialisation failed', 'Check that @tensorflow/tfjs-backend-wasm is installed and its .wasm files are reachable.');
  }
  await tf.ready();
  if (name === 'cpu') {
    // tfjs-backend-cpu prints a banner recommending tfjs-node on its first write in Node; detkit's own
    // backend selection (@detkit/backends) already says where the fast paths are.
    (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  }
}
