import { detkitTsupConfig } from '@detkit/tsup-config';

// One executable, ESM only (the trainer uses top-level await). The private @detkit/trainer's code (its
// commands, from source) is bundled in; everything else stays an import of a published dependency, so the
// package's `dependencies` must name every bare import of dist/detkit.js (src/manifest.test.ts checks it).
export default detkitTsupConfig({
  entry: ['src/detkit.ts'],
  dts: false,
  format: ['esm'],
  platform: 'node',
  noExternal: ['@detkit/trainer'],
});
