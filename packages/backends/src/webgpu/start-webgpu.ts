/**
 * Starting tfjs-backend-webgpu on an adapter detkit chose: Dawn in Node (npm `webgpu`), `navigator.gpu` in
 * a browser. The stock backend factory takes whatever `requestAdapter()` returns; detkit registers its own
 * factory under the same name 'webgpu' so that `'gpu'` can refuse a software adapter. Internal to the package.
 */
import { BackendUnavailableError, tf } from '@detkit/core';
import { loadWebgpu } from '../load-backend';
import { adapterLabel, DAWN_PACKAGE, describeAdapter, installDawn, isMissingModule, type AdapterDescription, type AdapterLike, type GpuLike } from './adapter';
import { registerWebgpuKernels } from './register-webgpu-kernels';
import { installSyncRead, loadEventLoopPump } from './sync-read';
import { keepSmallHostCopies } from './host-copies';

/** How {@link startWebgpu} may choose. */
export interface StartWebgpuOptions {
  /** Accept a CPU implementation (SwiftShader, llvmpipe) when no hardware adapter exists. */
  allowSoftwareAdapter: boolean;
  /** Dawn toggles for `create(flags)` in Node (first call only). */
  dawnFlags?: readonly string[];
}

/** The adapter of the 'webgpu' backend detkit registered (null before the first start). */
let started: AdapterDescription | null = null;

/** The adapter the 'webgpu' backend runs on, when detkit started it. */
export function webgpuAdapter(): AdapterDescription | null {
  return started;
}

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

const DAWN_HINT = `Install Dawn's Node bindings (npm install ${DAWN_PACKAGE}@0.6.2), or use 'wasm'.`;
/** What a machine without a GPU driver Dawn accepts can do. */
const NO_ADAPTER_HINT_NODE =
  "Dawn found no Vulkan / Metal / D3D12 driver it accepts: install the GPU's driver (NVIDIA, AMD, Intel: their Vulkan ICD), or, for a software adapter, " +
  "point the Vulkan loader at SwiftShader (VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json from Debian's chromium package, with XDG_RUNTIME_DIR set) and ask for 'webgpu' or { allowSoftwareAdapter: true }; or use 'wasm'.";
const NO_ADAPTER_HINT_BROWSER = "Use a browser with WebGPU enabled (Chrome 113+), or use 'webgl' or 'wasm'.";

async function navigatorGpu(requested: string, flags: readonly string[]): Promise<{ gpu: GpuLike; source: AdapterDescription['source'] }> {
  const existing = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
  if (!isNode()) {
    if (!existing) throw new BackendUnavailableError(requested, 'WebGPU is not available here (no navigator.gpu)', NO_ADAPTER_HINT_BROWSER);
    return { gpu: existing, source: 'browser' };
  }
  try {
    return { gpu: await installDawn(flags), source: 'dawn' };
  } catch (cause) {
    const reason = isMissingModule(cause, DAWN_PACKAGE)
      ? `${DAWN_PACKAGE} (Dawn for Node) is not installed`
      : `${DAWN_PACKAGE} (Dawn for Node) failed to load (${String((cause as Error)?.message ?? cause).split('\n')[0]})`;
    throw new BackendUnavailableError(requested, reason, DAWN_HINT, { cause });
  }
}

/**
 * Asks for a high-performance adapter; when that is a software one and software is not allowed, for a
 * low-power one too (a laptop's integrated GPU). Returns a hardware adapter, else (when allowed) the
 * software one, and what was seen. The adapter returned is always the last one requested: Chromium
 * loses the device of an adapter requested before another ("A valid external Instance reference no
 * longer exists").
 */
async function pickAdapter(gpu: GpuLike, source: AdapterDescription['source'], allowSoftware: boolean): Promise<{ adapter?: AdapterLike; seen: AdapterDescription[] }> {
  const seen: AdapterDescription[] = [];
  for (const powerPreference of ['high-performance', 'low-power'] as const) {
    const adapter = await gpu.requestAdapter({ powerPreference });
    if (adapter === null) continue;
    const d = describeAdapter(adapter, source);
    if (!seen.some((s) => adapterLabel(s) === adapterLabel(d))) seen.push(d);
    if (!d.software || allowSoftware) return { adapter, seen };
  }
  return { seen };
}

/** The device tfjs-backend-webgpu's own factory asks for (its 4.22 `base.ts`), on `adapter`. */
async function requestDevice(adapter: AdapterLike): Promise<unknown> {
  const requiredFeatures = ['timestamp-query', 'bgra8unorm-storage'].filter((f) => adapter.features.has(f));
  const l = adapter.limits;
  return adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    },
  });
}

/**
 * Makes sure tfjs's 'webgpu' backend runs on an adapter `options` accept, registers detkit's webgpu
 * kernels, and leaves the backend registered but not active (the caller activates it). Throws
 * {@link BackendUnavailableError} saying why not: Dawn missing or failing to load, no adapter, only a
 * software adapter where one is not allowed, tfjs-backend-webgpu failing to load.
 */
export async function startWebgpu(requested: string, options: StartWebgpuOptions): Promise<AdapterDescription> {
  const refuseSoftware = (d: AdapterDescription): never => {
    throw new BackendUnavailableError(
      requested,
      `the only WebGPU adapter here is a software one (${adapterLabel(d)}), which '${requested}' does not pick`,
      "Pass { allowSoftwareAdapter: true } or ask for 'webgpu' explicitly to use it anyway (slower than 'wasm'), or use 'wasm'.",
    );
  };
  const registry = (tf.engine() as unknown as { registry: Record<string, unknown> }).registry;
  if (started !== null && registry.webgpu !== undefined) {
    // Already running: one device per process (tensors live on it); its adapter decides.
    if (started.software && !options.allowSoftwareAdapter) refuseSoftware(started);
    return started;
  }
  const { gpu, source } = await navigatorGpu(requested, options.dawnFlags ?? []);
  const { adapter, seen } = await pickAdapter(gpu, source, options.allowSoftwareAdapter);
  if (adapter === undefined) {
    if (seen.length > 0) refuseSoftware(seen[0]!);
    throw new BackendUnavailableError(requested, 'no WebGPU adapter could be obtained here (requestAdapter() returned null)', source === 'dawn' ? NO_ADAPTER_HINT_NODE : NO_ADAPTER_HINT_BROWSER);
  }
  let WebGPUBackend: new (device: unknown, info: unknown) => tf.KernelBackend;
  try {
    WebGPUBackend = (await loadWebgpu()).WebGPUBackend as typeof WebGPUBackend;
  } catch (cause) {
    throw new BackendUnavailableError(requested, `@tensorflow/tfjs-backend-webgpu failed to load (${String(cause)})`, "Reinstall @detkit/backends' dependency @tensorflow/tfjs-backend-webgpu, or use 'wasm'.", { cause });
  }
  const description = describeAdapter(adapter, source);
  if (tf.findBackendFactory('webgpu') !== null) tf.removeBackend('webgpu');
  if (source === 'dawn') await loadEventLoopPump();
  tf.registerBackend(
    'webgpu',
    async () => {
      const backend = new WebGPUBackend(await requestDevice(adapter), adapter.info);
      keepSmallHostCopies(backend);
      if (source === 'dawn') installSyncRead(backend);
      return backend;
    },
    3,
  );
  // detkit's WGSL kernels are tested on Dawn (Node). In Chromium they lose the device for later work (the browser
  // conformance page leaves the matchers and RoIAlign out for that reason): there the ops keep their download path.
  if (source === 'dawn') registerWebgpuKernels();
  started = description;
  return description;
}
