// Bundles the conformance page with esbuild and serves it, with tfjs-backend-wasm's .wasm files beside
// it (where tfjs looks by default: the bundled page needs no wasm path), from a localhost HTTP server.
import { copyFileSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveDirectory, type Served } from '@detkit/test-utils/browser';
import { build } from 'esbuild';

export type { Served };

const HERE = path.dirname(fileURLToPath(import.meta.url));

export async function bundleAndServe(): Promise<Served> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'detkit-browser-'));
  await build({
    entryPoints: [path.join(HERE, 'page.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outfile: path.join(dir, 'page.js'),
    // @detkit/core imports node:module and node:path dynamically, only in Node (behind a runtime check).
    // Its tsup build drops the `node:` prefix, hence the bare names too (reported to the lead).
    external: ['node:*', 'module', 'path'],
    logLevel: 'error',
  });
  const require = createRequire(import.meta.url);
  const wasmDist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  for (const f of readdirSync(wasmDist).filter((f) => f.endsWith('.wasm'))) copyFileSync(path.join(wasmDist, f), path.join(dir, f));
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>detkit conformance</title><script type="module" src="page.js"></script>\n');
  return serveDirectory(dir);
}
