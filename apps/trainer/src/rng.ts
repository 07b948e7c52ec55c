/**
 * The training run's random source: sfc32 (PractRand's Small Fast Chaotic generator, the one
 * @detkit/samplers' `createRng` uses) with its 128-bit state readable and restorable, so a checkpoint can
 * carry it and `--resume` continues the exact stream.
 *
 * LOCAL SHIM (move into @detkit/samplers): `createRng` hides its state in a closure; a `state()` /
 * `restore()` pair there would make this file unnecessary.
 */

/** A seeded random source in [0, 1) whose state can be saved and restored. */
export interface SeededRng {
  /** The next number in [0, 1) (32 random bits). */
  (): number;
  /** The four 32-bit state words. */
  state(): [number, number, number, number];
  /** Continues from a state returned by `state()`. */
  restore(state: readonly number[]): void;
}

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

/** Creates the run's random source from an integer seed. */
export function createSeededRng(seed: number): SeededRng {
  const init = splitmix32(seed);
  let a = init();
  let b = init();
  let c = init();
  let d = init();
  const next = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) next();
  const rng = (() => next() / 4294967296) as SeededRng;
  rng.state = () => [a, b, c, d];
  rng.restore = (s) => {
    if (s.length !== 4 || !s.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32)) throw new Error(`invalid RNG state ${JSON.stringify(s)}`);
    [a, b, c, d] = s as [number, number, number, number];
  };
  return rng;
}
