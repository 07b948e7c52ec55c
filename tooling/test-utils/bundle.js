// Bundles TypeScript sources into ES modules that plain Node runs (child processes, worker threads and the
// soak script run the source as it is, without a package build).
import { build } from 'esbuild';

/**
 * Bundles `entryPoints` into `outdir` (one `<name>.js` per entry, shared code in chunks), for Node 20.
 * Bare imports stay imports (resolved from the bundle's folder at run time) unless `external` names the
 * ones to keep, in which case everything else is bundled in.
 * @param {string[]} entryPoints
 * @param {string} outdir
 * @param {{ external?: string[] }} [options]
 * @returns {Promise<void>}
 */
export async function bundleForNode(entryPoints, outdir, options = {}) {
  await build({
    entryPoints,
    outdir,
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    ...(options.external ? { external: options.external } : { packages: 'external' }),
    logLevel: 'error',
  });
}
