// Parity with torchvision 0.14: every case in fixtures/box-ops.json (written by
// tooling/fixtures/generate.py) on every Node backend, within 1e-5.
import { tf } from '@detkit/core';
import { describeEachBackend, expectClose, readFixture } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import {
  batchedNms,
  boxArea,
  boxIou,
  clipBoxes,
  completeBoxIou,
  convertBoxes,
  decodeBoxes,
  distanceBoxIou,
  encodeBoxes,
  generalizedBoxIou,
  nms,
  pairwiseIouOps,
  removeSmallBoxes,
  alignedBoxIou,
  alignedGeneralizedBoxIou,
  alignedDistanceBoxIou,
  alignedCompleteBoxIou,
  type BoxCoderWeights,
  type BoxFormat,
  type IouKind,
} from './index';

interface Case {
  fn: string;
  name?: string;
  expected: number[] | number[][];
  [key: string]: unknown;
}
const fixture = readFixture(new URL('../fixtures/box-ops.json', import.meta.url)) as { cases: Case[]; torchvision: string };
const cases = (fn: string) => fixture.cases.filter((c) => c.fn.endsWith(fn));

const PAIRWISE = {
  box_iou: { op: boxIou, aligned: alignedBoxIou, kind: 'iou' },
  generalized_box_iou: { op: generalizedBoxIou, aligned: alignedGeneralizedBoxIou, kind: 'giou' },
  distance_box_iou: { op: distanceBoxIou, aligned: alignedDistanceBoxIou, kind: 'diou' },
  complete_box_iou: { op: completeBoxIou, aligned: alignedCompleteBoxIou, kind: 'ciou' },
} as const;

it('fixtures come from torchvision 0.14', () => {
  expect(fixture.torchvision).toMatch(/^0\.14/);
  expect(fixture.cases.length).toBeGreaterThan(40);
});

describeEachBackend('torchvision parity', () => {
  for (const [fn, { op, aligned, kind }] of Object.entries(PAIRWISE)) {
    for (const c of cases(`ops.${fn}`)) {
      it(`${fn} ${c.name}`, () => {
        const a = c.boxes1 as number[][];
        const b = c.boxes2 as number[][];
        expectClose(op(a, b), c.expected, { what: fn });
        // The op-composition path (used on GPU-class backends) gives the same numbers.
        const a2 = tf.tensor2d(a), b2 = tf.tensor2d(b);
        expectClose(pairwiseIouOps(kind as IouKind, a2, b2), c.expected, { what: `${fn} (ops)` });
        // Aligned forms are the diagonal of the pairwise matrix.
        const n = Math.min(a.length, b.length);
        const diag = (c.expected as number[][]).slice(0, n).map((row, i) => row[i] as number);
        expectClose(aligned(a.slice(0, n), b.slice(0, n)), diag, { what: `${fn} (aligned)` });
        tf.dispose([a2, b2]);
      });
    }
  }

  it('box_area', () => {
    for (const c of cases('ops.box_area')) expectClose(boxArea(c.boxes as number[][]), c.expected);
  });

  it('box_convert, every pair of formats', () => {
    const all = cases('ops.box_convert');
    expect(all).toHaveLength(9);
    for (const c of all) {
      expectClose(convertBoxes(c.boxes as number[][], c.from as BoxFormat, c.to as BoxFormat), c.expected, { what: `${c.from}->${c.to}` });
    }
  });

  it('clip_boxes_to_image', () => {
    for (const c of cases('ops.clip_boxes_to_image')) {
      expectClose(clipBoxes(c.boxes as number[][], c.size as [number, number]), c.expected);
    }
  });

  it('remove_small_boxes', () => {
    for (const c of cases('ops.remove_small_boxes')) {
      const keep = removeSmallBoxes(c.boxes as number[][], c.minSize as number);
      expect(keep.dtype).toBe('int32');
      expect(Array.from(keep.dataSync())).toEqual(c.expected);
    }
  });

  it('BoxCoder.encode_single', () => {
    for (const c of cases('BoxCoder.encode_single')) {
      const deltas = encodeBoxes(c.targets as number[][], c.anchors as number[][], { weights: c.weights as BoxCoderWeights });
      expectClose(deltas, c.expected, { what: `encode ${String(c.weights)}` });
    }
  });

  it('BoxCoder.decode_single, including the clamp and per-class deltas', () => {
    const all = cases('BoxCoder.decode_single');
    expect(all).toHaveLength(4);
    for (const c of all) {
      const boxes = decodeBoxes(c.deltas as number[][], c.anchors as number[][], { weights: c.weights as BoxCoderWeights });
      expectClose(boxes, c.expected, { what: `decode ${c.name ?? ''} ${String(c.weights)}` });
    }
  });

  for (const c of cases('ops.nms')) {
    it(`nms ${c.name ?? 'random'} t=${c.iouThreshold} (${(c.boxes as unknown[]).length} boxes)`, () => {
      const keep = nms(c.boxes as number[][], c.scores as number[], { iouThreshold: c.iouThreshold as number });
      expect(Array.from(keep.dataSync())).toEqual(c.expected);
    });
  }

  for (const c of cases('ops.batched_nms')) {
    it(`batched_nms (${(c.boxes as unknown[]).length} boxes)`, () => {
      const ids = tf.tensor1d(c.classIds as number[], 'int32');
      const keep = batchedNms(c.boxes as number[][], c.scores as number[], ids, { iouThreshold: c.iouThreshold as number });
      expect(Array.from(keep.dataSync())).toEqual(c.expected);
      ids.dispose();
    });
  }
});
