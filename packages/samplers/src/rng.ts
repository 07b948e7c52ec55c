import { InvalidArgumentError, integerOption } from '@detkit/core';

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

/** sfc32's state: four 32-bit words (a, b, c, d), as unsigned integers. */
export type RngState = [number, number, number, number];

/** A generator of uint32 values with its state readable and settable. */
interface Sfc32 {
  next(): number;
  get(): RngState;
  set(state: RngState): void;
}

/**
 * sfc32, the Small Fast Chaotic generator of Chris Doty-Humphrey's PractRand (128-bit state, a counter
 * that guarantees a period of at least 2^32): 32-bit integer arithmetic only, so the same seed gives the
 * same stream on every JavaScript engine and every tfjs backend.
 */
function sfc32Generator(seed: number): Sfc32 {
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
  return {
    next,
    get: () => [a >>> 0, b, c, d], // (`a` is kept as a signed int32 by the xor; same bits)
    set: (state) => {
      [a, b, c, d] = state;
    },
  };
}

/** The uint32 stream of {@link sfc32Generator} from `seed` (the samplers' kernels draw from it). */
export function sfc32(seed: number): () => number {
  return sfc32Generator(seed).next;
}

/**
 * A seeded random number generator from {@link createRng}: call it for the next float in [0, 1) (32
 * random bits). Its state can be read and restored, so a training checkpoint can carry it and a resumed
 * run continues the exact stream.
 */
export interface SeededRng {
  /** The next number in [0, 1), with 32 random bits. */
  (): number;
  /**
   * A copy of the current state (four uint32 words, JSON-serialisable). Restoring it, into this generator
   * or another, continues the stream from this point.
   */
  state(): RngState;
  /**
   * Continues from a state returned by {@link SeededRng.state} (of any generator from `createRng`).
   *
   * @param state - Four integers in [0, 2^32), e.g. read back from a checkpoint's JSON.
   * @throws InvalidArgumentError (argument `state`) for anything else; the current state is then kept.
   */
  restore(state: readonly number[]): void;
}

function isWord(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < TWO_POW_32;
}

/**
 * Creates a seeded random number generator (sfc32) returning floats in [0, 1) with 32 random bits. Give
 * one to the samplers' `rng` option to draw a different, reproducible sample at every training step;
 * `state()` / `restore(state)` save and resume its stream exactly.
 *
 * @param seed - Any integer; only its low 32 bits are used.
 * @example
 * const rng = createRng(2026);
 * const saved = rng.state(); // e.g. into a checkpoint: JSON.stringify(saved)
 * const next = [rng(), rng()];
 * const resumed = createRng(0);
 * resumed.restore(saved);
 * [resumed(), resumed()]; // equals next
 */
export function createRng(seed: number): SeededRng {
  if (typeof seed !== 'number' || !Number.isInteger(seed)) {
    throw new InvalidArgumentError('createRng', 'seed', `must be an integer, got ${String(seed)}`);
  }
  const generator = sfc32Generator(seed);
  const rng = (() => generator.next() / TWO_POW_32) as SeededRng;
  rng.state = () => generator.get();
  rng.restore = (state) => {
    if (!Array.isArray(state) || state.length !== 4 || !state.every(isWord)) {
      const shown = Array.isArray(state) ? `[${state.map(String).join(', ')}]` : String(state);
      throw new InvalidArgumentError('SeededRng.restore', 'state', `must be four integers in [0, 2^32) from state(), got ${shown}`);
    }
    generator.set([state[0], state[1], state[2], state[3]] as RngState);
  };
  return rng;
}

/** Random choices of the samplers: where they come from. */
export interface RandomOptions {
  /**
   * Seed of this call's draw: the same seed and labels give the same sample, on every backend. Use it for
   * tests and reproducible one-off calls; in a training loop pass `rng` instead.
   */
  seed?: number;
  /**
   * Random source (e.g. {@link createRng}, or any `() => number` in [0, 1)); each call takes one 32-bit draw from it as its seed, so a
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
    return integerOption(op, 'seed', seed) >>> 0;
  }
  if (rng !== undefined && typeof rng !== 'function') throw new InvalidArgumentError(op, 'rng', `must be a function returning numbers in [0, 1), got ${String(rng)}`);
  const u = (rng ?? Math.random)();
  if (typeof u !== 'number' || !(u >= 0 && u < 1)) throw new InvalidArgumentError(op, 'rng', `must return numbers in [0, 1), returned ${String(u)}`);
  return Math.floor(u * TWO_POW_32) >>> 0;
}
