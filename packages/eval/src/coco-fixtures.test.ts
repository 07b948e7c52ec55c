// Parity with pycocotools' COCOeval (iouType 'bbox'): every case in fixtures/coco-eval.json, written by
// tooling/fixtures/groups/eval.py from pycocotools' own cocoeval.py, reproduced to 1e-12.
import { expectClose, readFixture } from '@detkit/test-utils';
import { describe, expect, it } from 'vitest';
import { evaluateCoco } from './index';

interface Case {
  name: string;
  classes: number[];
  images: { gt: { boxes: number[][]; labels: number[]; iscrowd: number[]; area?: number[] }; dt: { boxes: number[][]; scores: number[]; labels: number[] } }[];
  expected: { stats: number[]; recall: number[][][][]; precisionAll100: number[][][]; scoresAll100: number[][][]; precisionMeans: number[][][] };
}
const fixture = readFixture(new URL('../fixtures/coco-eval.json', import.meta.url)) as { pycocotools: string; cases: Case[] };
const tight = { atol: 1e-12, rtol: 1e-12 };

describe('pycocotools parity', () => {
  it('fixtures come from pycocotools', () => {
    expect(fixture.pycocotools).toMatch(/^2\.0/);
    expect(fixture.cases.map((c) => c.name)).toEqual(['random', 'random-small', 'crowd', 'area-ranges', 'empty-images-and-classes']);
  });

  for (const c of fixture.cases) {
    it(c.name, () => {
      const r = evaluateCoco(
        c.images.map((im) => im.gt),
        c.images.map((im) => im.dt),
        { classes: c.classes },
      );
      const [T, R, K, A, M] = r.counts;
      expectClose(r.statsArray, c.expected.stats, { ...tight, what: 'stats' });
      const recall: number[] = [];
      for (let t = 0; t < T; t++) for (let k = 0; k < K; k++) for (let a = 0; a < A; a++) for (let m = 0; m < M; m++) recall.push(r.recall[((t * K + k) * A + a) * M + m] as number);
      expectClose(recall, c.expected.recall, { ...tight, what: 'recall' });
      const at = (arr: Float64Array, t: number, rr: number, k: number, a: number, m: number) => arr[(((t * R + rr) * K + k) * A + a) * M + m] as number;
      const prec = [], scores = [];
      for (let t = 0; t < T; t++) for (let rr = 0; rr < R; rr++) for (let k = 0; k < K; k++) {
        prec.push(at(r.precision, t, rr, k, 0, 2));
        scores.push(at(r.scores, t, rr, k, 0, 2));
      }
      expectClose(prec, c.expected.precisionAll100, { ...tight, what: 'precision[:, :, :, all, 100]' });
      expectClose(scores, c.expected.scoresAll100, { ...tight, what: 'scores[:, :, :, all, 100]' });
      const means = [];
      for (let k = 0; k < K; k++) for (let a = 0; a < A; a++) for (let m = 0; m < M; m++) {
        let s = 0, n = 0;
        for (let t = 0; t < T; t++) for (let rr = 0; rr < R; rr++) {
          const v = at(r.precision, t, rr, k, a, m);
          if (v > -1) {
            s += v;
            n++;
          }
        }
        means.push(n ? s / n : -1);
      }
      expectClose(means, c.expected.precisionMeans, { ...tight, what: 'mean precision per (class, area, maxDets)' });
    });
  }

  it('the random case exercises what it should: crowd, ties, >100 detections, a class without ground truth', () => {
    const c = fixture.cases[0] as Case;
    expect(c.images.some((im) => im.gt.iscrowd.includes(1))).toBe(true);
    expect(c.images.some((im) => im.dt.boxes.length > 100)).toBe(true);
    const scores = c.images.flatMap((im) => im.dt.scores);
    expect(new Set(scores).size).toBeLessThan(scores.length);
    const r = evaluateCoco(c.images.map((im) => im.gt), c.images.map((im) => im.dt), { classes: c.classes });
    expect(r.perClass.find((p) => p.classId === 4)?.ap).toBe(-1);
  });
});
