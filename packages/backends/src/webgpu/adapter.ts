/**
 * Choosing and describing a WebGPU adapter: in Node through Dawn (the npm package `webgpu`, an optional
 * peer dependency, imported on demand), in a browser through `navigator.gpu`. Internal to the package.
 */

/** The npm package that gives Node a WebGPU implementation (Google's Dawn). */
export const DAWN_PACKAGE = 'webgpu';

/** What a WebGPU adapter is (see {@link describeAdapter}). */
export interface AdapterDescription {
  /** GPUAdapterInfo.vendor, e.g. 'nvidia', 'amd', 'intel', 'apple', 'google' (SwiftShader). */
  vendor: string;
  /** GPUAdapterInfo.architecture, e.g. 'ampere', 'rdna-2', 'swiftshader'. */
  architecture: string;
  /** GPUAdapterInfo.device (may be empty: browsers hide it). */
  device: string;
  /** GPUAdapterInfo.description, e.g. 'NVIDIA GeForce RTX 4090' or 'SwiftShader driver 5.0.0'. */
  description: string;
  /**
   * True for a CPU implementation of the GPU API (SwiftShader, llvmpipe / lavapipe, WARP, or any adapter
   * that reports `isFallbackAdapter`): correct, but slower than the wasm backend.
   */
  software: boolean;
  /** Where the adapter came from: Dawn in Node, or the browser's `navigator.gpu`. */
  source: 'dawn' | 'browser';
}

/** The parts of a GPUAdapter this package reads. */
export interface AdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
  features: { has(name: string): boolean };
  limits: Record<string, number>;
  requestDevice(descriptor?: object): Promise<unknown>;
}

/** The parts of navigator.gpu (GPU) this package reads. */
export interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'low-power' | 'high-performance'; forceFallbackAdapter?: boolean }): Promise<AdapterLike | null>;
}

/** Names that only CPU implementations of Vulkan / D3D / Metal report. */
const SOFTWARE_NAMES = /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render|\bwarp\b/i;

/**
 * Whether an adapter is a CPU implementation: `isFallbackAdapter` (WebGPU's own flag, on the adapter or
 * its info), or a vendor / architecture / device / description naming SwiftShader, llvmpipe, lavapipe,
 * softpipe or WARP.
 */
export function isSoftwareAdapter(adapter: Pick<AdapterLike, 'info' | 'isFallbackAdapter'>): boolean {
  const info = adapter.info ?? {};
  if (adapter.isFallbackAdapter === true || info.isFallbackAdapter === true) return true;
  return [info.vendor, info.architecture, info.device, info.description].some((s) => typeof s === 'string' && SOFTWARE_NAMES.test(s));
}

/** The adapter's identity as {@link AdapterDescription}. */
export function describeAdapter(adapter: AdapterLike, source: AdapterDescription['source']): AdapterDescription {
  const info = adapter.info ?? {};
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    software: isSoftwareAdapter(adapter),
    source,
  };
}

/** One line naming an adapter, for messages. */
export function adapterLabel(a: AdapterDescription): string {
  const name = [a.vendor, a.architecture, a.description || a.device].filter((s) => s !== '').join(' / ') || 'unnamed adapter';
  return `${name}${a.software ? ' (software)' : ''}`;
}

let dawnGpu: GpuLike | undefined;

/**
 * Node: imports Dawn (`webgpu`) by a specifier held in a variable (bundlers leave it alone), installs its
 * WebGPU globals (GPUBufferUsage, GPUMapMode, ...) that tfjs-backend-webgpu reads, and sets
 * `globalThis.navigator.gpu`. Idempotent. `flags` are Dawn's toggles (`create(flags)`), e.g.
 * `['backend=vulkan']`, used on the first call only. Throws what the import throws.
 */
export async function installDawn(flags: readonly string[] = []): Promise<GpuLike> {
  if (dawnGpu !== undefined) return dawnGpu;
  const specifier = DAWN_PACKAGE;
  const dawn = (await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier)) as {
    create(flags: string[]): GpuLike;
    globals: Record<string, unknown>;
  };
  const g = globalThis as unknown as Record<string, unknown> & { navigator?: Record<string, unknown> };
  for (const [name, value] of Object.entries(dawn.globals)) if (!(name in g)) g[name] = value;
  const gpu = dawn.create([...flags]);
  if (g.navigator === undefined) {
    g.navigator = { gpu, userAgent: `node/${process.versions.node}` };
  } else if (!g.navigator.gpu) {
    // Node 21+ defines a navigator without gpu; its properties are getters on the prototype.
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  }
  dawnGpu = gpu;
  return gpu;
}

/** True when `error` says that module `name` is not installed (not that it failed while loading). */
export function isMissingModule(error: unknown, name: string): boolean {
  const code = String((error as { code?: string })?.code);
  const text = String((error as Error)?.message ?? error);
  const missing = /ERR_MODULE_NOT_FOUND|MODULE_NOT_FOUND/.test(code) || /Cannot find (package|module)|Could not resolve|Failed to resolve/.test(text);
  return missing && text.includes(`'${name}'`) || missing && text.includes(`"${name}"`);
}
