import type fc from 'fast-check';

/** A generated argument: a tensor, a nested JS array or a raw value, created inside each case. */
export type FuzzSpec =
  | { kind: 'tensor'; dtype: 'float32' | 'int32' | 'bool' | 'string'; shape: number[]; values: unknown[] }
  | { kind: 'array'; dtype: 'float32' | 'int32'; shape: number[]; values: number[] }
  | { kind: 'raw'; value: unknown };

/** The longest one fuzz case may run, in ms (a hang guard, not a speed assertion). */
export declare const FUZZ_CASE_LIMIT_MS: number;
/** Runs per property: DETKIT_FUZZ_RUNS, or `fallback` (60). */
export declare function fuzzRuns(fallback?: number): number;
/** Seed of every property: DETKIT_FUZZ_SEED, or a fixed one. */
export declare function fuzzSeed(): number;
/** NaN, infinities, huge, tiny and negative values, non-integers. */
export declare const NASTY_NUMBERS: number[];
/** A number, mostly in [min, max], sometimes one of NASTY_NUMBERS. */
export declare function number(o?: { min?: number; max?: number; nasty?: number }): fc.Arbitrary<number>;
/** A tensor argument of `shape`, as a tensor or array, sometimes broken (ragged, wrong rank, `[]`, wrong dtype). */
export declare function tensor(
  shape: Array<number | fc.Arbitrary<number>>,
  values?: fc.Arbitrary<number>,
  o?: { dtype?: 'float32' | 'int32'; broken?: number },
): fc.Arbitrary<FuzzSpec>;
/** [N, 4] xyxy boxes, mostly valid, N in [0, maxN]. */
export declare function boxes(maxN: number, o?: { broken?: number; n?: fc.Arbitrary<number> }): fc.Arbitrary<FuzzSpec>;
/** Integers [n] in [min, max], sometimes non-integers, NaN or out of range. */
export declare function integers(n: number | fc.Arbitrary<number>, min: number, max: number): fc.Arbitrary<FuzzSpec>;
/** An option: mostly `good`, sometimes a nasty number, a wrong type or undefined. */
export declare function option<T>(good: fc.Arbitrary<T>): fc.Arbitrary<T | unknown>;
/** The argument a spec describes (tensors are created). */
export declare function materialize(spec: unknown): unknown;
/** One case: a DetkitError, or a finite result and gradients, no leak, under the time limit. */
export declare function fuzzCase(op: (...args: any[]) => unknown, specs: unknown[], o?: { grad?: number[]; check?: (result: any, args: any[]) => void; label?: string }): void;
/** fast-check assertion of fuzzCase over argument specs. */
export declare function fuzz(
  label: string,
  args: fc.Arbitrary<unknown[]>,
  op: (...args: any[]) => unknown,
  o?: { grad?: number[]; check?: (result: any, args: any[]) => void; numRuns?: number },
): void;
