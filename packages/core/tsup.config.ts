import { detkitTsupConfig } from '@detkit/tsup-config';

// Two builds of the same source (package.json `exports` picks one):
// - dist/browser: ESM for bundlers and browsers. tfjs-core stays external, its ESM gradient module
//   included (the `./gradients` entry imports it by its full file name), so a bundle holds one copy of
//   tfjs-core's ops and only the backends its code chooses.
// - dist/node: ESM and CommonJS for Node. tfjs-core's ESM gradient and chained-op registrations are
//   inlined (Node loads tfjs-core's CommonJS main, which has neither, and cannot import its ESM dist);
//   everything else, tfjs-core itself included, stays external.
export default [
  detkitTsupConfig({
    entry: { index: 'src/index.ts', gradients: 'src/gradients.ts' },
    format: ['esm'],
    outDir: 'dist/browser',
    dts: false,
  }),
  detkitTsupConfig({
    entry: { index: 'src/node.ts', gradients: 'src/gradients.ts' },
    outDir: 'dist/node',
    noExternal: [/^@tensorflow\/tfjs-core\/dist\//],
    shims: true,
  }),
];
