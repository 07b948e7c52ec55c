// Fuzz suite (issue 15): the heads' ops on hostile input (NaN, infinities, huge and tiny boxes, image
// indices of 0.7 or NaN, sampling ratios of -1 or 1e6, empty and 0 x 0 feature maps, ragged and
// wrong-dtype arrays, bad options). The only outcomes allowed: a typed DetkitError, or a finite result of
// the documented shape (finite gradients for RoIAlign / RoIPool), no tensor left behind, no hang. The
// heads' `apply` does not scan feature values (documented), so it is fuzzed on finite features with
// hostile shapes and options. See @detkit/test-utils/fuzz.
import { tf } from '@detkit/core';
import { describeEachBackend } from '@detkit/test-utils';
import { boxes, fuzz, integers, number, option, tensor } from '@detkit/test-utils/fuzz';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { createBoxHead, createRpnHead, createSsdHead, multiScaleRoiAlign, postprocessDetections, proposalLayer, roiAlign, roiPool } from './index';

const small = fc.integer({ min: 0, max: 4 });
const feature = (b: number) => tensor([b, small, small, fc.integer({ min: 1, max: 5 })], number({ min: -5, max: 5 }));
/** Boxes on a small map, sometimes far larger than it (adaptive sampling's worst case). */
const roiBoxes = (k: number) =>
  fc.oneof(
    { weight: 4, arbitrary: boxes(k, { n: fc.constant(k) }) },
    { weight: 1, arbitrary: fc.constantFrom(1e3, 1e5, 1e9, 1e15).map((s) => ({ kind: 'tensor', dtype: 'float32', shape: [k, 4], values: Array.from({ length: k }, () => [0, 0, s, s]).flat() })) },
  );
const size2 = option(fc.oneof(fc.integer({ min: 1, max: 7 }), fc.tuple(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }))));
const roiArgs = fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 0, max: 3 })).chain(([b, k]) =>
  fc.tuple(
    feature(b),
    roiBoxes(k),
    integers(k, 0, b - 1),
    fc.record(
      {
        outputSize: size2,
        spatialScale: option(fc.oneof(fc.constantFrom(1, 0.5, 0.25, 1 / 16), fc.double({ min: 1e-3, max: 4, noNaN: true }))),
        samplingRatio: option(fc.oneof(fc.integer({ min: -1, max: 4 }), fc.constantFrom(256, 257, 1e6))),
        aligned: option(fc.boolean()),
      },
      { requiredKeys: [] },
    ),
  ),
);
const finiteFeature = (b: number, c: number) => tensor([b, fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 4 }), fc.constantFrom(c, c, c + 1)], fc.double({ min: -3, max: 3, noNaN: true }), { broken: 1 });

describeEachBackend('fuzz', () => {
  it('roiAlign and roiPool', () => {
    const shape = (r: tf.Tensor, [f, b]: unknown[]) => {
      if (f instanceof tf.Tensor && b instanceof tf.Tensor) expect([r.shape[0], r.shape[3]]).toEqual([b.shape[0], f.shape[3]]);
    };
    fuzz('roiAlign', roiArgs, (f, b, i, o) => roiAlign(f, b, i, o), { grad: [0], check: shape });
    fuzz('roiPool', roiArgs, (f, b, i, o) => roiPool(f, b, i, o), { grad: [0], check: shape });
  });

  it('multiScaleRoiAlign', () => {
    const args = fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 0, max: 3 })).chain(([b, k]) =>
      fc.tuple(
        fc.array(feature(b), { minLength: 0, maxLength: 2 }),
        roiBoxes(k),
        integers(k, 0, b - 1),
        fc.record({ imageSizes: option(fc.tuple(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 64 }))), outputSize: size2, samplingRatio: option(fc.integer({ min: -1, max: 3 })) }, { requiredKeys: ['imageSizes'] }),
      ),
    );
    fuzz('multiScaleRoiAlign', args, (f, b, i, o) => multiScaleRoiAlign(f as never, b, i, o as never));
  });

  it('proposalLayer and postprocessDetections', () => {
    const proposals = fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 0, max: 6 })).chain(([n, a]) =>
      fc.tuple(
        fc.record({
          objectness: tensor([n, a], number({ min: -5, max: 5 })),
          deltas: tensor([n, a, 4], number({ min: -2, max: 2 })),
          anchors: boxes(6, { n: fc.constant(a) }),
          imageSizes: option(fc.tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }))),
        }),
        fc.record(
          {
            preNmsTopN: option(fc.integer({ min: 0, max: 8 })),
            postNmsTopN: option(fc.integer({ min: 0, max: 8 })),
            nmsThreshold: option(fc.double({ min: 0, max: 1, noNaN: true })),
            minSize: option(fc.double({ min: 0, max: 5, noNaN: true })),
            scoreThreshold: option(fc.double({ min: 0, max: 1, noNaN: true })),
            order: option(fc.constantFrom('filter-first', 'topk-first')),
            clamp: option(fc.oneof(fc.double({ min: 0, max: 10, noNaN: true }), fc.constant(false))),
          },
          { requiredKeys: ['preNmsTopN', 'postNmsTopN'] },
        ),
      ),
    );
    fuzz('proposalLayer', proposals, (inputs, o) => proposalLayer(inputs as never, o as never), {
      check: (r: { boxes: tf.Tensor[]; scores: tf.Tensor[] }) => r.boxes.forEach((b, i) => expect(b.shape[0]).toBe(r.scores[i]!.size)),
    });
    const detections = fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 2, max: 3 })).chain(([k, c]) =>
      fc.tuple(
        fc.record({
          classLogits: tensor([k, c], number({ min: -5, max: 5 })),
          boxDeltas: tensor([k, fc.constantFrom(4, 4 * c)], number({ min: -2, max: 2 })),
          referenceBoxes: boxes(5, { n: fc.constant(k) }),
          imageSizes: option(fc.tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }))),
        }),
        fc.record(
          {
            scoreThreshold: option(fc.double({ min: 0, max: 1, noNaN: true })),
            nmsThreshold: option(fc.double({ min: 0, max: 1, noNaN: true })),
            detectionsPerImage: option(fc.integer({ min: 0, max: 6 })),
            topkCandidates: option(fc.oneof(fc.integer({ min: 0, max: 6 }), fc.constant(Infinity))),
            minSize: option(fc.double({ min: 0, max: 2, noNaN: true })),
            clamp: option(fc.oneof(fc.double({ min: 0, max: 10, noNaN: true }), fc.constant(false))),
          },
          { requiredKeys: ['scoreThreshold', 'nmsThreshold', 'detectionsPerImage'] },
        ),
      ),
    );
    fuzz('postprocessDetections', detections, (inputs, o) => postprocessDetections(inputs as never, o as never), {
      check: (r: Array<{ boxes: tf.Tensor; scores: tf.Tensor; labels: tf.Tensor }>) => r.forEach((d) => expect(d.boxes.shape[0]).toBe(d.scores.size)),
    });
  });

  it.each(['rpn', 'box', 'ssd'])('%s head: create and apply on finite features', (which) => {
    // Bad channel counts, including ones past MAX_PARAMETER_SIZE; no legal-but-huge ones (1e6 channels
    // allocate and convolve for seconds: that is cost, not a fault).
    const channels = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 1, arbitrary: fc.constantFrom(undefined, 0, -1, 0.5, NaN, Infinity, 1e30, 2 ** 31, 'x') });
    const run = <H extends { apply(x: unknown): unknown; dispose(): void }>(make: () => H, x: unknown) => {
      const head = make();
      try {
        return head.apply(x);
      } finally {
        head.dispose();
      }
    };
    if (which === 'rpn') fuzz(
      'createRpnHead',
      fc.integer({ min: 1, max: 3 }).chain((c) => fc.tuple(fc.record({ inChannels: fc.oneof(fc.constant(c), channels), midChannels: channels, numAnchors: channels, objectnessLogits: option(fc.constantFrom(1, 2)), seed: fc.constant(1) }, { requiredKeys: ['inChannels', 'seed'] }), finiteFeature(1, c))),
      (o, x) => run(() => createRpnHead(o as never), x),
    );
    if (which === 'box') fuzz(
      'createBoxHead',
      fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 })).chain(([c, p]) =>
        fc.tuple(
          fc.record({ inChannels: fc.oneof(fc.constant(c), channels), numClasses: option(fc.integer({ min: 1, max: 3 })), poolSize: fc.oneof(fc.constant(p), size2), representationSize: channels, seed: fc.constant(1) }, { requiredKeys: ['inChannels', 'numClasses', 'seed'] }),
          tensor([fc.integer({ min: 0, max: 3 }), p, p, c], fc.double({ min: -3, max: 3, noNaN: true })),
        ),
      ),
      (o, x) => run(() => createBoxHead(o as never), x),
    );
    if (which === 'ssd') fuzz(
      'createSsdHead',
      fc.integer({ min: 1, max: 3 }).chain((c) => fc.tuple(fc.record({ inChannels: option(fc.constant([c])), numAnchors: option(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 1 })), numClasses: option(fc.integer({ min: 1, max: 3 })), seed: fc.constant(1) }, { requiredKeys: ['inChannels', 'numAnchors', 'numClasses', 'seed'] }), finiteFeature(1, c))),
      (o, x) => run(() => createSsdHead(o as never), x),
    );
  });

  it('issue 15 probes: bounded RoIAlign sampling, 0 x 0 maps, non-integer image indices', () => {
    const f = tf.zeros([1, 8, 8, 3]);
    expect(() => roiAlign(f, [[0, 0, 1e30, 1e30]], [0], { samplingRatio: -1 })).toThrow(/roiAlign: 'boxes' has a coordinate beyond ±1e15/);
    expect(() => roiAlign(f, [[0, 0, 1e5, 1e5]], [0], { samplingRatio: -1 })).toThrow(/roiAlign: 'boxes' has a box of 100000 x 100000 feature cells .* more than ROI_ALIGN_MAX_SAMPLES_PER_BIN/);
    expect(() => roiAlign(f, [[0, 0, 4, 4]], [0], { samplingRatio: 1e6 })).toThrow(/roiAlign: 'samplingRatio' must be <= 256/);
    expect(() => roiAlign(tf.zeros([1, 64, 64, 256]), tf.tile(tf.tensor2d([[0, 0, 1700, 1700]]), [400, 1]), tf.zeros([400], 'int32'), { samplingRatio: -1 })).toThrow(/roiAlign: 'boxes' need \d+ sampling points x channels in all, more than ROI_ALIGN_MAX_WORK/);
    // Within the limits, adaptive sampling is torchvision's: a 1,700-cell box is ceil(1700 / 7) = 243 points a side.
    const big = roiAlign(tf.ones([1, 4, 4, 1]), [[0, 0, 1700, 1700]], [0], { samplingRatio: -1, outputSize: 7 });
    expect(big.shape).toEqual([1, 7, 7, 1]);
    for (const aligned of [true, false]) {
      const empty = roiAlign(tf.zeros([1, 0, 0, 3]), [[0, 0, 4, 4]], [0], { aligned });
      expect(Array.from(empty.dataSync()).every((v) => v === 0)).toBe(true); // wasm read outside the map: 5.6e-45
      empty.dispose();
    }
    for (const bad of [0.7, NaN]) {
      expect(() => roiAlign(tf.zeros([2, 4, 4, 1]), [[0, 0, 2, 2]], [bad])).toThrow(/'boxImageIndex' has .* where an integer is expected/);
      expect(() => roiPool(tf.zeros([2, 4, 4, 1]), [[0, 0, 2, 2]], [bad])).toThrow(/'boxImageIndex' has .* where an integer is expected/);
    }
    tf.dispose([f, big]);
  });
});
