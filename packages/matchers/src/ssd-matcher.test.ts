import { InvalidArgumentError, ShapeError, tf } from '@detkit/core';
import { describeEachBackend, expectNoLeaks } from '@detkit/test-utils';
import { describe, expect, it } from 'vitest';
import { createSsdMatcher, SSD_MATCH_THRESHOLD, type MatchResult } from './index';

function read(result: MatchResult): { matches: number[]; labels: number[] } {
  const out = { matches: Array.from(result.matches.dataSync()), labels: Array.from(result.labels.dataSync()) };
  tf.dispose([result.matches, result.labels]);
  return out;
}

describeEachBackend('createSsdMatcher', () => {
  it('each box takes its best prior, then priors at IoU >= 0.5 take their best box', () => {
    expect(SSD_MATCH_THRESHOLD).toBe(0.5);
    // By hand: prior 0 (0.6 with box 0) and prior 3 (0.5 with box 1, >= 0.5 in float32) pass the threshold,
    // and they are also the boxes' best priors; priors 1 (0.3) and 2 (0.45) are negative.
    const iou = [
      [0.6, 0.3, 0.45, 0.2],
      [0.1, 0.0, 0.2, 0.5],
    ];
    expect(read(createSsdMatcher()(iou))).toEqual({ matches: [0, -1, -1, 1], labels: [1, 0, 0, 1] });
  });

  it('a forced best prior overrides the threshold match of another box', () => {
    // Prior 1's best box is box 0 (0.7 >= 0.5), but it is box 1's best prior (0.65): box 1 takes it.
    const iou = [
      [0.9, 0.7, 0.0],
      [0.0, 0.65, 0.1],
    ];
    expect(read(createSsdMatcher({ threshold: 0.5 })(iou))).toEqual({ matches: [0, 1, -1], labels: [1, 1, 0] });
  });

  it('three boxes with the same best prior each end up with a distinct prior', () => {
    // All want prior 0. By hand: box 2 (0.9) keeps it; box 1's best left is prior 2 (0.4); box 0's is
    // prior 1 (0.3). Prior 3 reaches no box.
    const iou = [
      [0.5, 0.3, 0.2, 0.0],
      [0.8, 0.1, 0.4, 0.0],
      [0.9, 0.2, 0.3, 0.0],
    ];
    expect(read(createSsdMatcher()(iou))).toEqual({ matches: [2, 0, 1, -1], labels: [1, 1, 1, 0] });
  });

  it('more boxes than priors: the extra boxes get none, nothing breaks', () => {
    const iou = [[0.3], [0.6], [0.2]];
    expect(read(createSsdMatcher()(iou))).toEqual({ matches: [1], labels: [1] });
  });

  it('no ground truth: every prior negative; no priors: empty', () => {
    expect(read(createSsdMatcher()(tf.zeros([0, 4])))).toEqual({ matches: [-1, -1, -1, -1], labels: [0, 0, 0, 0] });
    expect(read(createSsdMatcher()(tf.zeros([2, 0])))).toEqual({ matches: [], labels: [] });
  });

  it('leaks no tensors', async () => {
    const iou = tf.randomUniform([5, 100], 0, 1, 'float32', 7);
    await expectNoLeaks(() => createSsdMatcher()(iou));
    iou.dispose();
  });
});

describe('createSsdMatcher input checks', () => {
  it('rejects a bad threshold or iou with typed errors', () => {
    expect(() => createSsdMatcher({ threshold: 2 })).toThrow(InvalidArgumentError);
    expect(() => createSsdMatcher({ threshold: 2 })).toThrow(/'threshold'/);
    expect(() => createSsdMatcher()([[[[0.5]]]])).toThrow(ShapeError);
  });
});
