// Parity with torchvision 0.14's selection steps: RegionProposalNetwork.filter_proposals (after
// BoxCoder.decode), the walk-through's proposal layer written with torchvision.ops, and the
// postprocess_detections of RoIHeads and SSD. Boxes and scores within 1e-5, labels exactly, same order.
import { tf } from '@detkit/core';
import { describeEachBackend, expectClose, readFixture } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import { postprocessDetections, proposalLayer, type ProposalOrder } from './index';

interface ProposalCase {
  fn: string;
  name: string;
  order: ProposalOrder;
  preNmsTopN: number;
  postNmsTopN: number;
  nmsThreshold: number;
  minSize: number;
  scoreThreshold: number;
  anchorsPerLevel: number[];
  anchors: number[][];
  deltas: number[][][];
  objectness: number[][];
  imageSizes: [number, number][];
  expectedBoxes: number[][][];
  expectedScores: number[][];
}
interface DetectionCase {
  fn: string;
  scoreThreshold: number;
  nmsThreshold: number;
  detectionsPerImage: number;
  topkCandidates: number | null;
  minSize: number;
  classLogits: number[][] | number[][][];
  boxDeltas: number[][] | number[][][];
  referenceBoxes: number[][];
  boxesPerImage?: number[];
  imageSizes: [number, number][];
  expectedBoxes: number[][][];
  expectedScores: number[][];
  expectedLabels: number[][];
}
const fixture = readFixture(new URL('../fixtures/proposals.json', import.meta.url)) as { cases: Array<ProposalCase | DetectionCase>; torchvision: string };
const proposalCases = fixture.cases.filter((c) => !c.fn.includes('postprocess_detections')) as ProposalCase[];
const detectionCases = fixture.cases.filter((c) => c.fn.includes('postprocess_detections')) as DetectionCase[];

it('fixtures come from torchvision 0.14', () => {
  expect(fixture.torchvision).toMatch(/^0\.14/);
  expect(proposalCases).toHaveLength(4);
  expect(detectionCases.filter((c) => c.fn.includes('RoIHeads'))).toHaveLength(2);
  expect(detectionCases.filter((c) => c.fn.includes('SSD'))).toHaveLength(2);
});

describeEachBackend('torchvision parity: proposals and detections', () => {
  for (const c of proposalCases) {
    it(`proposalLayer: ${c.name} (${c.order})`, () => {
      const { boxes, scores } = proposalLayer(
        { objectness: c.objectness, deltas: c.deltas, anchors: c.anchors, imageSizes: c.imageSizes, anchorsPerLevel: c.anchorsPerLevel },
        { preNmsTopN: c.preNmsTopN, postNmsTopN: c.postNmsTopN, nmsThreshold: c.nmsThreshold, minSize: c.minSize, scoreThreshold: c.scoreThreshold, order: c.order },
      );
      expect(boxes).toHaveLength(c.expectedBoxes.length);
      boxes.forEach((b, i) => {
        expectClose(b, c.expectedBoxes[i], { what: `image ${i} boxes` });
        expectClose(scores[i]!, c.expectedScores[i], { what: `image ${i} scores` });
      });
      tf.dispose([...boxes, ...scores]);
    });
  }

  it('proposalLayer takes two-logit objectness (softmax) and [N, A, 1] logits alike', () => {
    const c = proposalCases[0]!;
    const opts = { preNmsTopN: c.preNmsTopN, postNmsTopN: c.postNmsTopN, minSize: c.minSize, anchorsPerLevel: c.anchorsPerLevel };
    const common = { deltas: c.deltas, anchors: c.anchors, imageSizes: c.imageSizes, anchorsPerLevel: c.anchorsPerLevel };
    // [l0, l1] with l1 - l0 = the logit: softmax's object column equals sigmoid(logit).
    const two = c.objectness.map((row) => row.map((l) => [-l / 2, l / 2]));
    const one = c.objectness.map((row) => row.map((l) => [l]));
    for (const objectness of [two, one]) {
      const { boxes, scores } = proposalLayer({ objectness, ...common }, opts);
      boxes.forEach((b, i) => expectClose(b, c.expectedBoxes[i], { what: `image ${i} boxes` }));
      tf.dispose([...boxes, ...scores]);
    }
  });

  for (const c of detectionCases) {
    const what = `${c.fn.split('.').slice(-2).join('.')} (${c.scoreThreshold}, ${c.nmsThreshold}, ${c.detectionsPerImage})`;
    it(what, () => {
      const dets = postprocessDetections(
        { classLogits: c.classLogits, boxDeltas: c.boxDeltas, referenceBoxes: c.referenceBoxes, imageSizes: c.imageSizes, ...(c.boxesPerImage ? { boxesPerImage: c.boxesPerImage } : {}) },
        { scoreThreshold: c.scoreThreshold, nmsThreshold: c.nmsThreshold, detectionsPerImage: c.detectionsPerImage, topkCandidates: c.topkCandidates ?? Infinity, minSize: c.minSize },
      );
      expect(dets).toHaveLength(c.expectedBoxes.length);
      dets.forEach((d, i) => {
        expect(d.labels.dtype).toBe('int32');
        expect(Array.from(d.labels.dataSync())).toEqual(c.expectedLabels[i]);
        expectClose(d.boxes, c.expectedBoxes[i], { what: `image ${i} boxes` });
        expectClose(d.scores, c.expectedScores[i], { what: `image ${i} scores` });
      });
      tf.dispose(dets.flatMap((d) => [d.boxes, d.scores, d.labels]));
    });
  }
});
