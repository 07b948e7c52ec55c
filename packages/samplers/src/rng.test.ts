import { InvalidArgumentError } from '@detkit/core';
import { describe, expect, it } from 'vitest';
import { createRng } from './index';
import { drawSeed, sfc32 } from './rng';

describe('createRng', () => {
  it('is deterministic per seed, differs between seeds, and stays in [0, 1)', () => {
    const a = createRng(42), b = createRng(42), c = createRng(43);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 1000 }, () => c())).not.toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('uses only the low 32 bits of the seed, and emits 32-bit integers', () => {
    expect(sfc32(2 ** 32 + 5)()).toBe(sfc32(5)());
    const next = sfc32(1);
    for (let i = 0; i < 100; i++) {
      const v = next();
      expect(Number.isInteger(v) && v >= 0 && v < 2 ** 32).toBe(true);
    }
  });

  it('is roughly uniform: 10 bins of 20,000 draws within 5 sigma of 2,000 each', () => {
    const rng = createRng(7);
    const bins = new Array(10).fill(0);
    for (let i = 0; i < 20000; i++) bins[Math.floor(rng() * 10)]++;
    // Binomial(20000, 0.1): sigma = sqrt(20000 * 0.1 * 0.9) ~ 42.4.
    for (const count of bins) expect(Math.abs(count - 2000)).toBeLessThan(5 * 42.4);
  });

  it('rejects a non-integer seed', () => {
    expect(() => createRng(1.5)).toThrow(InvalidArgumentError);
  });
});

describe('drawSeed', () => {
  it('takes the seed, or one 32-bit draw of rng, and not both', () => {
    expect(drawSeed('op', { seed: 9 })).toBe(9);
    expect(drawSeed('op', { seed: -1 })).toBe(2 ** 32 - 1);
    expect(drawSeed('op', { rng: () => 0.5 })).toBe(2 ** 31);
    expect(() => drawSeed('op', { seed: 1, rng: () => 0.5 })).toThrow(/exclusive/);
    expect(() => drawSeed('op', { rng: () => 1 })).toThrow(InvalidArgumentError);
    expect(() => drawSeed('op', { seed: 0.5 })).toThrow(InvalidArgumentError);
    const s = drawSeed('op', {});
    expect(Number.isInteger(s) && s >= 0 && s < 2 ** 32).toBe(true);
  });
});
