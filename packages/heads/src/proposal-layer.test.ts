// proposalLayer beyond the torchvision fixtures: its invariants on random inputs, the presets, per-image
// anchors, and the empty cases (no anchors, nothing big enough, nothing asked for).
import { boxIou } from '@detkit/boxes';
import { runTypedArrayKernel, tf, type TypedArrayKernel } from '@detkit/core';
import { describeEachBackend } from '@detkit/test-utils';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { PROPOSAL_PRESETS, proposalLayer } from './index';
import { gridAnchors, seededValues } from './test-helpers';

const A = 10 * 10 * 3;
/** The anchors, made on the backend under test (there is none yet when the file loads). */
const anchors = () => gridAnchors(10, 10, 16, [48], [0.5, 1, 2]);

function inputs(seed: number, n = 2) {
  return {
    objectness: tf.tensor(seededValues(n * A, seed).map((v) => 3 * v), [n, A]),
    deltas: tf.tensor(seededValues(n * A * 4, seed + 1).map((v) => 0.6 * v), [n, A, 4]),
    anchors: tf.tensor2d(anchors(), [A, 4]),
  };
}

/** A copy kernel that registers no gradient: tf.grad throws if the tape reaches it. */
const copyKernel: TypedArrayKernel = {
  kernelName: 'DetkitTestNoGradientCopy',
  inputNames: ['x'],
  compute([x], _attrs, ctx) {
    const out = ctx.output(x!.shape, 'float32');
    out.values.set(x!.values);
    return [out];
  },
};
const noGradient = (t: tf.Tensor) => runTypedArrayKernel(copyKernel, [t], {})[0]!;

describeEachBackend('proposalLayer', () => {
  it('presets: the walk-through (12,000 -> 2,000 and 6,000 -> 300, NMS 0.7, min side 16) and torchvision', () => {
    expect(PROPOSAL_PRESETS.train).toMatchObject({ preNmsTopN: 12000, postNmsTopN: 2000, nmsThreshold: 0.7, minSize: 16, order: 'filter-first' });
    expect(PROPOSAL_PRESETS.test).toMatchObject({ preNmsTopN: 6000, postNmsTopN: 300, nmsThreshold: 0.7, minSize: 16, order: 'filter-first' });
    expect(PROPOSAL_PRESETS.torchvisionTrain).toMatchObject({ preNmsTopN: 2000, postNmsTopN: 2000, minSize: 1e-3, order: 'topk-first' });
    expect(PROPOSAL_PRESETS.torchvisionTest).toMatchObject({ preNmsTopN: 1000, postNmsTopN: 1000, minSize: 1e-3, order: 'topk-first' });
  });

  it('invariants: clipped, big enough, sorted by score, at most postNmsTopN, no same-level pair above the NMS threshold', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.constantFrom<'topk-first' | 'filter-first'>('topk-first', 'filter-first'),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 0, max: 120 }),
        fc.double({ min: 0, max: 24, noNaN: true }),
        fc.double({ min: 0.1, max: 0.9, noNaN: true }),
        (seed, order, preNmsTopN, postNmsTopN, minSize, nmsThreshold) => {
          tf.tidy(() => {
            const sizes: [number, number][] = [[150, 160], [120, 90]];
            const { boxes, scores } = proposalLayer({ ...inputs(seed), imageSizes: sizes }, { preNmsTopN, postNmsTopN, minSize, nmsThreshold, order });
            expect(boxes).toHaveLength(2);
            boxes.forEach((b, i) => {
              const [h, w] = sizes[i]!;
              const n = b.shape[0];
              expect(n).toBeLessThanOrEqual(Math.min(postNmsTopN, preNmsTopN));
              const v = b.arraySync();
              for (const [x1, y1, x2, y2] of v) {
                expect(x1).toBeGreaterThanOrEqual(0);
                expect(y1).toBeGreaterThanOrEqual(0);
                expect(x2).toBeLessThanOrEqual(w);
                expect(y2).toBeLessThanOrEqual(h);
                expect(Math.fround(x2! - x1!)).toBeGreaterThanOrEqual(Math.fround(minSize));
                expect(Math.fround(y2! - y1!)).toBeGreaterThanOrEqual(Math.fround(minSize));
              }
              const s = Array.from(scores[i]!.dataSync());
              for (let k = 1; k < s.length; k++) expect(s[k]).toBeLessThanOrEqual(s[k - 1]!);
              if (n > 1) {
                const iou = boxIou(b, b).arraySync();
                for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) expect(iou[p]![q]).toBeLessThanOrEqual(nmsThreshold);
              }
            });
          });
        },
      ),
      { numRuns: 12 },
    );
  });

  it('per-image anchors [N, A, 4] equal shared anchors when they are the same', () => {
    tf.tidy(() => {
      const x = inputs(7);
      const shared = proposalLayer({ ...x, imageSizes: [160, 160] }, PROPOSAL_PRESETS.test);
      const perImage = proposalLayer({ ...x, anchors: tf.stack([x.anchors, x.anchors]), imageSizes: [160, 160] }, PROPOSAL_PRESETS.test);
      shared.boxes.forEach((b, i) => expect(perImage.boxes[i]!.arraySync()).toEqual(b.arraySync()));
    });
  });

  it('weights: deltas encoded with weights (2, 2, 2, 2) decode to the boxes of half those deltas with the default (1, 1, 1, 1)', () => {
    tf.tidy(() => {
      const x = inputs(5);
      const plain = proposalLayer({ ...x, imageSizes: [160, 160] }, PROPOSAL_PRESETS.torchvisionTest);
      // decode divides by the weights: (2d) / 2 == d exactly in float32.
      const doubled = proposalLayer({ ...x, deltas: tf.mul(x.deltas, 2), imageSizes: [160, 160] }, { ...PROPOSAL_PRESETS.torchvisionTest, weights: [2, 2, 2, 2] });
      plain.boxes.forEach((b, i) => expect(doubled.boxes[i]!.arraySync()).toEqual(b.arraySync()));
      expect(() => proposalLayer({ ...x, imageSizes: [160, 160] }, { ...PROPOSAL_PRESETS.test, weights: [1, 1, 0, 1] })).toThrow(/'weights' must be four finite numbers > 0/);
    });
  });

  it('empty cases: no anchors, nothing big enough, postNmsTopN 0, no images', () => {
    tf.tidy(() => {
      const none = proposalLayer({ objectness: tf.zeros([2, 0]), deltas: tf.zeros([2, 0, 4]), anchors: tf.zeros([0, 4]), imageSizes: [10, 10] });
      expect(none.boxes.map((b) => b.shape)).toEqual([[0, 4], [0, 4]]);
      expect(none.scores.map((s) => s.shape)).toEqual([[0], [0]]);
      const small = proposalLayer({ ...inputs(3), imageSizes: [160, 160] }, { preNmsTopN: 100, postNmsTopN: 50, minSize: 500 });
      expect(small.boxes.map((b) => b.shape)).toEqual([[0, 4], [0, 4]]);
      const zero = proposalLayer({ ...inputs(3), imageSizes: [160, 160] }, { preNmsTopN: 100, postNmsTopN: 0 });
      expect(zero.boxes.map((b) => b.shape)).toEqual([[0, 4], [0, 4]]);
      const noImages = proposalLayer({ objectness: tf.zeros([0, A]), deltas: tf.zeros([0, A, 4]), anchors: tf.tensor2d(anchors(), [A, 4]), imageSizes: [] as unknown as [number, number][] });
      expect(noImages.boxes).toEqual([]);
    });
  });

  it('proposals are constants: off the gradient tape, so ops without a gradient may follow them', () => {
    tf.tidy(() => {
      const x = inputs(5, 1);
      const proposals = (d: tf.Tensor, o: tf.Tensor) => proposalLayer({ ...x, deltas: d, objectness: o, imageSizes: [160, 160] }, PROPOSAL_PRESETS.test);
      // sum(deltas) + noGradient(proposals): the gradient is sum's alone, and the kernel, which has no
      // gradient (like @detkit/samplers' target kernels), is not taken into the backward pass.
      const [gd] = tf.grads((d: tf.Tensor) => tf.add(tf.sum(d), tf.sum(noGradient(proposals(d, x.objectness).boxes[0]!))))([x.deltas]);
      expect(gd!.shape).toEqual(x.deltas.shape);
      expect(Array.from(new Set(gd!.dataSync()))).toEqual([1]);
      // Through the proposals alone there is no gradient at all (torch's autograd.grad says the same).
      expect(() => tf.grads((d: tf.Tensor, o: tf.Tensor) => tf.sum(proposals(d, o).scores[0]!))([x.deltas, x.objectness])).toThrow(/Cannot compute gradient/);
    });
  });
});
