// splitSamples: a seeded split of one annotation file into train and val.
import { InvalidArgumentError } from '@detkit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitSamples } from './index';

describe('splitSamples', () => {
  it('partitions the samples, keeps their order, val has round(n x fraction) (at least 1)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.double({ min: 0.01, max: 0.99, noNaN: true }), fc.integer(), (n, f, seed) => {
        const items = Array.from({ length: n }, (_, i) => i);
        const { train, val } = splitSamples(items, f, seed);
        expect([...train, ...val].sort((a, b) => a - b)).toEqual(items);
        expect(train).toEqual([...train].sort((a, b) => a - b));
        expect(val).toEqual([...val].sort((a, b) => a - b));
        expect(val.length).toBe(n < 2 ? 0 : Math.min(n - 1, Math.max(1, Math.round(n * f))));
        expect(splitSamples(items, f, seed)).toEqual({ train, val });
      }),
    );
  });

  it('another seed picks other samples; bad arguments are typed errors', () => {
    const items = Array.from({ length: 100 }, (_, i) => i);
    expect(splitSamples(items, 0.1, 1).val).not.toEqual(splitSamples(items, 0.1, 2).val);
    expect(() => splitSamples(items, 1)).toThrow(InvalidArgumentError);
    expect(() => splitSamples(items, 0)).toThrow(/fraction/);
    expect(() => splitSamples(items, 0.1, 0.5)).toThrow(/seed/);
  });
});
