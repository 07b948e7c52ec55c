/**
 * Checks of scalar options (thresholds, counts, flags), shared by every package: each returns the value
 * (or its default) or throws an {@link InvalidArgumentError} naming the op, the option and what it must be.
 */
import { InvalidArgumentError } from './errors';

/** Bounds and default of {@link numberOption}. */
export interface NumberOptionSpec {
  /** Returned when `value` is `undefined` (not checked). Without it `undefined` is an error. */
  readonly default?: number;
  /** Lowest value allowed (inclusive unless `minExclusive`). */
  readonly min?: number;
  /** Highest value allowed (inclusive). */
  readonly max?: number;
  /** Makes `min` exclusive: `{ min: 0, minExclusive: true }` is "> 0". */
  readonly minExclusive?: boolean;
  /** Accepts `Infinity` and `-Infinity` when they lie within the bounds (e.g. a threshold that keeps everything). */
  readonly allowInfinity?: boolean;
}

/** Bounds and default of {@link integerOption}. */
export interface IntegerOptionSpec {
  /** Returned when `value` is `undefined` (not checked). Without it `undefined` is an error. */
  readonly default?: number;
  /** Lowest value allowed (inclusive). */
  readonly min?: number;
  /** Highest value allowed (inclusive). */
  readonly max?: number;
  /** Accepts `Infinity` (within the bounds) as well, e.g. for "no limit" on a count. */
  readonly allowInfinity?: boolean;
}

/** Default of {@link booleanOption}. */
export interface BooleanOptionSpec {
  /** Returned when `value` is `undefined`. Without it `undefined` is an error. */
  readonly default?: boolean;
}

/** A value as an error message shows it: numbers as JS prints them (NaN, Infinity), strings quoted. */
function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** `in [min, max]` (`(min` when exclusive) with both bounds, `>= min` / `<= max` with one, '' with none. */
function rangeText(min: number | undefined, max: number | undefined, minExclusive: boolean): string {
  if (min !== undefined && max !== undefined) return ` in ${minExclusive ? '(' : '['}${min}, ${max}]`;
  if (min !== undefined) return ` ${minExclusive ? '>' : '>='} ${min}`;
  if (max !== undefined) return ` <= ${max}`;
  return '';
}

/**
 * Checks a numeric option and returns it: a number, not NaN, within `[min, max]` (`(min, max]` with
 * `minExclusive`), and finite unless `allowInfinity`; `undefined` gives `spec.default` when there is one.
 *
 * Otherwise throws an {@link InvalidArgumentError} naming `op` and `argument`, e.g.
 * `nms: 'iouThreshold' must be a number in [0, 1], got 1.5` or
 * `smoothL1Loss: 'beta' must be a finite number >= 0, got Infinity` ("finite" is said where the bounds
 * do not already exclude the infinities).
 *
 * @example
 * const iouThreshold = numberOption('nms', 'iouThreshold', options.iouThreshold, { min: 0, max: 1 });
 * const beta = numberOption('smoothL1Loss', 'beta', options.beta, { default: 1, min: 0 });
 */
export function numberOption(op: string, argument: string, value: unknown, spec: NumberOptionSpec = {}): number {
  if (value === undefined && spec.default !== undefined) return spec.default;
  const { min, max, minExclusive = false, allowInfinity = false } = spec;
  const ok =
    typeof value === 'number' &&
    !Number.isNaN(value) &&
    (allowInfinity || Number.isFinite(value)) &&
    (min === undefined || (minExclusive ? value > min : value >= min)) &&
    (max === undefined || value <= max);
  if (!ok) {
    const bounded = min !== undefined && max !== undefined && Number.isFinite(min) && Number.isFinite(max);
    const finite = allowInfinity || bounded ? '' : 'finite ';
    throw new InvalidArgumentError(op, argument, `must be a ${finite}number${rangeText(min, max, minExclusive)}, got ${describeValue(value)}`);
  }
  return value;
}

/**
 * Checks an integer option and returns it: an integer within `[min, max]`, or `Infinity` (within the
 * bounds) with `allowInfinity`; `undefined` gives `spec.default` when there is one.
 *
 * Otherwise throws an {@link InvalidArgumentError} naming `op` and `argument`, e.g.
 * `proposalLayer: 'postNmsTopN' must be an integer >= 0 or Infinity, got 0.5`.
 *
 * @example
 * const batchSize = integerOption('sampleBalanced', 'batchSize', options.batchSize, { min: 0 });
 * const seed = options.seed === undefined ? undefined : integerOption(op, 'seed', options.seed);
 */
export function integerOption(op: string, argument: string, value: unknown, spec: IntegerOptionSpec = {}): number {
  if (value === undefined && spec.default !== undefined) return spec.default;
  const { min, max, allowInfinity = false } = spec;
  const ok =
    typeof value === 'number' &&
    (Number.isInteger(value) || (allowInfinity && value === Infinity)) &&
    (min === undefined || value >= min) &&
    (max === undefined || value <= max);
  if (!ok) {
    throw new InvalidArgumentError(op, argument, `must be an integer${rangeText(min, max, false)}${allowInfinity ? ' or Infinity' : ''}, got ${describeValue(value)}`);
  }
  return value;
}

/**
 * Checks a boolean option and returns it; `undefined` gives `spec.default` when there is one. Otherwise
 * (`0`, `'true'`, `null`) throws an {@link InvalidArgumentError} naming `op` and `argument`:
 * `generateAnchors: 'round' must be a boolean, got "yes"`.
 *
 * @example
 * const round = booleanOption('generateAnchors', 'round', options.round, { default: true });
 */
export function booleanOption(op: string, argument: string, value: unknown, spec: BooleanOptionSpec = {}): boolean {
  if (value === undefined && spec.default !== undefined) return spec.default;
  if (typeof value !== 'boolean') throw new InvalidArgumentError(op, argument, `must be a boolean, got ${describeValue(value)}`);
  return value;
}
