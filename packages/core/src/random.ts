/**
 * Seeded randomness shared by the packages, their tests and benchmarks: one generator, so a seed gives
 * the same numbers in every package, on every JavaScript engine and every tfjs backend.
 */

/** A source of uniform random numbers in [0, 1), like `Math.random`. */
export type Random = () => number;

/**
 * Mulberry32 (Tommy Ettinger's 32-bit generator): fast, period 2^32, good enough for augmentation, data
 * generation and test inputs (not for cryptography). 32-bit integer arithmetic only, so identical on
 * every engine. Each value is a uint32 divided by 2^32.
 *
 * @param seed - Any number; its low 32 bits (`seed >>> 0`) seed the generator.
 * @returns A generator of floats in [0, 1).
 */
export function createRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
