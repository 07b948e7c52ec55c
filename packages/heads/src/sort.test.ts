// The selection kernels' top-N (sort.ts, internal): the same set as a full sort by (value desc, index asc).
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { sigmoid32, topByValue } from './sort';

it('topByValue picks the top `limit` by value, ties to the lower index, in candidate order', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.float({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -0, 1, -1, 0.5)), { maxLength: 300 }),
      fc.integer({ min: 0, max: 320 }),
      fc.boolean(),
      (raw, limit, subset) => {
        const values = Float32Array.from(raw);
        const all = Int32Array.from(values.keys());
        const candidates = subset ? all.filter((i) => i % 3 !== 1) : all;
        const expected = Array.from(candidates)
          .sort((a, b) => (values[b] as number) - (values[a] as number) || a - b)
          .slice(0, limit)
          .sort((a, b) => a - b);
        const got = Array.from(topByValue(values, candidates, limit));
        expect([...got].sort((a, b) => a - b)).toEqual(expected);
        // In candidate order.
        expect(got).toEqual(Array.from(candidates).filter((i) => expected.includes(i)));
      },
    ),
    { numRuns: 300 },
  );
});

it('sigmoid32 is the float32 logistic function', () => {
  expect(sigmoid32(0)).toBe(0.5);
  expect(sigmoid32(100)).toBe(1);
  expect(sigmoid32(-100)).toBe(Math.fround(1 / (1 + Math.exp(100))));
  expect(sigmoid32(2)).toBe(Math.fround(1 / (1 + Math.exp(-2))));
});
