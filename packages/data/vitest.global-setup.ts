// Builds the worker pool's worker script for the tests: worker threads load plain JavaScript, and the
// tests run from src/ (the package's own dist/ may be older or absent). tsup bundles src/node/worker.ts
// into node_modules/.cache (inside the package, so its imports resolve to the package's dependencies).
import path from 'node:path';
import { build } from 'tsup';
import type { TestProject } from 'vitest/node';

// The provided value's type is declared in src/test-context.d.ts.
export default async function setup(project: TestProject): Promise<void> {
  const outDir = path.join(import.meta.dirname, 'node_modules', '.cache', 'detkit-data-worker');
  await build({ entry: { worker: path.join(import.meta.dirname, 'src/node/worker.ts') }, outDir, format: ['esm'], target: 'es2022', dts: false, sourcemap: false, clean: true, silent: true, config: false });
  project.provide('dataWorkerFile', path.join(outDir, 'worker.js'));
}
