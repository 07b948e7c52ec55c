// The conformance suite in Node: every case on wasm against the cpu oracle (forward and gradient, within
// each case's tolerance, no leaks), and the cpu oracle's own gradients against finite differences.
// webgl and webgpu run the same cases in headless Chromium (browser.test.ts).
import { describe, expect, it } from 'vitest';
import { useBackend } from '../src/index';
import { compareCaseResults, evaluateCase, numericGradients, type CaseResult } from '../src/conformance';
import { ALL_CASES } from './conformance/index';

/** Finite differences in float32: a looser bar than the 1e-4 between backends. */
const NUMERIC_TOLERANCE = 2e-2;

describe('conformance: case list', () => {
  it('has unique case names', () => {
    const names = ALL_CASES.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('conformance [cpu]: the oracle', () => {
  for (const c of ALL_CASES) {
    it(c.name, async () => {
      await useBackend('cpu');
      const result = await evaluateCase(c);
      expect(result.error).toBeUndefined();
      expect(result.leaked, 'tensors left behind').toBe(0);
      if (c.grad === undefined || c.smooth === false) return;
      const numeric = await numericGradients(c);
      const self: CaseResult = { ...result, grads: numeric, backend: 'finite differences' };
      const problems = compareCaseResults({ ...c, tolerance: NUMERIC_TOLERANCE }, result, self);
      expect(problems, 'analytic vs finite-difference gradient').toEqual([]);
    });
  }
});

describe('conformance [wasm] against cpu', () => {
  for (const c of ALL_CASES) {
    it(c.name, async () => {
      await useBackend('cpu');
      const oracle = await evaluateCase(c);
      await useBackend('wasm');
      const result = await evaluateCase(c);
      expect(compareCaseResults(c, result, oracle)).toEqual([]);
    });
  }
});
