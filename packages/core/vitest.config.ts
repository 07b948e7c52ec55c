import { detkitVitestConfig } from '@detkit/vitest-config';

// The tests import the sources (the browser entry, src/index.ts) and run in Node: register what the Node
// build registers on import (tfjs-core's gradients and chained ops, the cpu and wasm backends) first.
export default detkitVitestConfig({ test: { setupFiles: ['src/node-setup.ts'] } });
