/**
 * Seeded randomness: every random choice in detkit's data code (shuffling, augmentation, the synthetic
 * set) comes from here, so a seed reproduces it exactly on every JavaScript engine.
 */

import { createRandom, type Random } from '@detkit/core';

/** @detkit/core's seeded generator (mulberry32), re-exported: data code draws every random choice from it. */
export { createRandom, type Random };

/**
 * Mixes integers into one 32-bit seed (a murmur3-style finaliser over each part), so that streams
 * for (seed, epoch, index) are independent of each other and of the order they are drawn in.
 */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    let k = Math.imul(p | 0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Uniform number in [lo, hi). */
export function uniform(random: Random, lo: number, hi: number): number {
  return lo + (hi - lo) * random();
}

/** Uniform integer in [lo, hi] (both inclusive). */
export function randomInt(random: Random, lo: number, hi: number): number {
  return lo + Math.floor(random() * (hi - lo + 1));
}

/**
 * A seeded permutation of 0..n-1 (Fisher-Yates). Int32Array, 4 bytes per sample: the only memory a
 * shuffled epoch needs beyond the sample list itself.
 */
export function permutation(n: number, seed: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  const random = createRandom(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = out[i] as number;
    out[i] = out[j] as number;
    out[j] = t;
  }
  return out;
}
