// Fuzz suite (issue 15): the samplers and target builders on hostile input (NaN labels, non-integer
// labels, NaN or huge losses, ragged, empty and wrong-dtype arrays, bad boxes and class ids, bad options,
// rng functions that return garbage). The only outcomes allowed: a typed DetkitError, or a finite result
// of the documented shape, no tensor left behind, no hang. See @detkit/test-utils/fuzz.
import { createRandom, tf } from '@detkit/core';
import { describeEachBackend } from '@detkit/test-utils';
import { boxes, fuzz, integers, number, option, tensor } from '@detkit/test-utils/fuzz';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { buildRoiTargets, buildRpnTargets, buildSsdTargets, buildSsdTargetsBatch, mineHardNegatives, sampleBalanced, sampleOhem } from './index';

const n = fc.integer({ min: 0, max: 8 });
const labelValue = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: -1, max: 3 }) }, { weight: 1, arbitrary: fc.constantFrom(NaN, 0.7, 1e10, -Infinity) });
const budget = fc.record(
  { batchSize: option(fc.integer({ min: 0, max: 10 })), positiveFraction: option(fc.double({ min: 0, max: 1, noNaN: true })) },
  { requiredKeys: ['batchSize', 'positiveFraction'] },
);
const random = fc.oneof(
  fc.record({ seed: option(fc.integer({ min: 0, max: 2 ** 32 - 1 })) }),
  fc.constantFrom('seeded', 'nan', 'huge').map((kind) => ({ rng: kind === 'seeded' ? createRandom(7) : kind === 'nan' ? () => NaN : () => 1e30 })),
);
const sampled = (r: { labels: tf.Tensor; indices: tf.Tensor }, [labels]: unknown[], budgetOf?: number) => {
  if (labels instanceof tf.Tensor) expect(r.labels.shape).toEqual(labels.shape);
  if (budgetOf !== undefined) expect(r.indices.size).toBeLessThanOrEqual(budgetOf);
};

describeEachBackend('fuzz', () => {
  it('sampleBalanced, sampleOhem, mineHardNegatives', () => {
    fuzz('sampleBalanced', fc.tuple(tensor([n], labelValue, { dtype: 'int32' }), fc.tuple(budget, random).map(([b, r]) => ({ ...b, ...r }))), (l, o) => sampleBalanced(l, o as never), {
      check: (r, args) => sampled(r, args, typeof args[1]?.batchSize === 'number' ? args[1].batchSize : undefined),
    });
    fuzz(
      'sampleOhem',
      n.chain((k) => fc.tuple(tensor([k], number({ min: 0, max: 10 })), tensor([k], labelValue, { dtype: 'int32' }), fc.tuple(budget, fc.record({ negPosUpperBound: option(fc.double({ min: -1, max: 5, noNaN: true })) }, { requiredKeys: [] })).map(([a, b]) => ({ ...a, ...b })))),
      (loss, l, o) => sampleOhem(loss, l, o as never),
      { check: (r, [, labels]) => labels instanceof tf.Tensor && expect(r.labels.shape).toEqual(labels.shape) },
    );
    fuzz(
      'mineHardNegatives',
      fc.tuple(fc.integer({ min: 1, max: 2 }), n).chain(([b, k]) => fc.tuple(tensor([b, k], number({ min: 0, max: 10 })), tensor([b, k], labelValue, { dtype: 'int32' }), fc.record({ negPosRatio: option(fc.double({ min: 0, max: 5, noNaN: true })), minNegatives: option(fc.integer({ min: 0, max: 4 })) }, { requiredKeys: [] }))),
      (loss, l, o) => mineHardNegatives(loss, l, o as never),
      { check: (r: tf.Tensor, [, labels]) => labels instanceof tf.Tensor && expect(r.shape).toEqual(labels.shape) },
    );
  });

  it('buildRpnTargets and buildRoiTargets', () => {
    const matcher = option(fc.record({ highThreshold: option(fc.double({ min: 0.1, max: 1, noNaN: true })), lowThreshold: option(fc.double({ min: 0, max: 0.5, noNaN: true })), allowLowQualityMatches: fc.boolean() }));
    const size = option(fc.tuple(fc.double({ min: 0, max: 300, noNaN: true }), fc.double({ min: 0, max: 300, noNaN: true })));
    fuzz(
      'buildRpnTargets',
      fc.tuple(boxes(8), boxes(4), fc.record({ matcher, sampler: option(fc.oneof(budget, fc.constant(false))), imageSize: size, allowedBorder: option(number()), seed: fc.constant(3) }, { requiredKeys: ['seed'] })),
      (a, g, o) => buildRpnTargets(a, g, o as never),
      { check: (r, [a]) => a instanceof tf.Tensor && expect(r.labels.shape).toEqual([a.shape[0]]) },
    );
    fuzz(
      'buildRoiTargets',
      fc.integer({ min: 0, max: 4 }).chain((m) => fc.tuple(boxes(8), boxes(4, { n: fc.constant(m) }), integers(m, 1, 4), fc.record({ matcher, sampler: option(fc.oneof(budget, fc.constant(false))), appendGtBoxes: option(fc.boolean()), seed: fc.constant(3) }, { requiredKeys: ['seed'] }))),
      (p, g, c, o) => buildRoiTargets(p, g, c, o as never),
      { check: (r) => expect(r.proposals.shape[0]).toBe(r.indices.size) },
    );
  });

  it('buildSsdTargets and buildSsdTargetsBatch', () => {
    const options = fc.record({ threshold: option(fc.double({ min: 0, max: 1, noNaN: true })) }, { requiredKeys: [] });
    fuzz(
      'buildSsdTargets',
      fc.integer({ min: 0, max: 4 }).chain((m) => fc.tuple(boxes(8), boxes(4, { n: fc.constant(m) }), integers(m, 1, 4), options)),
      (p, g, c, o) => buildSsdTargets(p, g, c, o),
      { check: (r, [p]) => p instanceof tf.Tensor && expect(r.labels.shape).toEqual([p.shape[0]]) },
    );
    fuzz(
      'buildSsdTargetsBatch',
      fc.integer({ min: 0, max: 3 }).chain((m) => fc.tuple(boxes(6), fc.array(boxes(3, { n: fc.constant(m) }), { minLength: 0, maxLength: 2 }), fc.array(integers(m, 1, 4), { minLength: 0, maxLength: 2 }), options)),
      (p, g, c, o) => buildSsdTargetsBatch(p, g as never, c as never, o),
      { check: (r, [p, g]) => p instanceof tf.Tensor && expect(r.labels.shape).toEqual([(g as unknown[]).length, p.shape[0]]) },
    );
  });

  it('issue 15 probe: NaN or 0.7 labels are an InvalidValueError naming labels and the row', () => {
    expect(() => sampleBalanced([1, 0, NaN], { batchSize: 2, positiveFraction: 0.5, seed: 1 })).toThrow(/sampleBalanced: 'labels' has NaN where an integer is expected \(first at row 2\)/);
    expect(() => sampleBalanced(tf.tensor1d([1, 0.7]), { batchSize: 2, positiveFraction: 0.5, seed: 1 })).toThrow(/'labels' has 0\.\d+ where an integer is expected/);
    expect(() => mineHardNegatives([[0.5, 0.2]], [[1, NaN]])).toThrow(/mineHardNegatives: 'labels' has NaN/);
  });
});
