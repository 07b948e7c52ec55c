/** Creating named variables with unique tfjs names (not exported from the package). */
import { InvalidArgumentError, tf } from '@detkit/core';

/** True when some registered tfjs variable is named `${prefix}/...`. */
function prefixTaken(prefix: string): boolean {
  const start = `${prefix}/`;
  return Object.keys(tf.engine().registeredVariables).some((n) => n.startsWith(start));
}

/**
 * A free prefix for a component's variables: `name` when given (an error when taken), else `base`, `base_1`,
 * `base_2`, ... (the heads' convention), so two detectors can live in one process.
 */
export function uniquePrefix(op: string, base: string, name: string | undefined): string {
  if (name !== undefined) {
    if (typeof name !== 'string' || name.length === 0 || name.includes('/')) {
      throw new InvalidArgumentError(op, 'name', `must be a non-empty string without '/', got ${JSON.stringify(name)}`);
    }
    if (prefixTaken(name)) throw new InvalidArgumentError(op, 'name', `'${name}' is taken by other variables (dispose them, or pick another name)`);
    return name;
  }
  let candidate = base;
  for (let i = 1; prefixTaken(candidate); i++) candidate = `${base}_${i}`;
  return candidate;
}

/**
 * The seed of a detector's component number `index` (a backbone conv, a head), from the detector's seed,
 * so that components draw different weights. Never 0: the backbone passes it to tfjs's random initialisers,
 * which treat a seed of 0 as "no seed" (`seed ? seed : Math.random()` in tfjs-core 4.22).
 */
export function componentSeed(seed: number | undefined, index: number): number | undefined {
  if (seed === undefined) return undefined;
  return (((seed >>> 0) * 7919 + index) % 2147483647) + 1;
}
