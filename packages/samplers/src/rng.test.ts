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

describe('createRng state() / restore()', () => {
  it('restore continues the exact stream, in the same generator or another, through JSON', () => {
    const rng = createRng(42);
    for (let i = 0; i < 37; i++) rng();
    const saved = rng.state();
    expect(saved).toHaveLength(4);
    expect(saved.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32)).toBe(true);
    const next = Array.from({ length: 100 }, () => rng());
    // Another generator, another seed, a state read back from JSON (as a checkpoint does).
    const other = createRng(7);
    other();
    other.restore(JSON.parse(JSON.stringify(saved)) as number[]);
    expect(Array.from({ length: 100 }, () => other())).toEqual(next);
    // The same generator, rewound.
    rng.restore(saved);
    expect(Array.from({ length: 100 }, () => rng())).toEqual(next);
  });

  it('state() is a copy: drawing or changing it later does not move a saved state', () => {
    const rng = createRng(1);
    const saved = rng.state();
    const copy = [...saved];
    rng();
    expect(saved).toEqual(copy);
    expect(rng.state()).not.toEqual(saved);
    saved[0] = 0;
    const fresh = createRng(1);
    expect(fresh.state()).toEqual(copy);
  });

  it('the initial state reproduces the seed\'s stream (the samplers see the same draws)', () => {
    const a = createRng(2026);
    const b = createRng(0);
    b.restore(a.state());
    const fromSeed = createRng(2026);
    expect(Array.from({ length: 10 }, () => b())).toEqual(Array.from({ length: 10 }, () => fromSeed()));
    expect(drawSeed('op', { rng: a })).toBe(drawSeed('op', { rng: createRng(2026) }));
  });

  it('a bad state is an InvalidArgumentError naming `state`, and the current state is kept', () => {
    const rng = createRng(3);
    const before = rng.state();
    for (const bad of [[1, 2, 3], [1, 2, 3, 4, 5], [1, 2, 3, -1], [1, 2, 3, 2 ** 32], [1, 2, 3, 0.5], [1, 2, 3, NaN], ['1', 2, 3, 4], null, undefined, 'abcd']) {
      let error: unknown;
      try {
        rng.restore(bad as number[]);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(bad)).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).argument).toBe('state');
      expect((error as InvalidArgumentError).message).toMatch(/^SeededRng\.restore: 'state' must be four integers in \[0, 2\^32\)/);
    }
    expect(rng.state()).toEqual(before);
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
