import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // tfjs-core's ESM gradient registrations are inlined: Node cannot import them from tfjs-core's dist
  // (see src/tf.ts). Everything else, tfjs-core itself included, stays external.
  noExternal: [/^@tensorflow\/tfjs-core\/dist\//],
});
