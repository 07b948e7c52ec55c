/**
 * The machinery of the detectors' typed recipes (not exported from the package): option groups whose
 * every field is checked, unknown keys rejected by their path (`rpn.matcher.highTreshold`), defaults filled
 * in, and the rows `describeRecipe` prints.
 */
import { InvalidArgumentError } from '@detkit/core';

/** One recipe field: its check, and the words of the README table and of `describeRecipe`. */
export interface Field<T = unknown> {
  /** Checks a value given for the field (never called for the default) and returns it. */
  readonly check: (op: string, path: string, value: unknown) => T;
  /** What the field does, one line. */
  readonly doc: string;
  /** The default, and the named constant it comes from. */
  readonly defaultDoc: string;
  /** The torchvision 0.14 keyword argument (or place) it matches, `'-'` where torchvision has none. */
  readonly torchvision: string;
}

/** A group of fields and sub-groups, keyed as in the options object. */
export interface Group {
  readonly [key: string]: Field | Group;
}

/** A field of a resolved recipe, as {@link listFields} returns it. */
export interface RecipeField {
  /** Dotted key path, e.g. `'rpn.matcher.highThreshold'`. */
  path: string;
  /** The resolved value (`undefined` where an optional field is unset). */
  value: unknown;
  /** The default and where it comes from. */
  default: string;
  /** The torchvision 0.14 argument it matches, `'-'` where none. */
  torchvision: string;
  /** What it does. */
  description: string;
}

export function field<T>(check: Field<T>['check'], doc: string, defaultDoc: string, torchvision: string): Field<T> {
  return { check, doc, defaultDoc, torchvision };
}

function isField(x: Field | Group): x is Field {
  return typeof (x as Field).check === 'function';
}

/** `parent.key`, or `key` at the top. */
export function keyPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

/** Rejects every key of `given` that is not in `allowed`, naming its path and the keys allowed there. */
export function rejectUnknownKeys(op: string, path: string, given: object, allowed: readonly string[]): void {
  for (const key of Object.keys(given)) {
    if (!allowed.includes(key)) {
      throw new InvalidArgumentError(op, keyPath(path, key), `is not an option${path === '' ? '' : ` of '${path}'`} (the options are: ${allowed.join(', ')})`);
    }
  }
}

/**
 * A group's resolved values: each given field checked, each missing one taken from `defaults` (copied;
 * a default of `undefined` leaves an optional field out), unknown keys rejected.
 */
export function resolveGroup(op: string, group: Group, defaults: Readonly<Record<string, unknown>>, given: unknown, path: string): Record<string, unknown> {
  const values = given ?? {};
  if (!isPlainObject(values)) throw new InvalidArgumentError(op, path, `must be an object, got ${JSON.stringify(given)}`);
  rejectUnknownKeys(op, path, values, Object.keys(group));
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(group)) {
    const p = keyPath(path, key);
    if (isField(spec)) {
      const value = values[key] === undefined ? defaults[key] : spec.check(op, p, values[key]);
      if (value !== undefined) out[key] = structuredClone(value);
    } else {
      out[key] = resolveGroup(op, spec, (defaults[key] ?? {}) as Record<string, unknown>, values[key], p);
    }
  }
  return out;
}

/** The rows of a resolved recipe, depth first in the group's order. */
export function listFields(group: Group, values: Readonly<Record<string, unknown>> | undefined, path = ''): RecipeField[] {
  return Object.entries(group).flatMap(([key, spec]) => {
    const p = keyPath(path, key);
    const value = values?.[key];
    if (!isField(spec)) return listFields(spec, value as Record<string, unknown> | undefined, p);
    return [{ path: p, value, default: spec.defaultDoc, torchvision: spec.torchvision, description: spec.doc }];
  });
}

/**
 * Runs `make` (a package's factory that checks its own options) and re-throws its InvalidArgumentError as
 * one of `op` naming the recipe path (`rpn.matcher.lowThreshold must be <= highThreshold ...`).
 */
export function underPath<T>(op: string, path: string, make: () => T): T {
  try {
    return make();
  } catch (e) {
    if (!(e instanceof InvalidArgumentError)) throw e;
    const marker = `'${e.argument}' `;
    const at = e.message.indexOf(marker);
    throw new InvalidArgumentError(op, keyPath(path, e.argument), at < 0 ? e.message : e.message.slice(at + marker.length));
  }
}

// Leaf checks.

/** A finite number in [min, max]; `open` excludes the bound it names. */
export function numberIn(min: number, max: number, open?: 'min' | 'max'): Field['check'] {
  return (op, path, v) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v > max || v < min || (open === 'min' && v === min) || (open === 'max' && v === max)) {
      const range = max === Number.MAX_VALUE ? `${open === 'min' ? '>' : '>='} ${min}` : `in ${open === 'min' ? '(' : '['}${min}, ${max}${open === 'max' ? ')' : ']'}`;
      throw new InvalidArgumentError(op, path, `must be a finite number ${range}, got ${JSON.stringify(v)}`);
    }
    return v;
  };
}

/** An integer >= min. */
export function integerFrom(min: number): Field['check'] {
  return (op, path, v) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new InvalidArgumentError(op, path, `must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return v;
  };
}

/** One of `values`. */
export function oneOf(values: readonly string[]): Field['check'] {
  return (op, path, v) => {
    if (typeof v !== 'string' || !values.includes(v)) throw new InvalidArgumentError(op, path, `must be one of ${values.map((x) => `'${x}'`).join(', ')}, got ${JSON.stringify(v)}`);
    return v;
  };
}

export const booleanValue: Field['check'] = (op, path, v) => {
  if (typeof v !== 'boolean') throw new InvalidArgumentError(op, path, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
};

/** A non-empty list of finite numbers > 0, of `length` when given. */
export function positiveList(length?: number): Field['check'] {
  return (op, path, v) => {
    const ok = Array.isArray(v) && v.length > 0 && (length === undefined || v.length === length) && v.every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0);
    if (!ok) throw new InvalidArgumentError(op, path, `must be a list of ${length ?? 'one or more'} finite numbers > 0, got ${JSON.stringify(v)}`);
    return [...(v as number[])];
  };
}

/** Box-coder weights (wx, wy, ww, wh): four finite numbers > 0. */
export const boxCoderWeights = positiveList(4);

/** Formats a value for `describeRecipe`. */
export function formatValue(v: unknown): string {
  if (v === undefined) return '(none)';
  if (Array.isArray(v)) return `[${v.map(formatValue).join(', ')}]`;
  return String(v);
}
