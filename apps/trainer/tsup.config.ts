import { detkitTsupConfig } from '@detkit/tsup-config';

// Two executables (detkit-train, detkit-detect), ESM only (they use top-level await); the shared code lands in chunks.
export default detkitTsupConfig({ entry: ['src/train.ts', 'src/detect.ts'], dts: false, format: ['esm'] });
