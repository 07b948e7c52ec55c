import { describe, expect, it } from 'vitest';
import { formatCocoTable, scoreDetections } from './evaluate';

describe('scoreDetections / formatCocoTable', () => {
  // One image, one 50 x 50 ground-truth box of class 0 (area 2,500: COCO's medium range, 32² to 96²), found
  // exactly with score 0.9, plus one class-1 detection with no ground truth of its class. By hand: class 0's
  // AP and AR are 1 at every IoU threshold; class 1 has no ground truth, so it is left out of the means;
  // no small or large objects, so those numbers are undefined (-1, printed '-').
  const groundTruth = [{ boxes: [[10, 10, 60, 60]], labels: [0] }];
  const detections = [{ boxes: [[10, 10, 60, 60], [100, 100, 140, 140]], scores: [0.9, 0.8], labels: [0, 1] }];

  it("records seven of pycocotools' numbers, by name, in the trainer's order", () => {
    const { coco, map } = scoreDetections(groundTruth, detections, ['circle', 'square']);
    expect(Object.keys(coco)).toEqual(['ap', 'ap50', 'ap75', 'apSmall', 'apMedium', 'apLarge', 'ar100']);
    const expected = { ap: 1, ap50: 1, ap75: 1, apSmall: -1, apMedium: 1, apLarge: -1, ar100: 1 };
    // Means over 10 IoU x 101 recall thresholds in float64: 1 within rounding.
    for (const [key, value] of Object.entries(expected)) expect(coco[key as keyof typeof coco], key).toBeCloseTo(value, 12);
    expect(map).toBe(1);
  });

  it('prints the summary as a one-row markdown table, - where undefined', () => {
    const { coco } = scoreDetections(groundTruth, detections, ['circle', 'square']);
    expect(formatCocoTable(coco).split('\n')).toEqual([
      '| AP | AP50 | AP75 | APs | APm | APl | AR100 |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      '| 1.000 | 1.000 | 1.000 | - | 1.000 | - | 1.000 |',
    ]);
  });
});
