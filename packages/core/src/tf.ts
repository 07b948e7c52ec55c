/**
 * The one place detkit sets TensorFlow.js up. What importing `@detkit/core` registers depends on the build
 * the package manager or bundler picks (package.json `exports`):
 *
 * - **Node** (the `node` condition, `dist/node/`, see `node-setup.ts`): tfjs-core's gradients, its chained
 *   tensor methods (`x.square()`) and the cpu and wasm backends, with detkit's fixes of tfjs 4.22
 *   (`registerGradientFixes`, `registerCpuKernelFixes`). In native Node, `@tensorflow/tfjs-core` resolves to
 *   its CommonJS bundle, which ships neither gradients nor chained ops, and its ESM `dist/register_all_*`
 *   modules cannot be imported by Node (extension-less relative imports), so the Node build inlines those
 *   modules; they register into tfjs's global registry, shared by every copy of tfjs-core.
 * - **Browsers and bundlers** (`dist/browser/`): nothing on import. Bundlers resolve tfjs-core to its ESM
 *   build, so no second copy of its ops is shipped. A backend is imported when it is chosen (`setupBackend`,
 *   which also applies the cpu fixes, or the user's own `import '@tensorflow/tfjs-backend-wasm'`), and
 *   gradients with their fixes when a package that trains is imported (`@detkit/core/gradients`, which
 *   `@detkit/losses`, `@detkit/models` and `@detkit/backends` import).
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * The TensorFlow.js core namespace (`@tensorflow/tfjs-core`): the same module as your own import of
 * tfjs-core, sharing one engine. In Node, tfjs-core's gradients, chained ops and the cpu and wasm backends
 * are registered; in browser bundles, see `@detkit/core/gradients` and `setupBackend`. In a browser bundle,
 * prefer importing ops from `@tensorflow/tfjs-core` directly: bundlers tree-shake named imports, not a
 * namespace re-exported from another package.
 */
export { tf };
