import { detkitTsupConfig } from '@detkit/tsup-config';

// Three entries: the main one runs in Node and browsers; './node' adds file-system readers and writers
// and the worker pool; 'worker' is the pool's worker-thread script (loaded by path, beside node.js).
export default detkitTsupConfig({ entry: { index: 'src/index.ts', node: 'src/node/index.ts', worker: 'src/node/worker.ts' } });
