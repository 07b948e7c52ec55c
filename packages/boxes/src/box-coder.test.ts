// encodeBoxes on cpu and wasm is one fused kernel with a closed-form gradient; the op chain (encodeOps, the
// GPU backends' path) is the reference for both: the same float32 operations in the same order, and
// tfjs's autodiff of the chain. (torchvision's numbers are checked in fixtures.test.ts.)
import { tf } from '@detkit/core';
import { describeEachBackend, expectClose } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import { encodeOps } from './box-coder';
import { ENCODE_BOXES_KERNEL, ROI_BOX_CODER_WEIGHTS, RPN_BOX_CODER_WEIGHTS, encodeBoxes, type BoxCoderWeights } from './index';

/** n xyxy boxes with sides in [1, 60), corners in [-50, 400), from a fixed sequence (float32 values). */
function someBoxes(n: number, seed: number): tf.Tensor2D {
  const r = (i: number) => (Math.sin(seed * 12.9898 + i * 78.233) * 43758.5453) % 1;
  const rows = Array.from({ length: n }, (_, i) => {
    const x = -50 + 450 * Math.abs(r(4 * i)), y = -50 + 450 * Math.abs(r(4 * i + 1));
    return [x, y, x + 1 + 59 * Math.abs(r(4 * i + 2)), y + 1 + 59 * Math.abs(r(4 * i + 3))];
  });
  return tf.tensor2d(rows, [n, 4]);
}

describeEachBackend('encodeBoxes', () => {
  it.each([
    ['RPN weights', RPN_BOX_CODER_WEIGHTS],
    ['RoI / SSD weights', ROI_BOX_CODER_WEIGHTS],
    ['uneven weights', [0.3, 7, 1.5, 2.25]],
  ] as const)('the fused kernel gives the op chain\'s deltas (%s)', (_name, weights) => {
    const t = someBoxes(257, 1);
    const a = someBoxes(257, 2);
    const fused = encodeBoxes(t, a, { weights: weights as BoxCoderWeights });
    const ops = encodeOps(t, a, weights as BoxCoderWeights);
    // The same float32 operations: equal but for the log's last bit (a backend's float32 log against
    // Math.log rounded), which moves dw, dh by at most one ulp of the log times the weight.
    expectClose(fused, ops.arraySync(), { atol: 1e-6, rtol: 2e-7, what: 'deltas' });
    const [f, o] = [fused.dataSync(), ops.dataSync()];
    for (let i = 0; i < f.length; i += 4) {
      expect(f[i]).toBe(o[i]);
      expect(f[i + 1]).toBe(o[i + 1]);
    }
    tf.dispose([t, a, fused, ops]);
  });

  it('its gradients are the op chain\'s, with respect to targets and anchors', () => {
    const t = someBoxes(33, 3);
    const a = someBoxes(33, 4);
    const dy = tf.randomUniform([33, 4], -1, 1, 'float32', 5);
    const weights: BoxCoderWeights = [10, 10, 5, 5];
    const before = tf.memory().numTensors;
    const fused = tf.grads((x: tf.Tensor, y: tf.Tensor) => encodeBoxes(x, y, { weights }))([t, a], dy);
    const ops = tf.grads((x: tf.Tensor, y: tf.Tensor) => encodeOps(x, y, weights))([t, a], dy);
    expect(tf.memory().numTensors).toBe(before + 4);
    expectClose(fused[0]!, ops[0]!.arraySync(), { atol: 1e-5, rtol: 1e-5, what: 'd targets' });
    expectClose(fused[1]!, ops[1]!.arraySync(), { atol: 1e-5, rtol: 1e-5, what: 'd anchors' });
    tf.dispose([t, a, dy, ...fused, ...ops]);
  });

  it('runs as one kernel, recorded once on the tape', async () => {
    const t = someBoxes(8, 6);
    const a = someBoxes(8, 7);
    const profile = await tf.profile(() => tf.grad((x: tf.Tensor) => tf.sum(encodeBoxes(x, a)))(t));
    const names = profile.kernels.map((k) => k.name);
    expect(names.filter((n) => n === ENCODE_BOXES_KERNEL)).toHaveLength(1);
    // The chain's kernels (Log, RealDiv) are not in the forward pass.
    expect(names.slice(0, names.indexOf(ENCODE_BOXES_KERNEL) + 1)).not.toContain('Log');
    tf.dispose([t, a]);
  });
}, ['cpu', 'wasm']);
