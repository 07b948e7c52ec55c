import { describe, expect, it } from 'vitest';
import { createRandom, InvalidArgumentError } from './index';

describe('createRandom', () => {
  it('is mulberry32', () => {
    // Expected values from an independent transcription of Tommy Ettinger's C mulberry32 in Python
    // integer arithmetic (uint32 wrap-around by & 0xffffffff), divided by 2**32:
    //   a = (a + 0x6D2B79F5) & M; z = ((a ^ a >> 15) * (a | 1)) & M
    //   z ^= (z + ((z ^ z >> 7) * (z | 61))) & M; out = (z ^ z >> 14) / 2**32
    const zero = createRandom(0);
    expect([zero(), zero(), zero()]).toEqual([0.26642920868471265, 0.0003297457005828619, 0.2232720274478197]);
    const fortyTwo = createRandom(42);
    expect([fortyTwo(), fortyTwo(), fortyTwo()]).toEqual([0.6011037519201636, 0.44829055899754167, 0.8524657934904099]);
  });

  it('is seeded by the low 32 bits and stays in [0, 1)', () => {
    const a = createRandom(7), b = createRandom(7 + 2 ** 32);
    let sum = 0;
    for (let i = 0; i < 10_000; i++) {
      const x = a();
      expect(b()).toBe(x);
      expect(x >= 0 && x < 1).toBe(true);
      sum += x;
    }
    // Mean of 10,000 uniforms: 0.5 with standard deviation sqrt(1/12 / 10^4) ~ 0.0029; 5 sigma.
    expect(Math.abs(sum / 10_000 - 0.5)).toBeLessThan(0.015);
  });
});

describe('createRandom uint32() / state() / restore()', () => {
  it('uint32() is the same step of the stream as a call, times 2^32', () => {
    const a = createRandom(42), b = createRandom(42);
    for (let i = 0; i < 100; i++) {
      const u = a.uint32();
      expect(Number.isInteger(u) && u >= 0 && u < 2 ** 32).toBe(true);
      expect(b()).toBe(u / 2 ** 32);
    }
  });

  it('restore continues the exact stream, in the same generator or another, through JSON', () => {
    const random = createRandom(42);
    for (let i = 0; i < 37; i++) random();
    const saved = random.state();
    expect(saved).toHaveLength(1);
    const next = Array.from({ length: 100 }, () => random());
    const other = createRandom(7);
    other();
    other.restore(JSON.parse(JSON.stringify(saved)) as number[]);
    expect(Array.from({ length: 100 }, () => other())).toEqual(next);
    random.restore(saved);
    expect(Array.from({ length: 100 }, () => random())).toEqual(next);
  });

  it('the initial state is the seed (low 32 bits), and state() is a copy', () => {
    // mulberry32's state is the seed itself before the first draw: restoring [seed] restarts the stream.
    expect(createRandom(2 ** 32 + 5).state()).toEqual([5]);
    const random = createRandom(1);
    const saved = random.state();
    random();
    expect(saved).toEqual([1]);
    expect(random.state()).not.toEqual(saved);
  });

  it('a bad state is an InvalidArgumentError naming `state`, and the current state is kept', () => {
    const random = createRandom(3);
    random();
    const before = random.state();
    for (const bad of [[], [1, 2], [-1], [2 ** 32], [0.5], [NaN], ['1'], null, undefined, 'a']) {
      let error: unknown;
      try {
        random.restore(bad as number[]);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(bad)).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).argument).toBe('state');
    }
    expect(random.state()).toEqual(before);
  });
});
