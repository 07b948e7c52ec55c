// Vite builds the playground into dist/ as static files (relative paths: host the folder anywhere).
// tfjs-backend-wasm fetches its .wasm binaries at run time from a folder URL: this plugin serves them at
// tfjs-wasm/ in dev and copies them there in builds.
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { defineConfig, type Plugin } from 'vite';

const require = createRequire(import.meta.url);
const WASM_DIST = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
const WASM_FILES = readdirSync(WASM_DIST).filter((f) => f.endsWith('.wasm'));

function tfjsWasmFiles(): Plugin {
  let outDir = 'dist';
  return {
    name: 'detkit-tfjs-wasm-files',
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir);
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const name = req.url?.match(/\/tfjs-wasm\/([\w.-]+\.wasm)/)?.[1];
        if (!name || !WASM_FILES.includes(name)) return next();
        res.setHeader('content-type', 'application/wasm');
        res.end(readFileSync(path.join(WASM_DIST, name)));
      });
    },
    writeBundle() {
      mkdirSync(path.join(outDir, 'tfjs-wasm'), { recursive: true });
      for (const f of WASM_FILES) copyFileSync(path.join(WASM_DIST, f), path.join(outDir, 'tfjs-wasm', f));
    },
  };
}

export default defineConfig({
  base: './',
  plugins: [tfjsWasmFiles()],
  // One tfjs engine for the page and every backend package.
  resolve: { dedupe: ['@tensorflow/tfjs-core'] },
  worker: { format: 'es' },
  build: { target: 'es2022', chunkSizeWarningLimit: 4000, reportCompressedSize: false },
  preview: { port: 4173 },
  server: { port: 5173 },
});
