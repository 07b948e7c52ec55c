// The Faster R-CNN walk-through (seeds/002): 800 x 800 image, VGG16 stride 16 -> a 50 x 50 feature map,
// scales 8 / 16 / 32 of a 16-pixel base, ratios 0.5 / 1 / 2, boxes [y1, x1, y2, x2]. Its numbers, and
// torchvision's labels for its example (fixtures/samplers.json, "walk-through"), reproduced end to end.
import { convertBoxes } from '@detkit/boxes';
import { tf } from '@detkit/core';
import { describeEachBackend, expectClose, readFixture } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import { buildRpnTargets, RPN_SAMPLER_OPTIONS } from './index';

/**
 * The walk-through's anchors, as its code builds them: centres (16 x - 8, 16 y - 8) for x, y in 1..50 with
 * x the outer loop; at each centre ratio-major then scale, h = 16 s sqrt(r), w = 16 s sqrt(1 / r);
 * [y1, x1, y2, x2], float64 arithmetic stored as float32.
 */
function walkThroughAnchors(): Float32Array {
  const out = new Float32Array(50 * 50 * 9 * 4);
  let k = 0;
  for (let x = 1; x <= 50; x++) {
    for (let y = 1; y <= 50; y++) {
      const cx = 16 * x - 8, cy = 16 * y - 8;
      for (const r of [0.5, 1, 2]) {
        for (const s of [8, 16, 32]) {
          const h = 16 * s * Math.sqrt(r), w = 16 * s * Math.sqrt(1 / r);
          out.set([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], 4 * k++);
        }
      }
    }
  }
  return out;
}

interface WalkThrough {
  gtBoxesYxyx: number[][];
  imageSize: [number, number];
  expected: {
    anchors: number;
    inside: number;
    insideIndexSum: number;
    highestIou: number[];
    positive: number[];
    matchesOfPositive: number[];
    negatives: number;
    negativeIndexSum: number;
    ignored: number;
  };
}
const fixture = readFixture(new URL('../fixtures/samplers.json', import.meta.url)) as { cases: ({ name?: string } & WalkThrough)[] };
const wt = fixture.cases.find((c) => c.name === 'walk-through')!;

describeEachBackend('the walk-through', () => {
  it('22,500 anchors, 8,940 inside the 800 x 800 image; its first anchors as printed', () => {
    const a = walkThroughAnchors();
    expect(a.length / 4).toBe(22500);
    expect(wt.expected.anchors).toBe(22500);
    // The walk-through prints the anchors at centre (8, 8) ([y1, x1, y2, x2]).
    expectClose(Array.from(a.subarray(0, 8)), [-37.254833, -82.50967, 53.254833, 98.50967, -82.50967, -173.01933, 98.50967, 189.01933], { atol: 1e-4 });
    let inside = 0;
    let indexSum = 0;
    for (let i = 0; i < 22500; i++) {
      const [y1, x1, y2, x2] = a.subarray(4 * i, 4 * i + 4);
      if (y1! >= 0 && x1! >= 0 && y2! <= 800 && x2! <= 800) {
        inside++;
        indexSum += i;
      }
    }
    expect(inside).toBe(8940);
    expect(indexSum).toBe(wt.expected.insideIndexSum);
  });

  it('labels of its two-box example: the 18 anchors it lists are the positives, and torchvision\'s counts', () => {
    const anchors = convertBoxes(tf.tensor2d(walkThroughAnchors(), [22500, 4]), 'yxyx', 'xyxy');
    const gt = convertBoxes(wt.gtBoxesYxyx, 'yxyx', 'xyxy');
    const t = buildRpnTargets(anchors, gt, { imageSize: wt.imageSize, sampler: false });
    const labels = Array.from(t.labels.dataSync());
    const matches = Array.from(t.matches.dataSync());
    // Map the full 22,500 back to the walk-through's numbering of the 8,940 inside anchors.
    const a = walkThroughAnchors();
    const insideIndex: number[] = [];
    for (let i = 0; i < 22500; i++) {
      const [y1, x1, y2, x2] = a.subarray(4 * i, 4 * i + 4);
      if (y1! >= 0 && x1! >= 0 && y2! <= 800 && x2! <= 800) insideIndex.push(i);
    }
    const inside = insideIndex.map((i) => labels[i]!);
    // Outside anchors are ignored, as the walk-through fills them with -1.
    expect(labels.filter((l) => l === -1).length - inside.filter((l) => l === -1).length).toBe(22500 - 8940);
    // The walk-through: "gt_argmax_ious = np.where(ious == gt_max_ious)[0]" lists these 18 inside anchors,
    // and no anchor reaches 0.7 (the highest IoUs are 0.68130493 and 0.61035156), so they are all the positives.
    const walkThroughPositives = [2262, 2508, 5620, 5628, 5636, 5644, 5866, 5874, 5882, 5890, 6112, 6120, 6128, 6136, 6358, 6366, 6374, 6382];
    expectClose(wt.expected.highestIou, [0.68130493, 0.61035156]);
    const positives = inside.flatMap((l, i) => (l === 1 ? [i] : []));
    expect(positives).toEqual(walkThroughPositives);
    expect(positives).toEqual(wt.expected.positive);
    expect(positives.map((i) => matches[insideIndex[i]!])).toEqual(wt.expected.matchesOfPositive);
    const negatives = inside.flatMap((l, i) => (l === 0 ? [i] : []));
    expect(negatives.length).toBe(wt.expected.negatives); // 7,690
    expect(negatives.reduce((s, i) => s + i, 0)).toBe(wt.expected.negativeIndexSum);
    expect(inside.filter((l) => l === -1).length).toBe(wt.expected.ignored); // 1,232
    tf.dispose([anchors, gt, ...Object.values(t)]);
  });

  it('its 256-anchor mini-batch: 18 positives and 256 - 18 = 238 negatives (not n_sample * n_pos)', () => {
    const anchors = convertBoxes(tf.tensor2d(walkThroughAnchors(), [22500, 4]), 'yxyx', 'xyxy');
    const gt = convertBoxes(wt.gtBoxesYxyx, 'yxyx', 'xyxy');
    const t = buildRpnTargets(anchors, gt, { imageSize: wt.imageSize, sampler: RPN_SAMPLER_OPTIONS, seed: 2 });
    const labels = Array.from(t.labels.dataSync());
    expect(labels.filter((l) => l === 1).length).toBe(18);
    // The walk-through's n_neg = n_sample * n_pos would keep 256 * 18 = 4,608 negatives.
    expect(labels.filter((l) => l === 0).length).toBe(238);
    tf.dispose([anchors, gt, ...Object.values(t)]);
  });
});
