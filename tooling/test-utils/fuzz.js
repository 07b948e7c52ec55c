// Shared fuzz machinery (issue 15): hostile inputs for detkit's public ops, and the one outcome every op
// must have on them: a typed DetkitError, or a finite result (values and, for differentiable ops,
// gradients) with no tensor left behind, within a per-case time limit. Plain JS (with JSDoc types and
// fuzz.d.ts) so packages use it without a build step.
//
// Inputs are generated as *specs* (plain data) and turned into tensors inside each case, so fast-check can
// print and shrink a counterexample and every tensor a case makes is disposed by the case.
import { DetkitError, tf } from '@detkit/core';
import fc from 'fast-check';
import { expect } from 'vitest';

/**
 * The longest a single case may run, in ms: a guard against hangs (the inputs are small, so any real case
 * takes milliseconds; issue 15's hangs ran for minutes or forever), not a speed assertion.
 */
export const FUZZ_CASE_LIMIT_MS = 10_000;

/** Runs per property: DETKIT_FUZZ_RUNS overrides the default (sized so the fuzz suites stay quick in CI). */
export function fuzzRuns(fallback = 60) {
  const env = Number(process.env.DETKIT_FUZZ_RUNS);
  return Number.isInteger(env) && env > 0 ? env : fallback;
}

/** Seed of every property: fixed (CI is reproducible) unless DETKIT_FUZZ_SEED is set. */
export function fuzzSeed() {
  const env = Number(process.env.DETKIT_FUZZ_SEED);
  return Number.isInteger(env) ? env : 15;
}

/** Numbers a hostile caller passes: NaN, infinities, huge, tiny and negative values, non-integers. */
export const NASTY_NUMBERS = [NaN, Infinity, -Infinity, 3.4e38, -3.4e38, 1e38, 1e30, 1e20, 1e16, 1e15, -1e15, 1e-30, 1e-38, 1e-45, -0, 0.5, 0.7, -1, -3, 5, 2 ** 31, 1e6];

/**
 * A number: mostly ordinary (in [min, max]), sometimes one of {@link NASTY_NUMBERS}.
 * @param {{ min?: number, max?: number, nasty?: number }} [o] nasty: weight of the nasty values (default 1 in 5)
 */
export function number(o = {}) {
  const { min = -10, max = 100, nasty = 1 } = o;
  return fc.oneof(
    { weight: 3, arbitrary: fc.double({ min, max, noNaN: true }).map(Math.fround) },
    { weight: 1, arbitrary: fc.integer({ min: Math.ceil(min), max: Math.floor(max) }) },
    { weight: nasty, arbitrary: fc.constantFrom(...NASTY_NUMBERS) },
  );
}

/** Builds a nested array of `shape` from `values` (row-major). */
function nest(values, shape) {
  if (shape.length === 0) return values[0];
  if (shape.length === 1) return values.slice(0, shape[0]);
  const inner = shape.slice(1).reduce((a, b) => a * b, 1);
  return Array.from({ length: shape[0] }, (_, i) => nest(values.slice(i * inner, (i + 1) * inner), shape.slice(1)));
}

/**
 * A tensor argument of the documented `shape` (a list of dimensions; a number is fixed, an arbitrary is
 * drawn) with values from `values`, as a spec. It comes as a float32 or int32 tensor, or a nested JS
 * array, and now and then as something broken: a ragged array, the wrong rank, a plain `[]`, a bool or
 * string tensor, or not an array at all.
 * @param {Array<number | fc.Arbitrary<number>>} shape
 * @param {fc.Arbitrary<number>} [values]
 * @param {{ dtype?: 'float32' | 'int32', broken?: number }} [o] dtype: the documented dtype (default float32);
 *   broken: weight of the broken forms (default 1 in 8)
 */
export function tensor(shape, values = number(), o = {}) {
  const { dtype = 'float32', broken = 1 } = o;
  const dims = fc.tuple(...shape.map((d) => (typeof d === 'number' ? fc.constant(d) : d)));
  const good = dims.chain((s) => {
    const size = s.reduce((a, b) => a * b, 1);
    return fc.record({
      form: fc.constantFrom('tensor', 'tensor', 'array', dtype === 'float32' ? 'int32' : 'float32'),
      shape: fc.constant(s),
      values: fc.array(values, { minLength: size, maxLength: size }),
    }).map((r) => ({ kind: r.form === 'array' ? 'array' : 'tensor', dtype: r.form === 'tensor' ? dtype : r.form === 'array' ? dtype : r.form, shape: r.shape, values: r.values }));
  });
  const row = fc.array(values, { minLength: 1, maxLength: 6 });
  const bad = fc.oneof(
    // ragged: rows of different lengths
    fc.tuple(row, row).filter(([a, b]) => a.length !== b.length).map(([a, b]) => ({ kind: 'raw', value: [a, b] })),
    // wrong rank
    dims.chain((s) => fc.array(values, { minLength: 1, maxLength: 8 }).map((v) => ({ kind: 'tensor', dtype, shape: s.length === 1 ? [v.length, 1] : [v.length], values: v }))),
    fc.constant({ kind: 'raw', value: [] }),
    dims.map((s) => ({ kind: 'tensor', dtype: 'bool', shape: s, values: new Array(s.reduce((a, b) => a * b, 1)).fill(1) })),
    fc.constant({ kind: 'tensor', dtype: 'string', shape: [1], values: ['a'] }),
    fc.constantFrom({ kind: 'raw', value: null }, { kind: 'raw', value: undefined }, { kind: 'raw', value: 'boxes' }, { kind: 'raw', value: {} }, { kind: 'raw', value: 3 }, { kind: 'raw', value: [[1, 'x']] }),
  );
  return fc.oneof({ weight: 8, arbitrary: good }, { weight: broken, arbitrary: bad });
}

/**
 * [N, 4] xyxy boxes (N drawn in [0, maxN]), mostly valid (x2 >= x1, y2 >= y1, coordinates in [-50, 300]),
 * sometimes with nasty coordinates or swapped corners, as {@link tensor}'s specs.
 * @param {number} maxN
 * @param {{ broken?: number, n?: fc.Arbitrary<number> }} [o]
 */
export function boxes(maxN, o = {}) {
  const n = o.n ?? fc.integer({ min: 0, max: maxN });
  const box = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(fc.double({ min: -50, max: 250, noNaN: true }), fc.double({ min: -50, max: 250, noNaN: true }), fc.double({ min: 0, max: 80, noNaN: true }), fc.double({ min: 0, max: 80, noNaN: true })).map(([x, y, w, h]) => [x, y, x + w, y + h].map(Math.fround)) },
    { weight: 1, arbitrary: fc.tuple(number(), number(), number(), number()) },
  );
  return n.chain((count) =>
    fc.oneof(
      { weight: 8, arbitrary: fc.array(box, { minLength: count, maxLength: count }).chain((rows) => fc.constantFrom('tensor', 'tensor', 'array').map((kind) => ({ kind, dtype: 'float32', shape: [count, 4], values: rows.flat() }))) },
      { weight: o.broken ?? 1, arbitrary: tensor([count, 4]) },
    ),
  );
}

/**
 * Integer labels or indices [N] in [min, max], sometimes non-integers, NaN or out of range.
 * @param {number | fc.Arbitrary<number>} n
 * @param {number} min
 * @param {number} max
 */
export function integers(n, min, max) {
  return tensor([n], fc.oneof({ weight: 8, arbitrary: fc.integer({ min, max }) }, { weight: 1, arbitrary: fc.constantFrom(NaN, 0.7, -1, max + 1, 1e10, Infinity) }), { dtype: 'int32' });
}

/**
 * An option value: mostly from `good`, sometimes a nasty number, a wrong type or undefined.
 * @param {fc.Arbitrary<unknown>} good
 */
export function option(good) {
  return fc.oneof(
    { weight: 6, arbitrary: good },
    { weight: 1, arbitrary: fc.constantFrom(undefined, null, NaN, Infinity, -1, 0, 0.5, 1e9, 1e30, -1e30, 'x', true, [1], {}) },
  );
}

/** Turns a spec into the argument it describes (tensors are created; call inside a case). */
export function materialize(spec) {
  if (Array.isArray(spec)) return spec.map(materialize); // a list of tensor arguments (or plain values)
  if (spec === null || typeof spec !== 'object') return spec;
  // An inputs object ({ objectness, deltas, ... }): its tensor specs are made, other fields kept.
  if (!('kind' in spec)) return Object.fromEntries(Object.entries(spec).map(([k, v]) => [k, materialize(v)]));
  if (spec.kind === 'raw') return spec.value;
  // A JS array keeps its values as drawn (0.7 or NaN where integers are documented); an int32 tensor
  // cannot hold them, so they are truncated as tfjs would.
  if (spec.kind === 'array') return nest(spec.values, spec.shape);
  const values = spec.dtype === 'int32' ? spec.values.map((v) => (Number.isFinite(v) ? Math.trunc(v) | 0 : 0)) : spec.values;
  if (spec.dtype === 'string') return tf.tensor(values, spec.shape, 'string');
  if (spec.dtype === 'bool') return tf.tensor(values.map(Boolean), spec.shape, 'bool');
  return tf.tensor(values, spec.shape, spec.dtype);
}

function collect(x, out = []) {
  if (x instanceof tf.Tensor) out.push(x);
  else if (Array.isArray(x)) x.forEach((v) => collect(v, out));
  else if (x && typeof x === 'object' && !ArrayBuffer.isView(x)) Object.values(x).forEach((v) => collect(v, out));
  return out;
}

/** Every number in a result (tensors, typed arrays, nested objects), with its path, that is NaN. */
function firstNaN(x, path = 'result') {
  if (x instanceof tf.Tensor) {
    if (x.isDisposed || x.dtype === 'string') return null;
    const v = x.dataSync();
    for (let i = 0; i < v.length; i++) if (Number.isNaN(v[i]) || (x.dtype === 'float32' && !Number.isFinite(v[i]))) return `${path}[${i}] = ${v[i]}`;
    return null;
  }
  if (typeof x === 'number') return Number.isFinite(x) ? null : `${path} = ${x}`;
  if (ArrayBuffer.isView(x)) {
    for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return `${path}[${i}] = ${x[i]}`;
    return null;
  }
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) {
      const r = firstNaN(x[i], `${path}[${i}]`);
      if (r) return r;
    }
    return null;
  }
  if (x && typeof x === 'object') {
    for (const [k, v] of Object.entries(x)) {
      const r = firstNaN(v, `${path}.${k}`);
      if (r) return r;
    }
  }
  return null;
}

/** Sum of every float tensor in a result, as a scalar, for a gradient. */
function scalarOf(x) {
  const ts = collect(x).filter((t) => t.dtype === 'float32');
  return ts.reduce((acc, t) => tf.add(acc, tf.sum(t)), tf.scalar(0));
}

/**
 * Runs one fuzz case: materializes `specs`, calls `op(...args)` and checks the outcome. A thrown error
 * must be a DetkitError; a result must hold no NaN or infinite float (and pass `check`), the gradients
 * with respect to the arguments listed in `grad` (those that are float32 tensors) likewise; every tensor
 * the case made is gone afterwards; the case takes less than {@link FUZZ_CASE_LIMIT_MS}.
 * @param {(...args: any[]) => unknown} op
 * @param {unknown[]} specs
 * @param {{ grad?: number[], check?: (result: any, args: any[]) => void, label?: string }} [o]
 */
export function fuzzCase(op, specs, o = {}) {
  const start = Date.now();
  const before = tf.memory().numTensors;
  const args = specs.map(materialize);
  let result;
  let threw = false;
  try {
    try {
      result = op(...args);
    } catch (e) {
      threw = true;
      if (!DetkitError.isInstance(e)) throw new Error(`${o.label ?? 'op'} threw a ${e?.name ?? typeof e}, not a DetkitError: ${e?.message ?? String(e)}`, { cause: e });
    }
    if (!threw) {
      const nan = firstNaN(result);
      if (nan) throw new Error(`${o.label ?? 'op'} returned a non-finite value: ${nan}`);
      o.check?.(result, args);
      tf.dispose(collect(result));
      const wrt = (o.grad ?? []).filter((i) => args[i] instanceof tf.Tensor && args[i].dtype === 'float32');
      if (wrt.length > 0) {
        const grads = tf.tidy(() =>
          tf.grads((...xs) => {
            const call = [...args];
            wrt.forEach((i, k) => (call[i] = xs[k]));
            return scalarOf(op(...call));
          })(wrt.map((i) => args[i])),
        );
        const bad = firstNaN(grads, 'gradient');
        tf.dispose(grads);
        if (bad) throw new Error(`${o.label ?? 'op'} has a non-finite gradient: ${bad}`);
      }
    }
  } finally {
    tf.dispose(collect(args));
  }
  expect(tf.memory().numTensors, `${o.label ?? 'op'}: tensors left behind`).toBe(before);
  const elapsed = Date.now() - start;
  expect(elapsed, `${o.label ?? 'op'}: one case ran ${elapsed} ms (hang guard)`).toBeLessThan(FUZZ_CASE_LIMIT_MS);
}

/**
 * fast-check assertion of {@link fuzzCase} over arbitrary argument specs.
 * @param {string} label the op's name, for messages
 * @param {fc.Arbitrary<unknown[]>} args specs of the op's arguments
 * @param {(...args: any[]) => unknown} op
 * @param {{ grad?: number[], check?: (result: any, args: any[]) => void, numRuns?: number }} [o]
 */
export function fuzz(label, args, op, o = {}) {
  fc.assert(
    fc.property(args, (specs) => fuzzCase(op, specs, { ...o, label })),
    { numRuns: o.numRuns ?? fuzzRuns(), seed: fuzzSeed() },
  );
}
