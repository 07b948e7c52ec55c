import { InvalidArgumentError } from '@detkit/core';
import { mixSeed, permutation } from './random';

/** Seed tag of the split stream, so it never coincides with shuffling or augmentation. */
const SPLIT_STREAM = 0x53504c54;

/**
 * Splits samples into two seeded parts, for a data set that comes as one annotation file (`--val-split
 * 0.1`): `val` gets round(n x fraction) samples (at least 1 when n >= 2), chosen by a permutation seeded
 * by `seed` alone, and `train` the rest; both keep the input order. The same (n, fraction, seed) always
 * picks the same samples.
 *
 * @param samples - Any list (samples, ids, file names).
 * @param fraction - Share for `val`, in (0, 1).
 */
export function splitSamples<T>(samples: readonly T[], fraction: number, seed = 0): { train: T[]; val: T[] } {
  const op = 'splitSamples';
  if (!Array.isArray(samples)) throw new InvalidArgumentError(op, 'samples', 'must be an array');
  if (typeof fraction !== 'number' || !(fraction > 0 && fraction < 1)) throw new InvalidArgumentError(op, 'fraction', `must be a number in (0, 1), got ${String(fraction)}`);
  if (!Number.isSafeInteger(seed)) throw new InvalidArgumentError(op, 'seed', `must be an integer, got ${String(seed)}`);
  const n = samples.length;
  const k = n < 2 ? 0 : Math.min(n - 1, Math.max(1, Math.round(n * fraction)));
  const inVal = new Uint8Array(n);
  const perm = permutation(n, mixSeed(seed, SPLIT_STREAM));
  for (let i = 0; i < k; i++) inVal[perm[i] as number] = 1;
  const train: T[] = [], val: T[] = [];
  samples.forEach((s, i) => (inVal[i] ? val : train).push(s));
  return { train, val };
}
