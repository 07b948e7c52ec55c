/**
 * detkit's typed errors. Every error detkit throws on bad input is a {@link DetkitError} with a stable
 * `code`, so callers can branch on the kind of failure without parsing messages.
 *
 * `DetkitError.isInstance(e)` works across duplicate installs of this package (two copies of
 * `@detkit/core` in one bundle), where `instanceof` would not: it checks a `Symbol.for` marker, the way
 * vercel/ai's `AISDKError` does.
 */

const MARKER = Symbol.for('detkit.error');

/** Machine-readable kind of a {@link DetkitError}. */
export type DetkitErrorCode =
  | 'SHAPE'
  | 'INVALID_VALUE'
  | 'INVALID_ARGUMENT'
  | 'BACKEND_UNAVAILABLE'
  | 'UNSUPPORTED_PLATFORM'
  | 'DATA';

/** Base class of every error detkit throws on purpose. */
export class DetkitError extends Error {
  private readonly [MARKER] = true;
  /** Machine-readable kind of failure. */
  readonly code: DetkitErrorCode;

  constructor(code: DetkitErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DetkitError';
    this.code = code;
  }

  /** True for any detkit error, including ones thrown by another copy of `@detkit/core`. */
  static isInstance(error: unknown): error is DetkitError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[MARKER] === true;
  }
}

/**
 * A tensor argument has the wrong rank or dimensions, e.g. boxes of shape [N, 5] where [N, 4] is required.
 * `expected` is written as a shape pattern (`'[N, 4]'`), `actual` is the shape received.
 */
export class ShapeError extends DetkitError {
  /** Name of the offending argument, as the function's signature spells it. */
  readonly argument: string;
  /** The expected shape pattern, e.g. `'[N, 4]'`. */
  readonly expected: string;
  /** The shape that was passed (for a ragged array: the shape of its first row that differs). */
  readonly actual: readonly number[];
  /** For a ragged array, the row (first-axis index) whose shape differs from row 0's; otherwise -1. */
  readonly index: number;

  /**
   * @param detail - replaces the `got [actual]` part of the message when given (e.g. for a ragged array,
   *   `'a ragged array: row 1 has shape [2], row 0 has [4]'`), with `index` the offending row.
   */
  constructor(op: string, argument: string, expected: string, actual: readonly number[], detail?: { text: string; index: number }) {
    super('SHAPE', `${op}: '${argument}' must have shape ${expected}, got ${detail ? detail.text : `[${actual.join(', ')}]`}`);
    this.name = 'ShapeError';
    this.argument = argument;
    this.expected = expected;
    this.actual = actual;
    this.index = detail ? detail.index : -1;
  }
}

/**
 * A tensor argument holds values the operation cannot accept: NaN or infinite coordinates, boxes with
 * x2 < x1, a negative size. `index` is the flat index of the first offending element, when known.
 */
export class InvalidValueError extends DetkitError {
  /** Name of the offending argument. */
  readonly argument: string;
  /** Row (first-axis index) of the first offending element, or -1 when not known. */
  readonly index: number;

  constructor(op: string, argument: string, problem: string, index = -1) {
    super('INVALID_VALUE', `${op}: '${argument}' ${problem}${index >= 0 ? ` (first at row ${index})` : ''}`);
    this.name = 'InvalidValueError';
    this.argument = argument;
    this.index = index;
  }
}

/** A non-tensor argument is invalid: an unknown box format, a threshold outside [0, 1], a bad option. */
export class InvalidArgumentError extends DetkitError {
  /** Name of the offending argument or option. */
  readonly argument: string;

  constructor(op: string, argument: string, problem: string) {
    super('INVALID_ARGUMENT', `${op}: '${argument}' ${problem}`);
    this.name = 'InvalidArgumentError';
    this.argument = argument;
  }
}

/**
 * A backend could not be activated: unknown name, missing optional dependency, or a load failure.
 * `hint` says what to install or change. The previously active backend stays active.
 */
export class BackendUnavailableError extends DetkitError {
  /** The backend that was asked for. */
  readonly backend: string;
  /** What to do about it, e.g. `npm install @tensorflow/tfjs-node-gpu`. */
  readonly hint: string;

  constructor(backend: string, reason: string, hint: string, options?: { cause?: unknown }) {
    super('BACKEND_UNAVAILABLE', `backend '${backend}' is unavailable: ${reason}. ${hint}`, options);
    this.name = 'BackendUnavailableError';
    this.backend = backend;
    this.hint = hint;
  }
}
