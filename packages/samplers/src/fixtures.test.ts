// Parity with torchvision 0.14 (fixtures/samplers.json, written by tooling/fixtures/generate.py) on every
// Node backend. torchvision's sampler draws with torch.randperm, so sampler parity is by semantics: the
// counts kept, not which elements. The target cases are built so nothing random decides them.
import { tf } from '@detkit/core';
import { describeEachBackend, expectClose, readFixture } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import { buildRoiTargets, buildRpnTargets, buildSsdTargets, buildSsdTargetsBatch, mineHardNegatives, sampleBalanced } from './index';

interface Case {
  fn: string;
  name?: string;
  [key: string]: unknown;
}
const fixture = readFixture(new URL('../fixtures/samplers.json', import.meta.url)) as { cases: Case[]; torchvision: string };
const cases = (fn: string) => fixture.cases.filter((c) => c.fn.endsWith(fn));
type Boxes = number[][];

/** Rows of a [N, 4] result at `rows`. */
function rowsOf(t: tf.Tensor, rows: number[]): number[][] {
  const all = t.arraySync() as number[][];
  return rows.map((r) => all[r]!);
}

it('fixtures come from torchvision 0.14', () => {
  expect(fixture.torchvision).toMatch(/^0\.14/);
  expect(cases('BalancedPositiveNegativeSampler').length).toBeGreaterThanOrEqual(6);
});

describeEachBackend('torchvision parity', () => {
  it('BalancedPositiveNegativeSampler: the same numbers of positives and negatives, drawn from the right pools', () => {
    for (const [k, c] of cases('BalancedPositiveNegativeSampler').entries()) {
      const labels = c.labels as number[];
      const expected = c.expected as { positives: number; negatives: number };
      const out = sampleBalanced(labels, { batchSize: c.batchSize as number, positiveFraction: c.positiveFraction as number, seed: k });
      const got = Array.from(out.labels.dataSync());
      const indices = Array.from(out.indices.dataSync());
      expect(got.filter((l) => l > 0).length, `case ${k} positives`).toBe(expected.positives);
      expect(got.filter((l) => l === 0).length, `case ${k} negatives`).toBe(expected.negatives);
      for (let i = 0; i < labels.length; i++) {
        // Kept elements keep their label (a class id for positives); the rest are -1.
        if (got[i]! >= 0) expect(got[i]).toBe(labels[i]);
      }
      expect(indices).toEqual(got.flatMap((l, i) => (l >= 0 ? [i] : [])));
      tf.dispose([out.labels, out.indices]);
    }
  });

  const rpn = cases('assign_targets_to_anchors')[0]!;
  for (const image of rpn.images as { name: string; gtBoxes: Boxes; expected: Record<string, unknown> }[]) {
    it(`RPN assign_targets_to_anchors + encode: ${image.name}`, () => {
      const e = image.expected as { labels: number[]; positive: number[]; matchedGtBoxes: Boxes; regressionTargets: Boxes };
      const t = buildRpnTargets(rpn.anchors as Boxes, image.gtBoxes, { sampler: false });
      expect(Array.from(t.labels.dataSync())).toEqual(e.labels);
      const matches = Array.from(t.matches.dataSync());
      expect(matches.flatMap((m, i) => (m >= 0 ? [i] : []))).toEqual(e.positive);
      expectClose(rowsOf(t.matchedGtBoxes, e.positive).flat(), e.matchedGtBoxes, { what: 'matched boxes' });
      expectClose(rowsOf(t.regressionTargets, e.positive).flat(), e.regressionTargets, { what: 'regression targets' });
      // Difference: rows without a match are zeros (torchvision: ground-truth box 0 and its encoding).
      const negative = matches.flatMap((m, i) => (m < 0 ? [i] : []));
      expect(rowsOf(t.regressionTargets, negative).flat().every((v) => v === 0)).toBe(true);
      expect(rowsOf(t.matchedGtBoxes, negative).flat().every((v) => v === 0)).toBe(true);
      tf.dispose(Object.values(t));
    });
  }

  it('RoIHeads.select_training_samples (a budget that keeps every proposal)', () => {
    const c = cases('select_training_samples')[0]!;
    const e = c.expected as { proposals: Boxes; classLabels: number[]; matchedIdxs: number[]; regressionTargets: Boxes };
    const t = buildRoiTargets(c.proposals as Boxes, c.gtBoxes as Boxes, c.gtClasses as number[], {
      sampler: { batchSize: c.batchSize as number, positiveFraction: c.positiveFraction as number },
      seed: 1,
    });
    expectClose(t.proposals, e.proposals, { what: 'sampled proposals' });
    expect(Array.from(t.classLabels.dataSync())).toEqual(e.classLabels);
    const foreground = e.classLabels.flatMap((l, i) => (l > 0 ? [i] : []));
    expect(foreground.length).toBeGreaterThan(4);
    const matches = Array.from(t.matches.dataSync());
    // torchvision clamps background matches to 0; detkit marks them -1.
    expect(matches).toEqual(e.matchedIdxs.map((m, i) => (e.classLabels[i]! > 0 ? m : -1)));
    expectClose(rowsOf(t.regressionTargets, foreground).flat(), foreground.map((r) => e.regressionTargets[r]!), { what: 'foreground targets' });
    const background = e.classLabels.flatMap((l, i) => (l === 0 ? [i] : []));
    expect(rowsOf(t.regressionTargets, background).flat().every((v) => v === 0)).toBe(true);
    // The appended ground truth is in the sample, at indices P .. P + M - 1.
    const indices = Array.from(t.indices.dataSync());
    expect(indices).toEqual([...Array(e.classLabels.length).keys()]);
    tf.dispose(Object.values(t));
  });

  const ssd = cases('SSD.compute_loss')[0]!;
  const ssdImages = ssd.images as { gtBoxes: Boxes; gtClasses: number[]; expected: { matches: number[]; positive: number[]; regressionTargets: Boxes } }[];

  it('SSD matching and targets, per image and as a batch', () => {
    const batch = buildSsdTargetsBatch(ssd.priors as Boxes, ssdImages.map((im) => im.gtBoxes), ssdImages.map((im) => im.gtClasses));
    const classTargets = ssd.classTargets as number[][];
    expect(batch.classLabels.arraySync()).toEqual(classTargets);
    ssdImages.forEach((im, b) => {
      const t = buildSsdTargets(ssd.priors as Boxes, im.gtBoxes, im.gtClasses);
      expect(Array.from(t.matches.dataSync()), `image ${b}`).toEqual(im.expected.matches);
      expect((batch.matches.arraySync() as number[][])[b], `image ${b}`).toEqual(im.expected.matches);
      expect(Array.from(t.classLabels.dataSync())).toEqual(classTargets[b]);
      expectClose(rowsOf(t.regressionTargets, im.expected.positive).flat(), im.expected.regressionTargets, { what: `image ${b} targets` });
      const batchTargets = (batch.regressionTargets.arraySync() as number[][][])[b]!;
      expectClose(im.expected.positive.map((r) => batchTargets[r]!).flat(), im.expected.regressionTargets, { what: `image ${b} batch targets` });
      tf.dispose(Object.values(t));
    });
    tf.dispose(Object.values(batch));
  });

  it('SSD.compute_loss classification: positives plus 3:1 hard negatives, over the number of positives', () => {
    const ce = ssd.crossEntropy as number[][];
    const classTargets = ssd.classTargets as number[][];
    const mined = mineHardNegatives(ce, classTargets, { negPosRatio: ssd.negPosRatio as number });
    const kept = mined.arraySync() as number[][];
    let sum = 0;
    let positives = 0;
    kept.forEach((row, b) => {
      const pos = classTargets[b]!.filter((l) => l > 0).length;
      positives += pos;
      expect(row.filter((l) => l === 0).length, `image ${b} negatives`).toBe(Math.min(3 * pos, classTargets[b]!.filter((l) => l === 0).length));
      row.forEach((l, i) => {
        if (l >= 0) sum += ce[b]![i]!;
      });
    });
    const classification = (ssd.expected as { classification: number }).classification;
    expectClose([sum / Math.max(1, positives)], [classification], { what: 'classification loss' });
    mined.dispose();
  });
});
