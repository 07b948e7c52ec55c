// The Node entry of @detkit/core (package.json `exports`, condition `node`): the browser entry plus what
// Node needs registered on import (tfjs-core's gradients and chained ops, the cpu and wasm backends, and
// detkit's fixes of them; see ./node-setup). ESM evaluates `./node-setup` first.
import './node-setup';

export * from './index';
