// Fuzz suite (issue 15): the matchers on hostile IoU matrices (NaN, infinities, values outside [0, 1] such
// as 5 or -3, ragged and empty arrays, wrong ranks and dtypes) and options. The only outcomes allowed: a
// typed DetkitError, or matches and labels of the documented shape and range, no tensor left behind, no
// hang. See @detkit/test-utils/fuzz.
import { tf } from '@detkit/core';
import { describeEachBackend } from '@detkit/test-utils';
import { fuzz, option, tensor } from '@detkit/test-utils/fuzz';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { createMaxIouMatcher, createSsdMatcher, type BatchMatchResult, type MatchResult } from './index';

/** IoU-like values: mostly in [0, 1] (with ties), sometimes NaN, infinities, 5, -3, 1e38. */
const iouValue = fc.oneof(
  { weight: 8, arbitrary: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 0.3, 0.5, 0.7, 1)) },
  { weight: 1, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity, 5, -3, 1e38, 1.5, -0) },
);
const dim = fc.integer({ min: 0, max: 5 });
const matrix = fc.oneof(tensor([dim, dim], iouValue), tensor([dim, dim, dim], iouValue, { broken: 0 }));
const threshold = option(fc.double({ min: 0, max: 1, noNaN: true }));

function checkResult(r: MatchResult | BatchMatchResult, [iou]: unknown[]): void {
  const shape = iou instanceof tf.Tensor ? iou.shape : null;
  expect(r.matches.shape).toEqual(r.labels.shape);
  if (shape) expect(r.matches.shape).toEqual(shape.length === 3 ? [shape[0], shape[2]] : [shape[1]]);
  const m = shape ? (shape[shape.length - 2] as number) : Infinity;
  for (const v of r.matches.dataSync()) expect(v >= -1 && v < m).toBe(true);
  for (const v of r.labels.dataSync()) expect([-1, 0, 1]).toContain(v);
}

describeEachBackend('fuzz', () => {
  it('createMaxIouMatcher', () => {
    const options = fc.record(
      { highThreshold: threshold, lowThreshold: threshold, negativeMinIou: threshold, allowLowQualityMatches: option(fc.boolean()), minLowQualityIou: threshold },
      { requiredKeys: ['highThreshold', 'lowThreshold'] },
    );
    fuzz('createMaxIouMatcher', fc.tuple(options, matrix), (o, iou) => createMaxIouMatcher(o as never)(iou as never), { check: checkResult });
  });

  it('createSsdMatcher', () => {
    fuzz('createSsdMatcher', fc.tuple(fc.record({ threshold }, { requiredKeys: [] }), matrix), (o, iou) => createSsdMatcher(o as never)(iou as never), { check: checkResult });
  });

  it('issue 15 probe: IoU values of 5 or -3 are an InvalidValueError naming iou and the row', () => {
    const match = createMaxIouMatcher({ highThreshold: 0.7, lowThreshold: 0.3 });
    const ssd = createSsdMatcher();
    for (const bad of [5, -3, NaN, 1.001]) {
      expect(() => match([[0.5, 0.2], [0.1, bad]])).toThrow(/maxIouMatcher: 'iou' has a value outside \[0, 1\].*\(first at row 1\)/);
      expect(() => ssd([[0.5, 0.2], [0.1, bad]])).toThrow(/ssdMatcher: 'iou' has a value outside \[0, 1\]/);
    }
    const ok = match([[1.000001, 0], [0, 1]]); // float32 rounding of an IoU above 1 is tolerated
    expect(Array.from(ok.labels.dataSync())).toEqual([1, 1]);
    tf.dispose([ok.matches, ok.labels]);
  });
});
