/**
 * Seeded randomness shared by the packages, their tests and benchmarks: one generator, so a seed gives
 * the same numbers in every package, on every JavaScript engine and every tfjs backend.
 */
import { InvalidArgumentError } from './errors';

/** A source of uniform random numbers in [0, 1), like `Math.random`. */
export type Random = () => number;

/**
 * The state of a {@link SeededRandom}: its uint32 state words (mulberry32 has one), JSON-serialisable, so
 * a training checkpoint can carry it.
 */
export type RandomState = number[];

/**
 * A seeded generator from {@link createRandom}: call it for the next float in [0, 1) (a uint32 divided
 * by 2^32). Its state can be read and restored, so a checkpoint can carry it and a resumed run continues
 * the exact stream.
 */
export interface SeededRandom extends Random {
  /** The next number in [0, 1): the next {@link SeededRandom.uint32} divided by 2^32. */
  (): number;
  /** The next raw 32-bit output, an integer in [0, 2^32) (the same step of the stream as a call). */
  uint32(): number;
  /**
   * A copy of the current state (one uint32 word, JSON-serialisable). Restoring it, into this generator
   * or another, continues the stream from this point.
   */
  state(): RandomState;
  /**
   * Continues from a state returned by {@link SeededRandom.state} (of any generator from `createRandom`).
   *
   * @param state - One integer in [0, 2^32) in an array, e.g. read back from a checkpoint's JSON.
   * @throws InvalidArgumentError (argument `state`) for anything else; the current state is then kept.
   */
  restore(state: readonly number[]): void;
}

/** Mulberry32's increment (a Weyl sequence over the 32-bit state: period 2^32). */
const MULBERRY32_INCREMENT = 0x6d2b79f5;
const TWO_POW_32 = 4294967296;

/** Mulberry32's output function of a state word: a uint32. */
function mulberry32Output(state: number): number {
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}

function isWord(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < TWO_POW_32;
}

/**
 * Mulberry32 (Tommy Ettinger's 32-bit generator): fast, period 2^32, good enough for augmentation, data
 * generation, training-sample selection and test inputs (not for cryptography). 32-bit integer arithmetic
 * only, so identical on every engine; the samplers' kernels draw from the same generator. Each value is a
 * uint32 divided by 2^32.
 *
 * @param seed - Any number; its low 32 bits (`seed >>> 0`) seed the generator.
 * @returns A {@link SeededRandom}: a generator of floats in [0, 1) with `uint32()`, `state()` and `restore()`.
 * @example
 * const random = createRandom(2026);
 * const saved = random.state(); // e.g. into a checkpoint: JSON.stringify(saved)
 * const next = [random(), random()];
 * const resumed = createRandom(0);
 * resumed.restore(saved);
 * [resumed(), resumed()]; // equals next
 */
export function createRandom(seed: number): SeededRandom {
  let a = seed >>> 0;
  const uint32 = (): number => {
    a = (a + MULBERRY32_INCREMENT) >>> 0;
    return mulberry32Output(a);
  };
  const random = (() => uint32() / TWO_POW_32) as SeededRandom;
  random.uint32 = uint32;
  random.state = () => [a];
  random.restore = (state) => {
    if (!Array.isArray(state) || state.length !== 1 || !isWord(state[0])) {
      const shown = Array.isArray(state) ? `[${state.map(String).join(', ')}]` : String(state);
      throw new InvalidArgumentError('SeededRandom.restore', 'state', `must be one integer in [0, 2^32) in an array, from state(), got ${shown}`);
    }
    a = state[0];
  };
  return random;
}
