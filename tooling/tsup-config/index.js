// The tsup build every detkit package shares. A package's tsup.config.ts is
//   export default detkitTsupConfig();
// with overrides only where it differs (e.g. @detkit/core inlines tfjs-core's gradient modules).
import { defineConfig } from 'tsup';

/** @param {import('tsup').Options} [overrides] */
export function detkitTsupConfig(overrides = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    ...overrides,
  });
}
