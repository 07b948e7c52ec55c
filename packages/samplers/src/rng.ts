import { InvalidArgumentError } from '@detkit/core';

/** A source of uniform random numbers in [0, 1), like `Math.random`. */
export type Rng = () => number;

const TWO_POW_32 = 4294967296;

/** splitmix32: spreads a 32-bit seed over the state words of {@link sfc32}. */
function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * sfc32, the Small Fast Chaotic generator of Chris Doty-Humphrey's PractRand (128-bit state, a counter
 * that guarantees a period of at least 2^32): 32-bit integer arithmetic only, so the same seed gives the
 * same stream on every JavaScript engine and every tfjs backend. Returns uint32 values.
 */
export function sfc32(seed: number): () => number {
  const init = splitmix32(seed);
  let a = init(), b = init(), c = init(), d = init();
  const next = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) next(); // discard the first outputs, as the reference implementation does
  return next;
}

/**
 * Creates a seeded random number generator (sfc32) returning floats in [0, 1) with 32 random bits. Give
 * one to the samplers' `rng` option to draw a different, reproducible sample at every training step.
 *
 * @param seed - Any integer; only its low 32 bits are used.
 */
export function createRng(seed: number): Rng {
  if (typeof seed !== 'number' || !Number.isInteger(seed)) {
    throw new InvalidArgumentError('createRng', 'seed', `must be an integer, got ${String(seed)}`);
  }
  const next = sfc32(seed);
  return () => next() / TWO_POW_32;
}

/** Random choices of the samplers: where they come from. */
export interface RandomOptions {
  /**
   * Seed of this call's draw: the same seed and labels give the same sample, on every backend. Use it for
   * tests and reproducible one-off calls; in a training loop pass `rng` instead.
   */
  seed?: number;
  /**
   * Random source (e.g. {@link createRng}); each call takes one 32-bit draw from it as its seed, so a
   * seeded `rng` makes a whole training run reproducible. Default, when neither `seed` nor `rng` is given:
   * `Math.random` (not reproducible).
   */
  rng?: Rng;
}

/** The 32-bit seed of one sampler call. */
export function drawSeed(op: string, options: RandomOptions): number {
  const { seed, rng } = options;
  if (seed !== undefined && rng !== undefined) throw new InvalidArgumentError(op, 'seed', 'and rng are exclusive: pass one of them');
  if (seed !== undefined) {
    if (typeof seed !== 'number' || !Number.isInteger(seed)) throw new InvalidArgumentError(op, 'seed', `must be an integer, got ${String(seed)}`);
    return seed >>> 0;
  }
  if (rng !== undefined && typeof rng !== 'function') throw new InvalidArgumentError(op, 'rng', `must be a function returning numbers in [0, 1), got ${String(rng)}`);
  const u = (rng ?? Math.random)();
  if (typeof u !== 'number' || !(u >= 0 && u < 1)) throw new InvalidArgumentError(op, 'rng', `must return numbers in [0, 1), returned ${String(u)}`);
  return Math.floor(u * TWO_POW_32) >>> 0;
}
