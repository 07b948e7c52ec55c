import { DetkitError } from '@detkit/core';

/** A safetensors file is malformed: bad header length, header not JSON, unknown dtype, data out of bounds. */
export class SafetensorsError extends DetkitError {
  /** The tensor the problem is in, or `''` for the file as a whole (header, length). */
  readonly tensor: string;

  constructor(op: string, tensor: string, problem: string) {
    super('DATA', `${op}: ${tensor ? `tensor '${tensor}' ` : ''}${problem}`);
    this.name = 'SafetensorsError';
    this.tensor = tensor;
  }
}

/** What is wrong with one entry of a state dict, see {@link StateDictError}. */
export type StateDictProblem = 'missing' | 'unexpected' | 'shape' | 'dtype';

/**
 * A state dict does not fit a model: a parameter is missing, unexpected (strict loading), has another
 * shape or an unusable dtype. `parameter` is torchvision's name (`backbone.features.0.0.0.0.weight`);
 * shapes are torchvision's (NCHW: `[out, in, kh, kw]` for a convolution), not the tfjs layout.
 */
export class StateDictError extends DetkitError {
  /** torchvision's name of the parameter or buffer. */
  readonly parameter: string;
  /** What is wrong. */
  readonly problem: StateDictProblem;
  /** The shape the model needs (torch layout), or null for an unexpected entry. */
  readonly expected: readonly number[] | null;
  /** The shape in the state dict, or null for a missing entry. */
  readonly actual: readonly number[] | null;

  constructor(op: string, parameter: string, problem: StateDictProblem, expected: readonly number[] | null, actual: readonly number[] | null, detail = '') {
    const shape = (s: readonly number[] | null) => (s === null ? 'none' : `[${s.join(', ')}]`);
    const text: Record<StateDictProblem, string> = {
      missing: `is missing from the state dict (expected shape ${shape(expected)})`,
      unexpected: `is not a parameter of this model (shape ${shape(actual)}); pass { strict: false } to ignore it`,
      shape: `must have shape ${shape(expected)}, got ${shape(actual)}`,
      dtype: `has an unusable dtype: ${detail}`,
    };
    super(problem === 'shape' ? 'SHAPE' : 'DATA', `${op}: parameter '${parameter}' ${text[problem]}`);
    this.name = 'StateDictError';
    this.parameter = parameter;
    this.problem = problem;
    this.expected = expected;
    this.actual = actual;
  }
}
