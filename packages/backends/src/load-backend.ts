/**
 * Loading the optional backends: tfjs-backend-webgl and tfjs-backend-webgpu (dependencies, imported on
 * first use so that bundles split them off), and tfjs-node-gpu (an optional peer dependency, imported by
 * a specifier bundlers cannot see, so browser bundles never try to resolve it). Internal to the package.
 */

/** Versions of the backend packages loaded so far, by tfjs backend name. */
export const loadedVersions = new Map<string, string>();

/** The npm package that provides the 'gpu' backend in Node. */
export const NODE_GPU_PACKAGE = '@tensorflow/tfjs-node-gpu';

/** Imports tfjs-backend-webgl, which registers the 'webgl' backend. */
export async function loadWebgl(): Promise<void> {
  const mod = (await import('@tensorflow/tfjs-backend-webgl')) as { version_webgl?: string };
  if (mod.version_webgl) loadedVersions.set('webgl', mod.version_webgl);
}

/**
 * Imports tfjs-backend-webgpu (which registers the stock 'webgpu' factory when `navigator.gpu` exists)
 * and returns the module, whose `WebGPUBackend` class detkit's own factory constructs.
 */
export async function loadWebgpu(): Promise<{ WebGPUBackend: unknown }> {
  // tfjs-backend-webgpu exports no version constant (it is released in lockstep with tfjs-core).
  return (await import('@tensorflow/tfjs-backend-webgpu')) as unknown as { WebGPUBackend: unknown };
}

/** Imports tfjs-node-gpu by a specifier held in a variable (opaque to bundlers). */
export async function importNodeGpu(): Promise<unknown> {
  const specifier = NODE_GPU_PACKAGE;
  return import(/* @vite-ignore */ /* webpackIgnore: true */ specifier);
}
