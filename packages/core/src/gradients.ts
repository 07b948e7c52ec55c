/**
 * `@detkit/core/gradients`: registers tfjs-core's gradients (`register_all_gradients`, as the
 * `@tensorflow/tfjs` union package does) and then detkit's fixes of them (`registerGradientFixes`). Import it
 * for its side effect before `tf.grad`, `tf.variableGrads` or an optimizer in a browser bundle:
 *
 * ```ts
 * import '@detkit/core/gradients';
 * ```
 *
 * `@detkit/losses`, `@detkit/models` and `@detkit/backends` import it themselves. In Node, `@detkit/core`
 * already registers gradients on import and this module only repeats it (idempotent). Browser bundles that
 * only run inference (boxes, NMS, anchors, a trained detector) leave it out and stay about 10 KB (gzipped)
 * smaller.
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { registerGradientFixes } from './gradient-fixes';

// tfjs's stock Maximum / Minimum / SquaredDifference gradients just replaced detkit's fixed ones (if
// `@detkit/core` was evaluated first): put the fixes back.
registerGradientFixes();
