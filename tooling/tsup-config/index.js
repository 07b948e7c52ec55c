// The tsup build every detkit package shares. A package's tsup.config.ts is
//   export default detkitTsupConfig();
// with overrides only where it differs (e.g. @detkit/core builds a browser and a Node variant).
//
// Output: ESM (`dist/*.js`, `*.d.ts`) for `import` and bundlers, and CommonJS (`dist/*.cjs`, `*.d.cts`) for
// `require()` in Node (package.json `exports` maps the two), so packages install anywhere.
import { readFile } from 'node:fs/promises';
import { defineConfig } from 'tsup';

/**
 * Rewrites `import { tf, ... } from '@detkit/core'` in a package's source into
 * `import '@detkit/core'; import * as tf from '@tensorflow/tfjs-core'` plus the remaining names, in the
 * built JS only (types and sources are unchanged). `@detkit/core`'s `tf` is that very module (one engine),
 * but bundlers (esbuild, at least) cannot tree-shake a namespace re-exported from another package: every
 * bundle would carry all of tfjs-core's ops. A namespace imported from tfjs-core itself is shaken.
 * `@detkit/core` is still imported first, for its setup side effects.
 */
export const treeShakableTf = {
  name: 'detkit-tree-shakable-tf',
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      let changed = false;
      const contents = source.replace(/import\s*\{([^}]*)\}\s*from\s*(['"])@detkit\/core\2;?/g, (whole, names) => {
        const list = names.split(',').map((s) => s.trim()).filter(Boolean);
        if (!list.includes('tf')) return whole;
        changed = true;
        const rest = list.filter((n) => n !== 'tf');
        return [
          rest.length > 0 ? `import { ${rest.join(', ')} } from '@detkit/core';` : `import '@detkit/core';`,
          `import * as tf from '@tensorflow/tfjs-core';`,
        ].join(' ');
      });
      return changed ? { contents, loader: 'ts' } : undefined;
    });
  },
};

/** @param {import('tsup').Options} [overrides] */
export function detkitTsupConfig(overrides = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    ...overrides,
    esbuildPlugins: [treeShakableTf, ...(overrides.esbuildPlugins ?? [])],
  });
}
