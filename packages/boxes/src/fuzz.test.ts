// Fuzz suite (issue 15): every public op on hostile input (NaN, infinities, huge and tiny values, ragged
// arrays, wrong ranks and dtypes, non-integer class ids, empty inputs). The only outcomes allowed: a typed
// DetkitError, or a finite result of the documented shape (and finite gradients for the differentiable
// ops), no tensor left behind, no hang. See @detkit/test-utils/fuzz.
import { tf } from '@detkit/core';
import { describeEachBackend } from '@detkit/test-utils';
import { boxes, fuzz, integers, number, option, tensor } from '@detkit/test-utils/fuzz';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import {
  BOX_FORMATS,
  alignedBoxIou,
  alignedCompleteBoxIou,
  alignedDistanceBoxIou,
  alignedGeneralizedBoxIou,
  batchedNms,
  boxArea,
  boxIou,
  clipBoxes,
  completeBoxIou,
  convertBoxes,
  decodeBoxes,
  distanceBoxIou,
  encodeBoxes,
  generalizedBoxIou,
  nms,
  pairwiseIouOps,
  removeSmallBoxes,
  softNms,
} from './index';

const rows = (t: tf.Tensor) => t.shape[0];
const n = fc.integer({ min: 0, max: 6 });
const format = option(fc.constantFrom(...BOX_FORMATS));
const nmsOptions = fc.record(
  { iouThreshold: option(fc.double({ min: 0, max: 1, noNaN: true })), maxOutputSize: option(fc.integer({ min: 0, max: 8 })), scoreThreshold: option(number()) },
  { requiredKeys: [] },
);

describeEachBackend('fuzz', () => {
  it('convertBoxes, boxArea, clipBoxes, removeSmallBoxes', () => {
    fuzz('convertBoxes', fc.tuple(boxes(6), format, format), (b, from, to) => convertBoxes(b, from, to), {
      grad: [0],
      check: (r: tf.Tensor) => expect(r.shape[r.rank - 1]).toBe(4),
    });
    fuzz('boxArea', fc.tuple(boxes(6)), (b) => boxArea(b), { grad: [0] });
    fuzz('clipBoxes', fc.tuple(boxes(6), option(fc.tuple(fc.double({ min: 0, max: 300, noNaN: true }), fc.double({ min: 0, max: 300, noNaN: true })))), (b, size) => clipBoxes(b, size), {
      check: (r: tf.Tensor) => expect(r.shape[r.rank - 1]).toBe(4),
    });
    fuzz('removeSmallBoxes', fc.tuple(boxes(6), option(fc.double({ min: 0, max: 50, noNaN: true }))), (b, min) => removeSmallBoxes(b, min), {
      check: (r: tf.Tensor, [b]) => {
        expect(r.rank).toBe(1);
        expect(r.size).toBeLessThanOrEqual(b instanceof tf.Tensor ? rows(b) : 6);
      },
    });
  });

  it('pairwise and aligned IoU family', () => {
    const pairwise = { boxIou, generalizedBoxIou, distanceBoxIou, completeBoxIou };
    for (const [name, op] of Object.entries(pairwise)) {
      // The fused pairwise kernels have no gradient (documented); the aligned forms and the op path do.
      fuzz(name, fc.tuple(boxes(5), boxes(5)), (a, b) => op(a, b), {
        check: (r: tf.Tensor) => {
          expect(r.rank).toBe(2);
          for (const v of r.dataSync()) expect(Math.abs(v)).toBeLessThanOrEqual(2);
        },
      });
    }
    for (const kind of ['iou', 'giou', 'diou', 'ciou'] as const) {
      fuzz(`pairwiseIouOps(${kind})`, fc.tuple(boxes(5, { broken: 0 }), boxes(5, { broken: 0 })), (a, b) => (a instanceof tf.Tensor && b instanceof tf.Tensor ? pairwiseIouOps(kind, a as tf.Tensor2D, b as tf.Tensor2D) : boxIou(a, b)));
    }
    const aligned = { alignedBoxIou, alignedGeneralizedBoxIou, alignedDistanceBoxIou, alignedCompleteBoxIou };
    for (const [name, op] of Object.entries(aligned)) {
      fuzz(name, n.chain((k) => fc.tuple(boxes(6, { n: fc.constant(k) }), boxes(6, { n: fc.constantFrom(k, k, k + 1) }))), (a, b) => op(a, b), {
        grad: [0, 1],
        check: (r: tf.Tensor) => expect(r.rank).toBe(1),
      });
    }
  });

  it('encodeBoxes and decodeBoxes', () => {
    const weights = option(fc.tuple(fc.double({ min: 0.1, max: 20, noNaN: true }), fc.constant(1), fc.constant(5), fc.constant(5)));
    fuzz('encodeBoxes', n.chain((k) => fc.tuple(boxes(6, { n: fc.constant(k) }), boxes(6, { n: fc.constantFrom(k, k, 0) }), fc.record({ weights }, { requiredKeys: [] }))), (t, a, o) => encodeBoxes(t, a, o), {
      grad: [0],
      check: (r: tf.Tensor) => expect(r.shape[1]).toBe(4),
    });
    const clamp = option(fc.oneof(fc.double({ min: 0, max: 10, noNaN: true }), fc.constant(false)));
    fuzz(
      'decodeBoxes',
      n.chain((k) => fc.tuple(tensor([k, fc.constantFrom(4, 8)], number({ min: -5, max: 5 })), boxes(6, { n: fc.constant(k) }), fc.record({ weights, clamp }, { requiredKeys: [] }))),
      (d, a, o) => decodeBoxes(d, a, o),
      { grad: [0, 1], check: (r: tf.Tensor, [d]) => expect(r.shape).toEqual(d instanceof tf.Tensor ? d.shape : r.shape) },
    );
  });

  it('nms, batchedNms, softNms', () => {
    const scores = (k: number) => tensor([k], number({ min: 0, max: 1 }));
    fuzz('nms', n.chain((k) => fc.tuple(boxes(6, { n: fc.constant(k) }), scores(k), nmsOptions)), (b, s, o) => nms(b, s, o), {
      check: (r: tf.Tensor) => expect([r.rank, r.dtype]).toEqual([1, 'int32']),
    });
    fuzz('batchedNms', n.chain((k) => fc.tuple(boxes(6, { n: fc.constant(k) }), scores(k), integers(k, 0, 3), nmsOptions)), (b, s, c, o) => batchedNms(b, s, c, o), {
      check: (r: tf.Tensor) => expect([r.rank, r.dtype]).toEqual([1, 'int32']),
    });
    const softOptions = fc.record(
      {
        method: option(fc.constantFrom('linear', 'gaussian')),
        iouThreshold: option(fc.double({ min: 0, max: 1, noNaN: true })),
        sigma: option(fc.double({ min: 0.01, max: 2, noNaN: true })),
        scoreThreshold: option(fc.double({ min: 0, max: 1, noNaN: true })),
        maxOutputSize: option(fc.integer({ min: 0, max: 8 })),
      },
      { requiredKeys: [] },
    );
    fuzz('softNms', n.chain((k) => fc.tuple(boxes(6, { n: fc.constant(k) }), scores(k), softOptions)), (b, s, o) => softNms(b, s, o as object), {
      check: (r: { indices: tf.Tensor; scores: tf.Tensor }) => expect(r.indices.size).toBe(r.scores.size),
    });
  });

  it('issue 15 probes: ragged rows, [] boxes, class ids of NaN or 0.7, 1e38 coordinates, clamp -1', () => {
    expect(() => boxIou([[0, 0, 10, 10], [1, 1]], [[0, 0, 10, 10]])).toThrow(/'boxes1'.*ragged array: row 1/);
    expect(() => boxArea([[0, 0, 10, 10], [1, 1, 5, 5, 6, 6]])).toThrow(/'boxes'.*ragged array: row 1/);
    const empty = [boxIou([], [[0, 0, 1, 1]]), boxArea([]), nms([], [], { iouThreshold: 0.5 }), convertBoxes([], 'xywh', 'xyxy'), clipBoxes([], [10, 10])];
    expect(empty.map((t) => t.shape)).toEqual([[0, 1], [0], [0], [0, 4], [0, 4]]);
    tf.dispose(empty);
    for (const bad of [NaN, 0.7]) expect(() => batchedNms([[0, 0, 1, 1]], [1], [bad], { iouThreshold: 0.5 })).toThrow(/'classIds' has .* where an integer is expected/);
    expect(() => generalizedBoxIou([[0, 0, 1e38, 1e38]], [[-1e38, -1e38, 1e38, 1e38]])).toThrow(/'boxes1' has a coordinate beyond ±1e15/);
    expect(() => decodeBoxes([[0, 0, 0, 0]], [[0, 0, 1, 1]], { clamp: -1 })).toThrow(/'clamp' must be a number in \[0, 50\]/);
    expect(() => decodeBoxes([[0, 0, 1e15, 0]], [[0, 0, 1, 1]], { clamp: false })).toThrow(/'deltas' decodes to a box beyond float32 range/);
    expect(() => encodeBoxes([[0, 0, 1e15, 1e15]], [[0, 0, 1e-30, 1e-30]])).toThrow(/'anchors' is too small for its target/);
  });
});
