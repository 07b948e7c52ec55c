#!/usr/bin/env node
// Browser bundle size of detkit against tfjs alone: esbuild (minified ESM, platform browser) + gzip.
// The bar (issue 14): a bundle of @detkit/boxes + tfjs-backend-wasm is at most 1.2x the gzipped size of
// tfjs-core + tfjs-backend-wasm alone. Run from anywhere: `node tooling/consumer/src/bundle-size.mjs [dir]`
// resolves the packages from `dir` (default: tooling/consumer, whose devDependencies link the workspace's
// built packages); the consumer suite runs it on the packed tarballs installed with npm.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/** The bundles measured: tfjs alone (the baseline), all of @detkit/boxes, and an app using boxIou and nms. */
export const BUNDLES = {
  'tfjs-core + wasm (baseline)': "import '@tensorflow/tfjs-core'; import '@tensorflow/tfjs-backend-wasm';",
  '@detkit/boxes (all) + wasm': "export * from '@detkit/boxes'; import '@tensorflow/tfjs-backend-wasm';",
  '@detkit/boxes { boxIou, nms } + wasm': "export { boxIou, nms } from '@detkit/boxes'; import '@tensorflow/tfjs-backend-wasm';",
};

/** The largest allowed ratio of a detkit bundle to the baseline, gzipped. */
export const MAX_RATIO = 1.2;

/**
 * Bundles each entry of {@link BUNDLES} resolving packages from `dir`; returns per bundle its minified and
 * gzipped bytes and the input files esbuild put in it (relative paths under node_modules).
 */
export async function measureBundles(dir) {
  const results = {};
  for (const [name, contents] of Object.entries(BUNDLES)) {
    const r = await build({
      stdin: { contents, resolveDir: dir, loader: 'js' },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      write: false,
      metafile: true,
      logLevel: 'error',
    });
    const code = r.outputFiles[0].contents;
    const inputs = Object.keys(Object.values(r.metafile.outputs)[0].inputs);
    results[name] = { minified: code.length, gzipped: gzipSync(code, { level: 9 }).length, inputs };
  }
  return results;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
  const results = await measureBundles(dir);
  const base = results['tfjs-core + wasm (baseline)'].gzipped;
  for (const [name, r] of Object.entries(results)) {
    console.log(`${name.padEnd(40)} ${(r.minified / 1024).toFixed(1).padStart(7)} KB min ${(r.gzipped / 1024).toFixed(1).padStart(6)} KB gz  ${(r.gzipped / base).toFixed(3)}x`);
  }
  console.log(`bar: at most ${MAX_RATIO}x the baseline (${((MAX_RATIO * base) / 1024).toFixed(1)} KB gz)`);
}
