import { detkitTsupConfig } from '@detkit/tsup-config';

// tfjs-core's ESM gradient and chained-op registrations are inlined: Node cannot import them from
// tfjs-core's dist (see src/tf.ts). Everything else, tfjs-core itself included, stays external.
export default detkitTsupConfig({ noExternal: [/^@tensorflow\/tfjs-core\/dist\//] });
