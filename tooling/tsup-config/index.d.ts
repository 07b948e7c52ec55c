import type { Options } from 'tsup';

/** detkit's shared tsup options (ESM, d.ts, source maps, ES2022, entry src/index.ts), with overrides. */
export declare function detkitTsupConfig(overrides?: Options): Options;
