import { describe, expect, it } from 'vitest';
import { smooth } from './plot';
import { learningRate } from './schedule';

describe('learning-rate schedules', () => {
  it('warms up linearly (times the schedule), then follows cosine to 0', () => {
    const s = { kind: 'cosine' as const, lr: 1, warmupSteps: 4 };
    const cosine = (t: number) => 0.5 * (1 + Math.cos((Math.PI * t) / 100));
    expect([0, 1, 2, 3].map((t) => learningRate(s, t, 100, 10))).toEqual([0.25 * cosine(0), 0.5 * cosine(1), 0.75 * cosine(2), cosine(3)]);
    expect(learningRate(s, 50, 100, 10)).toBeCloseTo(0.5, 12);
    expect(learningRate(s, 100, 100, 10)).toBeCloseTo(0, 12);
  });

  it("'step' divides by 10 at each milestone epoch; 'constant' stays", () => {
    const s = { kind: 'step' as const, lr: 1, warmupSteps: 0, milestones: [2, 3] };
    expect([0, 19, 20, 29, 30].map((t) => learningRate(s, t, 50, 10))).toEqual([1, 1, 0.1, 0.1, 0.1 ** 2]);
    expect(learningRate({ kind: 'constant', lr: 0.3, warmupSteps: 0 }, 999, 10, 1)).toBe(0.3);
  });
});

describe('plot helpers', () => {
  it('smoothing is a trailing mean', () => {
    expect(smooth([[1, 2], [2, 4], [3, 6]], 2)).toEqual([[1, 2], [2, 3], [3, 5]]);
  });
});
