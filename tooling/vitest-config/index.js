// Shared vitest configuration for every detkit package.
//
// - tfjs-core's `module` entry is extension-less ESM that Node cannot load natively; vitest pre-bundles it
//   (deps.optimizer.ssr) so tests run on the same ESM build, with gradients, that @detkit/core bundles.
// - Each run writes test-results.json; tooling/test-summary adds them up into CI's "N passed, N failed".
import { defineConfig, mergeConfig } from 'vitest/config';

/** @param {import('vitest/config').UserConfig} [overrides] */
export function detkitVitestConfig(overrides = {}) {
  const base = defineConfig({
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      environment: 'node',
      testTimeout: 60_000,
      hookTimeout: 60_000,
      pool: 'forks',
      reporters: ['default', ['json', { outputFile: 'test-results.json' }]],
      deps: {
        optimizer: {
          ssr: { enabled: true, include: ['@tensorflow/tfjs-core'] },
        },
      },
    },
  });
  return mergeConfig(base, overrides);
}
