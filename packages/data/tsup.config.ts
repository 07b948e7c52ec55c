import { detkitTsupConfig } from '@detkit/tsup-config';

// Two entries: the main one runs in Node and browsers; './node' adds file-system readers and writers.
export default detkitTsupConfig({ entry: { index: 'src/index.ts', node: 'src/node/index.ts' } });
