import { DetkitError, InvalidArgumentError, InvalidValueError, ShapeError, setValueChecks, tf } from '@detkit/core';
import { describeEachBackend, expectNoLeaks } from '@detkit/test-utils';
import { describe, expect, it } from 'vitest';
import {
  createMaxIouMatcher,
  createSsdMatcher,
  PY_FASTER_RCNN_BG_THRESH_LO,
  ROI_MATCHER_OPTIONS,
  RPN_MATCHER_OPTIONS,
  type MatchResult,
} from './index';

function read(result: MatchResult): { matches: number[]; labels: number[] } {
  const out = { matches: Array.from(result.matches.dataSync()), labels: Array.from(result.labels.dataSync()) };
  tf.dispose([result.matches, result.labels]);
  return out;
}

describeEachBackend('createMaxIouMatcher', () => {
  it('RPN preset: 0.7 / 0.3 plus every anchor tied for a box\'s highest IoU', () => {
    const match = createMaxIouMatcher(RPN_MATCHER_OPTIONS);
    // Box 0's highest IoU is 0.5, at anchors 1 and 3 (a tie: both positive). Box 1 has 0.8 at anchor 4.
    // Anchor 0 (0.29) is negative, anchor 2 (0.3, box 1) is ignored, anchor 5 (0) negative.
    const iou = [
      [0.1, 0.5, 0.2, 0.5, 0.0, 0.0],
      [0.29, 0.0, 0.3, 0.1, 0.8, 0.0],
    ];
    expect(read(match(iou))).toEqual({ matches: [-1, 0, -1, 0, 1, -1], labels: [0, 1, -1, 1, 1, 0] });
  });

  it('RoI preset: no ignored band, or py-faster-rcnn\'s background range [0.1, 0.5)', () => {
    const iou = [[0.05, 0.1, 0.3, 0.49, 0.5, 0.9]];
    expect(read(createMaxIouMatcher(ROI_MATCHER_OPTIONS)(iou))).toEqual({
      matches: [-1, -1, -1, -1, 0, 0],
      labels: [0, 0, 0, 0, 1, 1],
    });
    const pyFrcnn = createMaxIouMatcher({ ...ROI_MATCHER_OPTIONS, negativeMinIou: PY_FASTER_RCNN_BG_THRESH_LO });
    // 0.05 < 0.1 is ignored; 0.1 (float32 0.1 >= float32 0.1) is background.
    expect(read(pyFrcnn(iou))).toEqual({ matches: [-1, -1, -1, -1, 0, 0], labels: [-1, 0, 0, 0, 1, 1] });
  });

  it('minLowQualityIou keeps weak boxes out of the highest-IoU rule (mmdetection min_pos_iou)', () => {
    const iou = [
      [0.2, 0.1, 0.0],
      [0.0, 0.4, 0.35],
    ];
    const base = { highThreshold: 0.7, lowThreshold: 0.3, allowLowQualityMatches: true };
    // Without a minimum both boxes' best anchors (0 and 1) are positive.
    expect(read(createMaxIouMatcher(base)(iou)).labels).toEqual([1, 1, -1]);
    // With 0.3, box 0 (highest 0.2) no longer adds anchor 0, which falls back to negative (0.2 < 0.3).
    expect(read(createMaxIouMatcher({ ...base, minLowQualityIou: 0.3 })(iou))).toEqual({ matches: [-1, 1, -1], labels: [0, 1, -1] });
  });

  it('no ground truth: every anchor is negative, matched to nothing', () => {
    for (const options of [RPN_MATCHER_OPTIONS, { ...ROI_MATCHER_OPTIONS, negativeMinIou: 0.1 }]) {
      const result = createMaxIouMatcher(options)(tf.zeros([0, 5]));
      expect(result.matches.shape).toEqual([5]);
      expect(read(result)).toEqual({ matches: [-1, -1, -1, -1, -1], labels: [0, 0, 0, 0, 0] });
    }
  });

  it('boxes that overlap nothing count as absent, also for py-faster-rcnn\'s ignored band', () => {
    const pyFrcnn = createMaxIouMatcher({ ...ROI_MATCHER_OPTIONS, negativeMinIou: 0.1 });
    // By hand: no row has an IoU > 0, so the image is treated as having no boxes: all background (an IoU
    // of 0 would otherwise fall below 0.1 and be ignored).
    expect(read(pyFrcnn([[0, 0, 0], [0, 0, 0]]))).toEqual({ matches: [-1, -1, -1], labels: [0, 0, 0] });
    // With one real box, the zero row changes nothing: 0.05 < 0.1 ignored, 0.3 background, 0.6 foreground.
    expect(read(pyFrcnn([[0, 0, 0], [0.05, 0.3, 0.6]]))).toEqual({ matches: [-1, -1, 1], labels: [-1, 0, 1] });
  });

  it('no anchors: empty Int32 results', () => {
    const result = createMaxIouMatcher(RPN_MATCHER_OPTIONS)(tf.zeros([3, 0]));
    expect(result.matches.shape).toEqual([0]);
    expect(result.labels.dtype).toBe('int32');
    expect(read(result)).toEqual({ matches: [], labels: [] });
    expect(read(createMaxIouMatcher(RPN_MATCHER_OPTIONS)(tf.zeros([0, 0])))).toEqual({ matches: [], labels: [] });
  });

  it('takes float32 tensors or nested arrays, and casts other dtypes', () => {
    const match = createMaxIouMatcher(ROI_MATCHER_OPTIONS);
    const t = tf.tensor2d([[0.6, 0.2]]);
    expect(read(match(t)).labels).toEqual([1, 0]);
    expect(read(match([[0.6, 0.2]])).labels).toEqual([1, 0]);
    const i = tf.tensor2d([[1, 0]], undefined, 'int32');
    expect(read(match(i)).labels).toEqual([1, 0]);
    tf.dispose([t, i]);
  });

  it('leaks no tensors, on success or on a bad input', async () => {
    const match = createMaxIouMatcher(RPN_MATCHER_OPTIONS);
    const iou = tf.randomUniform([4, 50], 0, 1, 'float32', 3);
    await expectNoLeaks(() => match(iou));
    await expectNoLeaks(() => match([[0.5, 0.2]]));
    const batch = tf.randomUniform([3, 4, 50], 0, 1, 'float32', 4);
    await expectNoLeaks(() => match(batch));
    await expectNoLeaks(() => createSsdMatcher()(batch));
    batch.dispose();
    await expectNoLeaks(() => {
      expect(() => match([[NaN, 0.2]])).toThrow(InvalidValueError);
    });
    iou.dispose();
  });
});

describe('createMaxIouMatcher input checks', () => {
  const match = createMaxIouMatcher(RPN_MATCHER_OPTIONS);

  it('rejects an iou that is not [M, N] or [B, M, N], naming the argument', () => {
    const e = (() => {
      try {
        match([0.5, 0.2]);
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(ShapeError);
    expect((e as ShapeError).argument).toBe('iou');
    expect((e as ShapeError).message).toBe("maxIouMatcher: 'iou' must have shape [M, N] (ground truth x anchors) or [B, M, N], got [2]");
  });

  it('rejects NaN or infinite IoU with the row, unless value checks are off', () => {
    expect(() => match([[0.1, 0.2], [0.3, Infinity]])).toThrow(/row 1/);
    expect(() => match([[NaN]])).toThrow(InvalidValueError);
    // Past the SIMD blocks of 1024 values, and in the scalar tail.
    const big = new Float32Array(3 * 1001).fill(0.5);
    big[2 * 1001 + 7] = -Infinity;
    expect(() => match(tf.tensor2d(big, [3, 1001]))).toThrow("maxIouMatcher: 'iou' has a value outside [0, 1] (NaN, infinite, negative or above 1: not an IoU) (first at row 2)");
    big[2 * 1001 + 7] = 0.5;
    big[3 * 1001 - 1] = NaN;
    expect(() => createSsdMatcher()(tf.tensor2d(big, [3, 1001]))).toThrow("ssdMatcher: 'iou' has a value outside [0, 1] (NaN, infinite, negative or above 1: not an IoU) (first at row 2)");
    // Values outside [0, 1] (issue 15: 5 and -3 were accepted), inside a SIMD block and in the tail.
    big[3 * 1001 - 1] = 0.5;
    big[1001 + 3] = 5;
    expect(() => match(tf.tensor2d(big, [3, 1001]))).toThrow(/'iou' has a value outside \[0, 1\].*\(first at row 1\)/);
    big[1001 + 3] = 0.5;
    big[3 * 1001 - 1] = -3;
    expect(() => createSsdMatcher()(tf.tensor2d(big, [3, 1001]))).toThrow(/'iou' has a value outside \[0, 1\].*\(first at row 2\)/);
    setValueChecks(false);
    try {
      const { labels } = match([[NaN, 0.8]]);
      expect(Array.from(labels.dataSync())[1]).toBe(1);
    } finally {
      setValueChecks(true);
    }
  });

  it('rejects bad options with InvalidArgumentError naming the option', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ highThreshold: 0.3, lowThreshold: 0.7 }, 'lowThreshold'],
      [{ highThreshold: 1.5, lowThreshold: 0.3 }, 'highThreshold'],
      [{ highThreshold: 0, lowThreshold: 0 }, 'highThreshold'],
      [{ highThreshold: 0.7, lowThreshold: NaN }, 'lowThreshold'],
      [{ highThreshold: 0.7, lowThreshold: 0.3, negativeMinIou: 0.4 }, 'negativeMinIou'],
      [{ highThreshold: 0.7, lowThreshold: 0.3, minLowQualityIou: -1 }, 'minLowQualityIou'],
      [{ highThreshold: 0.7, lowThreshold: 0.3, allowLowQualityMatches: 'yes' }, 'allowLowQualityMatches'],
      [{ lowThreshold: 0.3 }, 'highThreshold'],
    ];
    for (const [options, argument] of cases) {
      let error: unknown;
      try {
        createMaxIouMatcher(options as never);
      } catch (e) {
        error = e;
      }
      expect(error, argument).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).argument).toBe(argument);
      expect(DetkitError.isInstance(error)).toBe(true);
    }
    expect(() => createMaxIouMatcher(undefined as never)).toThrow(InvalidArgumentError);
  });
});
