// postprocessDetections beyond the torchvision fixtures: the presets, invariants on random inputs, shared
// (class-agnostic) deltas, and the empty cases.
import { boxIou } from '@detkit/boxes';
import { tf } from '@detkit/core';
import { describeEachBackend, expectClose } from '@detkit/test-utils';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { FASTER_RCNN_POSTPROCESS, SSD_POSTPROCESS, postprocessDetections } from './index';
import { seededValues } from './test-helpers';

const refs = (k: number, seed: number) => {
  const v = seededValues(4 * k, seed);
  const out: number[][] = [];
  for (let i = 0; i < k; i++) {
    const x = 50 + 40 * (v[4 * i] as number), y = 50 + 40 * (v[4 * i + 1] as number);
    out.push([x, y, x + 20 + 10 * (v[4 * i + 2] as number), y + 20 + 10 * (v[4 * i + 3] as number)]);
  }
  return out;
};

describeEachBackend('postprocessDetections', () => {
  it("presets are torchvision's defaults", () => {
    expect(FASTER_RCNN_POSTPROCESS).toMatchObject({ scoreThreshold: 0.05, nmsThreshold: 0.5, detectionsPerImage: 100, minSize: 1e-2 });
    expect(SSD_POSTPROCESS).toMatchObject({ scoreThreshold: 0.01, nmsThreshold: 0.45, detectionsPerImage: 200, topkCandidates: 400 });
  });

  it('invariants: foreground labels, scores above the threshold and sorted, clipped boxes, per-class NMS, at most detectionsPerImage', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 2, max: 5 }),
        fc.boolean(),
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        fc.double({ min: 0.2, max: 0.8, noNaN: true }),
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 1, max: 20 }),
        (seed, c, perClass, scoreThreshold, nmsThreshold, detectionsPerImage, topkCandidates) => {
          tf.tidy(() => {
            const k = 24;
            const dets = postprocessDetections(
              {
                classLogits: tf.tensor(seededValues(k * c, seed).map((v) => 3 * v), [k, c]),
                boxDeltas: tf.tensor(seededValues(k * (perClass ? 4 * c : 4), seed + 1), [k, perClass ? 4 * c : 4]),
                referenceBoxes: refs(k, seed + 2),
                imageSizes: [[100, 110], [90, 120]],
                boxesPerImage: [15, 9],
              },
              { scoreThreshold, nmsThreshold, detectionsPerImage, topkCandidates, minSize: 0.5 },
            );
            expect(dets).toHaveLength(2);
            dets.forEach((d, i) => {
              const [h, w] = i === 0 ? [100, 110] : [90, 120];
              const n = d.boxes.shape[0];
              expect(n).toBeLessThanOrEqual(detectionsPerImage);
              const labels = Array.from(d.labels.dataSync());
              const scores = Array.from(d.scores.dataSync());
              labels.forEach((l) => expect(l >= 1 && l < c).toBe(true));
              scores.forEach((s, j) => {
                expect(s).toBeGreaterThan(Math.fround(scoreThreshold));
                if (j > 0) expect(s).toBeLessThanOrEqual(scores[j - 1]!);
              });
              const perLabel = new Map<number, number>();
              labels.forEach((l) => perLabel.set(l, (perLabel.get(l) ?? 0) + 1));
              for (const count of perLabel.values()) expect(count).toBeLessThanOrEqual(topkCandidates);
              const boxes = d.boxes.arraySync();
              boxes.forEach(([x1, y1, x2, y2]) => {
                expect(x1! >= 0 && y1! >= 0 && x2! <= w && y2! <= h).toBe(true);
                expect(x2! - x1! >= 0.5 && y2! - y1! >= 0.5).toBe(true);
              });
              if (n > 1) {
                const iou = boxIou(d.boxes, d.boxes).arraySync();
                for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) if (labels[p] === labels[q]) expect(iou[p]![q]).toBeLessThanOrEqual(nmsThreshold);
              }
            });
          });
        },
      ),
      { numRuns: 20 },
    );
  });

  it('empty cases: nothing above the threshold, an image without proposals, no rows at all', () => {
    tf.tidy(() => {
      const none = postprocessDetections({ classLogits: [[9, 0, 0], [9, 0, 0]], boxDeltas: [[0, 0, 0, 0], [0, 0, 0, 0]], referenceBoxes: [[0, 0, 4, 4], [1, 1, 5, 5]], imageSizes: [10, 10] });
      expect(none.map((d) => [d.boxes.shape, d.scores.shape, d.labels.shape, d.labels.dtype])).toEqual([[[0, 4], [0], [0], 'int32']]);
      const split = postprocessDetections(
        { classLogits: [[0, 9, 0], [0, 0, 9]], boxDeltas: tf.zeros([2, 12]), referenceBoxes: [[0, 0, 4, 4], [1, 1, 5, 5]], imageSizes: [10, 10], boxesPerImage: [0, 2] },
      );
      expect(split.map((d) => d.boxes.shape[0])).toEqual([0, 2]);
      expect(Array.from(split[1]!.labels.dataSync())).toEqual([1, 2]);
      const noRows = postprocessDetections({ classLogits: tf.zeros([0, 3]), boxDeltas: tf.zeros([0, 12]), referenceBoxes: tf.zeros([0, 4]), imageSizes: [10, 10] }, SSD_POSTPROCESS);
      expect(noRows.map((d) => d.boxes.shape)).toEqual([[0, 4]]);
    });
  });

  it('SSD-style inputs: [N, A, C] logits, shared [A, 4] anchors and [N, A, 4] deltas', () => {
    tf.tidy(() => {
      const anchors = [[10, 10, 30, 30], [12, 12, 32, 32], [60, 60, 90, 80]];
      const dets = postprocessDetections(
        { classLogits: [[[0, 6, -9], [0, 5, -9], [-9, 0, 6]], [[4, 0, 0], [4, 0, 0], [4, 0, 0]]], boxDeltas: tf.zeros([2, 3, 4]), referenceBoxes: anchors, imageSizes: [100, 100] },
        SSD_POSTPROCESS,
      );
      // Image 0: the first two boxes overlap (IoU 324 / 476 = 0.68 > 0.45) in class 1, so only the
      // higher-scoring one stays; every other class probability is below 0.01.
      expect(Array.from(dets[0]!.labels.dataSync())).toEqual([1, 2]);
      expect(dets[0]!.boxes.arraySync()).toEqual([[10, 10, 30, 30], [60, 60, 90, 80]]);
      // Image 1: every foreground probability is 1 / (e^4 + 2) = 0.0176 > 0.01; per class, box 1 falls to
      // box 0 (equal scores: the lower index is kept) and box 2 stays.
      expect(Array.from(dets[1]!.labels.dataSync()).sort()).toEqual([1, 1, 2, 2]);
      expectClose(dets[1]!.scores, new Array(4).fill(1 / (Math.exp(4) + 2)));
    });
  });

  it('detections are constants: off the gradient tape', () => {
    tf.tidy(() => {
      const logits = tf.tensor2d([[0, 3, 1], [0, 1, 3]]);
      const scores = (l: tf.Tensor) => postprocessDetections({ classLogits: l, boxDeltas: tf.zeros([2, 12]), referenceBoxes: [[0, 0, 4, 4], [1, 1, 5, 5]], imageSizes: [10, 10] })[0]!.scores;
      // Only the direct path counts: d/dl of sum(l) + sum(scores(l)) is 1 everywhere.
      const g = tf.grad((l: tf.Tensor) => tf.add(tf.sum(l), tf.sum(scores(l))))(logits);
      expect(Array.from(g.dataSync())).toEqual([1, 1, 1, 1, 1, 1]);
      expect(() => tf.grad((l: tf.Tensor) => tf.sum(scores(l)))(logits)).toThrow(/Cannot compute gradient/);
    });
  });
});
