// Builds the playground with Vite into a temporary folder and serves it from a localhost HTTP server, as
// any static host would (`pnpm --filter playground build` writes the same files to dist/).
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveDirectory, type Served } from '@detkit/test-utils/browser';
import { build } from 'vite';

export type { Served };

export const APP_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function buildAndServe(): Promise<Served> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'detkit-playground-'));
  await build({ root: APP_ROOT, configFile: path.join(APP_ROOT, 'vite.config.ts'), logLevel: 'error', build: { outDir: dir, emptyOutDir: true } });
  return serveDirectory(dir);
}
