// assignBestPriors: SSD's greedy one-prior-per-box assignment. Expected values worked by hand below.
import { describe, expect, it } from 'vitest';
import { assignBestPriors } from './assign-best-priors';

/**
 * Runs it on a row-major [M, N] IoU matrix, with rowMax / rowArg as the kernels compute them (the first
 * maximum); returns the assignment and the rows it asked for.
 */
function assign(q: number[][]): { priors: number[]; asked: number[] } {
  const n = q[0]?.length ?? 0;
  const rowMax = Float32Array.from(q, (r) => Math.max(0, ...r));
  const rowArg = Int32Array.from(q, (r) => r.indexOf(Math.max(...r)));
  const asked: number[] = [];
  const out = assignBestPriors(rowMax, rowArg, n, (i) => (asked.push(i), Float32Array.from(q[i]!)));
  return { priors: Array.from(out), asked };
}

describe('assignBestPriors', () => {
  it("gives each box its best prior when they differ, -1 to a box that overlaps nothing", () => {
    // No two boxes share a best prior: no row is read.
    expect(assign([[0.1, 0.6, 0], [0, 0, 0], [0.7, 0.2, 0.3]])).toEqual({ priors: [1, -1, 0], asked: [] });
  });

  it('gives a shared best prior to the box with the higher IoU; the other takes its best unclaimed prior', () => {
    // Both boxes' best prior is 0; box 1 (0.8) keeps it, box 0 (0.6) takes prior 2 (0.5 > 0.4).
    expect(assign([[0.6, 0.4, 0.5], [0.8, 0.1, 0.2]])).toEqual({ priors: [2, 0], asked: [0] });
  });

  it('chains: the box that loses a prior can take one another box wanted next', () => {
    // Best priors 0, 0, 1. Box 1 (0.9) takes 0; box 0 re-picks among 1, 2: prior 1 (0.7). Next pick: box 0
    // (0.7) vs box 2 (0.6), both wanting prior 1: box 0 takes it; box 2 re-picks among 2: 0.1.
    expect(assign([[0.8, 0.7, 0.1], [0.9, 0, 0], [0, 0.6, 0.1]]).priors).toEqual([1, 0, 2]);
  });

  it('leaves -1 when no unclaimed prior overlaps, and writes into the array given', () => {
    const into = new Int32Array(2).fill(7);
    const out = assignBestPriors(Float32Array.of(0.5, 0.4), Int32Array.of(0, 0), 2, (i) => [[0.5, 0], [0.4, 0]][i]!, into);
    expect(out).toBe(into);
    expect(Array.from(out)).toEqual([0, -1]);
  });
});
