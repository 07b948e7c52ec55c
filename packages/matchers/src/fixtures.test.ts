// Parity with torchvision 0.14's Matcher and SSDMatcher: every case in fixtures/matchers.json (written by
// tooling/fixtures/generate.py) on every Node backend. torchvision returns one int64 tensor with -1 (below
// the low threshold) and -2 (between the thresholds) in place of an index; detkit returns matches and
// labels separately, so the expected values are translated: index >= 0 -> (index, 1), -1 -> (-1, 0),
// -2 -> (-1, -1). Cases marked "difference" check detkit's documented behaviour instead.
import { tf } from '@detkit/core';
import { describeEachBackend, readFixture } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import { createMaxIouMatcher, createSsdMatcher, type MatchResult } from './index';

interface Run {
  highThreshold?: number;
  lowThreshold?: number;
  allowLowQualityMatches?: boolean;
  threshold?: number;
  expected: number[];
}
interface Case {
  fn: string;
  name: string;
  iou: number[][];
  runs: Run[];
  difference?: string;
}
const fixture = readFixture(new URL('../fixtures/matchers.json', import.meta.url)) as { cases: Case[]; torchvision: string };
const cases = (fn: string) => fixture.cases.filter((c) => c.fn.endsWith(fn));

function torchvisionToDetkit(expected: number[]): { matches: number[]; labels: number[] } {
  return {
    matches: expected.map((m) => (m >= 0 ? m : -1)),
    labels: expected.map((m) => (m >= 0 ? 1 : m === -1 ? 0 : -1)),
  };
}

function read(result: MatchResult): { matches: number[]; labels: number[] } {
  expect(result.matches.dtype).toBe('int32');
  expect(result.labels.dtype).toBe('int32');
  const out = { matches: Array.from(result.matches.dataSync()), labels: Array.from(result.labels.dataSync()) };
  tf.dispose([result.matches, result.labels]);
  return out;
}

it('fixtures come from torchvision 0.14 and cover both matchers', () => {
  expect(fixture.torchvision).toMatch(/^0\.14/);
  expect(cases('._utils.Matcher').length).toBeGreaterThanOrEqual(6);
  expect(cases('._utils.SSDMatcher').length).toBeGreaterThanOrEqual(5);
});

describeEachBackend('torchvision parity', () => {
  for (const c of cases('._utils.Matcher').filter((c) => !c.difference)) {
    for (const run of c.runs) {
      it(`Matcher ${c.name} (${run.highThreshold} / ${run.lowThreshold}, low quality ${run.allowLowQualityMatches})`, () => {
        const match = createMaxIouMatcher({
          highThreshold: run.highThreshold as number,
          lowThreshold: run.lowThreshold as number,
          allowLowQualityMatches: run.allowLowQualityMatches as boolean,
        });
        expect(read(match(c.iou))).toEqual(torchvisionToDetkit(run.expected));
      });
    }
  }

  for (const c of cases('._utils.SSDMatcher').filter((c) => !c.difference)) {
    for (const run of c.runs) {
      it(`SSDMatcher ${c.name} (threshold ${run.threshold})`, () => {
        const match = createSsdMatcher({ threshold: run.threshold as number });
        // SSD has no ignored band: torchvision's Matcher(t, t) never writes -2.
        expect(run.expected.every((m) => m >= -1)).toBe(true);
        expect(read(match(c.iou))).toEqual(torchvisionToDetkit(run.expected));
      });
    }
  }

  it('difference: a ground-truth box that overlaps nothing does not make every anchor positive', () => {
    const c = fixture.cases.find((x) => x.fn.endsWith('._utils.Matcher') && x.difference === 'zero-overlap')!;
    const run = c.runs[0]!;
    // torchvision: box 0 (IoU 0 everywhere) ties with all five anchors, so all are positive.
    expect(run.expected.every((m) => m >= 0)).toBe(true);
    const got = read(createMaxIouMatcher({ highThreshold: 0.7, lowThreshold: 0.3, allowLowQualityMatches: true })(c.iou));
    // By hand: box 1's row is [0.1, 0.75, 0.2, 0, 0.35]. Anchor 1 (0.75 >= 0.7) is positive for box 1 and
    // is also box 1's highest; 0.1, 0.2 and 0 are below 0.3 (negative); 0.35 is between (ignored).
    expect(got).toEqual({ matches: [-1, 1, -1, -1, -1], labels: [0, 1, 0, 0, -1] });
  });

  it('difference: SSD gives no prior to a box that overlaps nothing (torchvision hands it prior 0)', () => {
    const c = fixture.cases.find((x) => x.fn.endsWith('SSDMatcher') && x.difference === 'zero-overlap')!;
    expect(c.runs[0]!.expected[0]).toBe(0); // torchvision: prior 0 matched to box 0, at IoU 0
    const got = read(createSsdMatcher({ threshold: 0.5 })(c.iou));
    // By hand: box 1 takes its best prior 1 (0.75, also >= 0.5); prior 0 (best IoU 0.1) is negative.
    expect(got).toEqual({ matches: [-1, 1, -1, -1, -1], labels: [0, 1, 0, 0, 0] });
  });

  it('difference: two boxes sharing a best prior both keep a prior (ssd.pytorch #193)', () => {
    const c = fixture.cases.find((x) => x.difference === 'shared-best-prior')!;
    const tv = c.runs[0]!.expected;
    // torchvision: boxes 0 and 1 both want prior 0, boxes 2 and 3 both want prior 3; the later box wins
    // each scatter, so boxes 0 and 2 end up with no prior at all.
    expect(tv).toEqual([1, -1, -1, 3, -1, -1]);
    const got = read(createSsdMatcher({ threshold: 0.5 })(c.iou));
    // By hand, greedy by IoU over the rows
    //   box 0 [0.30, 0.25, 0.10, 0.00, 0.05, 0.0]
    //   box 1 [0.40, 0.05, 0.35, 0.00, 0.20, 0.0]
    //   box 2 [0.10, 0.10, 0.10, 0.45, 0.00, 0.0]
    //   box 3 [0.00, 0.00, 0.00, 0.30, 0.00, 0.2]
    // box 2 takes prior 3 (0.45); box 1 prior 0 (0.40); box 0's best left is prior 1 (0.25); box 3's is
    // prior 5 (0.2). No IoU reaches 0.5, so these four are the only positives.
    expect(got).toEqual({ matches: [1, 0, -1, 2, -1, 3], labels: [1, 1, 0, 1, 0, 1] });
  });
});
