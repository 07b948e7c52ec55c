// Bundles the conformance page with esbuild and serves it, with tfjs-backend-wasm's .wasm files beside
// it (where tfjs looks by default: the bundled page needs no wasm path), from a localhost HTTP server.
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };

export interface Served {
  url: string;
  dir: string;
  close(): Promise<void>;
}

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
  const server = http.createServer((req, res) => {
    const name = path.basename(new URL(req.url ?? '/', 'http://localhost').pathname) || 'index.html';
    try {
      const body = readFileSync(path.join(dir, name));
      res.writeHead(200, { 'content-type': TYPES[path.extname(name)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/index.html`,
    dir,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
