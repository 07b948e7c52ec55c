import { createRandom, InvalidArgumentError } from '@detkit/core';
import { describe, expect, it } from 'vitest';
import { createRng } from './index';
import { drawSeed } from './rng';

describe('createRng (deprecated alias of @detkit/core createRandom)', () => {
  it('is core\'s generator: the same stream, state and restore for the same seed', () => {
    const a = createRng(42), b = createRandom(42);
    expect(Array.from({ length: 100 }, () => a())).toEqual(Array.from({ length: 100 }, () => b()));
    expect(a.state()).toEqual(b.state());
    const other = createRandom(7);
    other.restore(a.state());
    expect(other()).toBe(a());
  });

  it('rejects a non-integer seed', () => {
    expect(() => createRng(1.5)).toThrow(InvalidArgumentError);
  });

  it('the initial state reproduces the seed\'s stream (the samplers see the same draws)', () => {
    const a = createRng(2026);
    const b = createRandom(0);
    b.restore(a.state());
    expect(drawSeed('op', { rng: a })).toBe(drawSeed('op', { rng: b }));
    expect(drawSeed('op', { rng: createRandom(2026) })).toBe(createRandom(2026).uint32());
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
