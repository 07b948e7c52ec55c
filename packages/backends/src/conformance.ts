/**
 * The cross-backend conformance suite's machinery (tfjs's `describeWithFlags(..., ALL_ENVS)` idea): a
 * case is an op on fixed inputs; {@link evaluateCase} runs it on the active backend, forward and
 * gradient, and {@link compareCaseResults} checks one backend's result against the oracle's (the cpu
 * backend). Packages add cases as plain objects; the suite runs every case on every present backend
 * (cpu and wasm in Node, webgl and webgpu in headless Chromium).
 */
import { createRandom, tf } from '@detkit/core';

/** A tensor given by its values, made afresh on each backend under test. */
export interface HostTensor {
  values: ArrayLike<number>;
  shape: number[];
  /** Default 'float32'. */
  dtype?: 'float32' | 'int32';
}

/** One conformance case: an op applied to fixed inputs. */
export interface ConformanceCase {
  /** Unique, `<package>/<op> <variant>`, e.g. `'tfjs/conv2d stride 2 same'`. */
  name: string;
  /** The inputs, in the order `run` takes them. */
  inputs: HostTensor[];
  /** The op: tensors in (on the active backend), tensor or tensors out. Runs inside `tf.tidy`. */
  run: (...inputs: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
  /**
   * Indices of the (float32) inputs to differentiate with respect to. The gradient taken is that of
   * sum_i sum(output_i * w_i) with fixed pseudo-random weights w_i, so every output element counts.
   * Omit for ops without a gradient (indices, NMS).
   */
  grad?: number[];
  /** Allowed difference, relative to max(1, |oracle value|). Default {@link DEFAULT_TOLERANCE}. */
  tolerance?: number;
  /**
   * False for ops that are not smooth at the inputs' scale (ReLU kinks at a perturbation's distance,
   * max-pool ties), where a finite-difference check of the oracle's own gradient is meaningless.
   * Default true.
   */
  smooth?: boolean;
}

/** The project's cross-backend bar: 1e-4, relative to max(1, |oracle value|). */
export const DEFAULT_TOLERANCE = 1e-4;

/** An output or gradient, read back to the host. */
export interface HostResult {
  shape: number[];
  dtype: string;
  values: number[];
}

/** What {@link evaluateCase} measured on one backend. */
export interface CaseResult {
  backend: string;
  outputs: HostResult[];
  /** One per index of `grad`, in that order. */
  grads: HostResult[];
  /** Tensors left behind by the forward pass and the gradient (must be 0). */
  leaked: number;
  /** The error the op threw, if any. */
  error?: string;
}

function hashName(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Fixed weights in [-1, 1) for output `i` of `c`, the same on every backend. */
function lossWeights(c: ConformanceCase, i: number, size: number): Float32Array {
  const rand = createRandom(hashName(c.name) + i);
  const w = new Float32Array(size);
  for (let k = 0; k < size; k++) w[k] = 2 * rand() - 1;
  return w;
}

function makeInputs(c: ConformanceCase): tf.Tensor[] {
  return c.inputs.map((h) => tf.tensor(Array.from(h.values), h.shape, h.dtype ?? 'float32'));
}

function asList(out: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
  return Array.isArray(out) ? out : [out];
}

/** The scalar whose gradient the suite checks: sum_i sum(output_i * w_i) over float outputs. */
function weightedLoss(c: ConformanceCase, outputs: tf.Tensor[]): tf.Scalar {
  const terms = outputs
    .map((o, i) => (o.dtype === 'float32' && o.size > 0 ? tf.sum(tf.mul(o, tf.tensor(lossWeights(c, i, o.size), o.shape))) : null))
    .filter((t): t is tf.Scalar => t !== null);
  return (terms.length === 0 ? tf.scalar(0) : tf.addN(terms)) as tf.Scalar;
}

async function toHost(t: tf.Tensor): Promise<HostResult> {
  return { shape: [...t.shape], dtype: t.dtype, values: Array.from(await t.data()) };
}

/**
 * Runs `c` on the active backend: the forward pass and, when `c.grad` is set, the gradient of the
 * weighted loss with respect to those inputs. Counts tensors left behind. Never throws: an op's error
 * is returned in `error`.
 */
export async function evaluateCase(c: ConformanceCase): Promise<CaseResult> {
  const backend = tf.getBackend();
  const before = tf.memory().numTensors;
  const result: CaseResult = { backend, outputs: [], grads: [], leaked: 0 };
  const inputs = makeInputs(c);
  try {
    const outputs = tf.tidy(() => asList(c.run(...inputs)));
    result.outputs = await Promise.all(outputs.map(toHost));
    tf.dispose(outputs);
    if (c.grad !== undefined && c.grad.length > 0) {
      const wrt = c.grad.map((i) => inputs[i] as tf.Tensor);
      const grads = tf.tidy(() =>
        tf.grads((...xs: tf.Tensor[]) => {
          const all = inputs.map((t, i) => {
            const k = c.grad!.indexOf(i);
            return k >= 0 ? (xs[k] as tf.Tensor) : t;
          });
          return weightedLoss(c, asList(c.run(...all)));
        })(wrt),
      );
      result.grads = await Promise.all(grads.map(toHost));
      tf.dispose(grads);
    }
  } catch (error) {
    result.error = String((error as Error)?.stack ?? error);
  } finally {
    tf.dispose(inputs);
  }
  result.leaked = tf.memory().numTensors - before;
  return result;
}

function compareHost(what: string, actual: HostResult, oracle: HostResult, tolerance: number, problems: string[]): void {
  if (actual.shape.join() !== oracle.shape.join()) {
    problems.push(`${what}: shape [${actual.shape}] vs oracle [${oracle.shape}]`);
    return;
  }
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < oracle.values.length; i++) {
    const want = oracle.values[i] as number;
    const got = actual.values[i] as number;
    const same = Number.isNaN(want) ? Number.isNaN(got) : Math.abs(got - want) <= tolerance * Math.max(1, Math.abs(want));
    if (!same) {
      const excess = Number.isNaN(got - want) ? Infinity : Math.abs(got - want) - tolerance * Math.max(1, Math.abs(want));
      if (worst < 0 || excess > worstExcess) {
        worst = i;
        worstExcess = excess;
      }
    }
  }
  if (worst >= 0) {
    problems.push(`${what}: element ${worst} is ${actual.values[worst]}, oracle ${oracle.values[worst]} (tolerance ${tolerance} x max(1, |oracle|))`);
  }
}

/**
 * Differences between a backend's result and the oracle's, as readable lines (empty: conformant).
 * Checks errors, leaks, output and gradient shapes, and values within the case's tolerance.
 */
export function compareCaseResults(c: ConformanceCase, actual: CaseResult, oracle: CaseResult): string[] {
  const problems: string[] = [];
  if (oracle.error !== undefined) problems.push(`oracle (${oracle.backend}) failed: ${oracle.error.split('\n')[0]}`);
  if (actual.error !== undefined) problems.push(`${actual.backend} failed: ${actual.error.split('\n').slice(0, 3).join(' | ')}`);
  if (actual.leaked !== 0) problems.push(`${actual.backend} left ${actual.leaked} tensor(s) behind`);
  if (problems.length > 0) return problems;
  const tolerance = c.tolerance ?? DEFAULT_TOLERANCE;
  if (actual.outputs.length !== oracle.outputs.length) problems.push(`${actual.outputs.length} outputs vs oracle ${oracle.outputs.length}`);
  oracle.outputs.forEach((o, i) => actual.outputs[i] && compareHost(`output ${i}`, actual.outputs[i]!, o, tolerance, problems));
  oracle.grads.forEach((g, i) => {
    const got = actual.grads[i];
    if (got === undefined) problems.push(`gradient ${i} missing`);
    else compareHost(`gradient wrt input ${c.grad![i]}`, got, g, tolerance, problems);
  });
  return problems;
}

/**
 * Central finite differences of the case's weighted loss with respect to input `c.grad[k]`, on the
 * active backend (float32, step `h` scaled by each value's magnitude): an independent check of the
 * oracle's analytic gradients. Runs the op twice per element: keep such inputs small.
 */
export async function numericGradients(c: ConformanceCase, h = 1e-2): Promise<HostResult[]> {
  const out: HostResult[] = [];
  for (const index of c.grad ?? []) {
    const base = c.inputs[index] as HostTensor;
    const values = Float32Array.from(base.values);
    const grad: number[] = [];
    const lossAt = async (vals: Float32Array): Promise<number> => {
      const inputs = makeInputs(c);
      inputs[index]!.dispose();
      inputs[index] = tf.tensor(vals, base.shape);
      const loss = tf.tidy(() => weightedLoss(c, asList(c.run(...inputs))));
      const v = (await loss.data())[0] as number;
      tf.dispose([loss, ...inputs]);
      return v;
    };
    for (let i = 0; i < values.length; i++) {
      const x = values[i] as number;
      const step = h * Math.max(1, Math.abs(x));
      const plus = Float32Array.from(values);
      plus[i] = x + step;
      const minus = Float32Array.from(values);
      minus[i] = x - step;
      grad.push(((await lossAt(plus)) - (await lossAt(minus))) / (Math.fround(x + step) - Math.fround(x - step)));
    }
    out.push({ shape: [...base.shape], dtype: 'float32', values: grad });
  }
  return out;
}
