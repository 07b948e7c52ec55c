import type { Options } from 'tsup';

/** esbuild plugin: `import { tf } from '@detkit/core'` becomes a direct, tree-shakable tfjs-core import in built JS. */
export declare const treeShakableTf: NonNullable<Options['esbuildPlugins']>[number];

/** detkit's shared tsup options (ESM + CommonJS, d.ts / d.cts, source maps, ES2022, entry src/index.ts), with overrides. */
export declare function detkitTsupConfig(overrides?: Options): Options;
