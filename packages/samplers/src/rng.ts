import { createRandom, InvalidArgumentError, integerOption, type Random, type RandomState, type SeededRandom } from '@detkit/core';

const TWO_POW_32 = 4294967296;

/**
 * A source of uniform random numbers in [0, 1), like `Math.random`: `@detkit/core`'s `Random`.
 *
 * @deprecated Use `Random` from `@detkit/core`.
 */
export type Rng = Random;

/**
 * The state of a seeded generator: `@detkit/core`'s `RandomState` (mulberry32: one uint32 word).
 *
 * @deprecated Use `RandomState` from `@detkit/core`.
 */
export type RngState = RandomState;

/**
 * A seeded generator with `state()` / `restore()`: `@detkit/core`'s `SeededRandom`.
 *
 * @deprecated Use `SeededRandom` from `@detkit/core`.
 */
export type SeededRng = SeededRandom;

/**
 * `@detkit/core`'s `createRandom` (mulberry32) for an integer seed: the one seeded generator of detkit,
 * with `state()` / `restore(state)` to save and resume its stream exactly. Kept for existing callers;
 * unlike `createRandom` it refuses a seed that is not an integer.
 *
 * @deprecated Use `createRandom` from `@detkit/core` (same generator, same stream for the same seed).
 * @param seed - Any integer; only its low 32 bits are used.
 * @throws InvalidArgumentError (argument `seed`) when `seed` is not an integer.
 */
export function createRng(seed: number): SeededRandom {
  if (typeof seed !== 'number' || !Number.isInteger(seed)) {
    throw new InvalidArgumentError('createRng', 'seed', `must be an integer, got ${String(seed)}`);
  }
  return createRandom(seed);
}

/** Random choices of the samplers: where they come from. */
export interface RandomOptions {
  /**
   * Seed of this call's draw: the same seed and labels give the same sample, on every backend. Use it for
   * tests and reproducible one-off calls; in a training loop pass `rng` instead.
   */
  seed?: number;
  /**
   * Random source (e.g. `createRandom(seed)` of `@detkit/core`, or any `() => number` in [0, 1)); each
   * call takes one 32-bit draw from it as the seed of its own `createRandom` stream, so a seeded `rng`
   * makes a whole training run reproducible. Default, when neither `seed` nor `rng` is given:
   * `Math.random` (not reproducible).
   */
  rng?: Random;
}

/** The 32-bit seed of one sampler call. */
export function drawSeed(op: string, options: RandomOptions): number {
  const { seed, rng } = options;
  if (seed !== undefined && rng !== undefined) throw new InvalidArgumentError(op, 'seed', 'and rng are exclusive: pass one of them');
  if (seed !== undefined) {
    return integerOption(op, 'seed', seed) >>> 0;
  }
  if (rng !== undefined && typeof rng !== 'function') throw new InvalidArgumentError(op, 'rng', `must be a function returning numbers in [0, 1), got ${String(rng)}`);
  const u = (rng ?? Math.random)();
  if (typeof u !== 'number' || !(u >= 0 && u < 1)) throw new InvalidArgumentError(op, 'rng', `must return numbers in [0, 1), returned ${String(u)}`);
  return Math.floor(u * TWO_POW_32) >>> 0;
}
