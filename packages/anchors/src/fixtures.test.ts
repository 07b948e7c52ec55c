// Parity with torchvision 0.14: every case in fixtures/anchor-generator.json and
// fixtures/default-box-generator.json (written by tooling/fixtures/groups/anchors.py) on every Node backend,
// within 1e-5.
import { tf } from '@detkit/core';
import { describeEachBackend, expectClose, readFixture } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import { cellAnchors, generateAnchors, generateMultiLevelAnchors, ssdBoxesPerLocation, ssdDefaultBoxes, SSD300, SSDLITE320, type SsdDefaultBoxesConfig } from './index';

interface Case {
  fn: string;
  name?: string;
  expected: number[][];
  [key: string]: unknown;
}
type Fixture = { cases: Case[]; torchvision: string };
const anchorFixture = readFixture(new URL('../fixtures/anchor-generator.json', import.meta.url)) as Fixture;
const boxFixture = readFixture(new URL('../fixtures/default-box-generator.json', import.meta.url)) as Fixture;
const cases = (f: Fixture, fn: string) => f.cases.filter((c) => c.fn.endsWith(fn));
const pair = (v: number[]) => [v[0], v[1]] as [number, number];

/**
 * The project's bar (1e-5) with shapes, then the stronger fact these generators meet: every value is the
 * very float32 torchvision computed (the arithmetic follows its float32 order step by step).
 */
function expectParity(actual: tf.Tensor, expected: number[][], what: string): void {
  expectClose(actual, expected, { what });
  const values = actual.dataSync();
  const want = expected.flat();
  const differing = want.filter((v, i) => Math.fround(v) !== values[i]).length;
  expect(differing, `${what}: values that differ from torchvision's float32 at all`).toBe(0);
}

it('fixtures come from torchvision 0.14', () => {
  for (const f of [anchorFixture, boxFixture]) expect(f.torchvision).toMatch(/^0\.14/);
  expect(cases(anchorFixture, 'generate_anchors')).toHaveLength(4);
  expect(cases(anchorFixture, 'grid_anchors')).toHaveLength(5);
  expect(cases(anchorFixture, 'forward')).toHaveLength(2);
  expect(boxFixture.cases).toHaveLength(6);
});

describeEachBackend('torchvision parity', () => {
  for (const c of cases(anchorFixture, 'AnchorGenerator.generate_anchors')) {
    it(`AnchorGenerator.generate_anchors sizes ${String(c.sizes)} ratios ${String(c.ratios)}`, () => {
      const cell = cellAnchors({ sizes: c.sizes as number[], ratios: c.ratios as number[] });
      // Rounded to integers: exact equality, including torch.round's half-to-even.
      expect(cell.arraySync()).toEqual(c.expected);
      cell.dispose();
    });
  }

  for (const c of cases(anchorFixture, 'AnchorGenerator.grid_anchors')) {
    it(`AnchorGenerator.grid_anchors ${String(c.featureSize)} stride ${String(c.stride)}`, () => {
      const anchors = generateAnchors({
        featureSize: pair(c.featureSize as number[]),
        stride: pair(c.stride as number[]),
        sizes: c.sizes as number[],
        ratios: c.ratios as number[],
      });
      expectParity(anchors, c.expected, 'anchors');
      anchors.dispose();
    });
  }

  for (const c of cases(anchorFixture, 'AnchorGenerator.forward')) {
    it(`AnchorGenerator.forward, several feature maps (${c.name})`, () => {
      const featureSizes = c.featureSizes as number[][];
      const sizes = c.sizes as number[][];
      const ratios = c.ratios as number[][];
      // Strides derived from the image size, as torchvision's forward does...
      const derived = generateMultiLevelAnchors({
        imageSize: pair(c.imageSize as number[]),
        levels: featureSizes.map((f, l) => ({ featureSize: pair(f), sizes: sizes[l]!, ratios: ratios[l]! })),
      });
      expectParity(derived.anchors, c.expected, 'anchors');
      expect(derived.counts).toEqual(c.counts);
      expect(derived.strides).toEqual(c.strides);
      expect(derived.anchorsPerLocation).toEqual(sizes.map((s, l) => s.length * ratios[l]!.length));
      // ... or given explicitly: the same anchors.
      const explicit = generateMultiLevelAnchors({
        levels: featureSizes.map((f, l) => ({ featureSize: pair(f), stride: pair((c.strides as number[][])[l]!), sizes: sizes[l]!, ratios: ratios[l]! })),
      });
      expectParity(explicit.anchors, c.expected, 'anchors (explicit strides)');
      tf.dispose([derived.anchors, explicit.anchors]);
    });
  }

  for (const c of cases(boxFixture, 'DefaultBoxGenerator.forward')) {
    it(`DefaultBoxGenerator.forward (${c.name})`, () => {
      const config: SsdDefaultBoxesConfig = {
        imageSize: pair(c.imageSize as number[]),
        featureMapSizes: (c.featureMapSizes as number[][]).map(pair),
        aspectRatios: c.aspectRatios as number[][],
        clip: c.clip as boolean,
        ...(c.steps ? { steps: c.steps as number[] } : {}),
        // Scales as the case gave them: explicit, from minRatio / maxRatio, or neither (the defaults).
        ...(c.scales !== undefined ? { scales: c.scales as number[] } : {}),
        ...(c.minRatio !== undefined ? { minRatio: c.minRatio as number } : {}),
        ...(c.maxRatio !== undefined ? { maxRatio: c.maxRatio as number } : {}),
      };
      const boxes = ssdDefaultBoxes(config);
      expectParity(boxes, c.expected, 'default boxes');
      const perLocation = ssdBoxesPerLocation(config);
      expect((c.featureMapSizes as number[][]).map(([h, w], k) => h! * w! * perLocation[k]!)).toEqual(c.counts);
      boxes.dispose();
    });
  }

  it('the SSD300 and SSDlite320 presets are the torchvision models\' generators', () => {
    for (const [preset, name] of [[SSD300, 'SSD300'], [{ ...SSD300, clip: false }, 'SSD300 no clip'], [SSDLITE320, 'SSDlite320']] as const) {
      const c = boxFixture.cases.find((k) => k.name === name)!;
      const boxes = ssdDefaultBoxes(preset);
      expectParity(boxes, c.expected, name);
      boxes.dispose();
    }
  });
});
