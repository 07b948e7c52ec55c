import { describe, expect, it } from 'vitest';
import { createRandom } from './index';

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
