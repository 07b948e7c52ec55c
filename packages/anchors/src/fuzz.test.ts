// Fuzz suite (issue 15): every public op on hostile options and inputs (NaN, infinities, huge and tiny
// values, huge grids, wrong types, ragged and empty arrays). The only outcomes allowed: a typed DetkitError,
// or a finite result of the documented shape, no tensor left behind, no hang. See @detkit/test-utils/fuzz.
import type { tf } from '@detkit/core';
import { describeEachBackend } from '@detkit/test-utils';
import { boxes, fuzz, number, option } from '@detkit/test-utils/fuzz';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { MAX_ANCHORS, anchorsInsideImage, cellAnchors, generateAnchors, generateMultiLevelAnchors, ssdBoxesPerLocation, ssdDefaultBoxes } from './index';

const positiveNumber = option(fc.oneof(fc.double({ min: 0.01, max: 512, noNaN: true }), fc.constantFrom(1e-30, 1e30, 3e38, 1e15)));
const list = option(fc.array(positiveNumber, { minLength: 0, maxLength: 3 }));
const gridSide = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 12 }) }, { weight: 1, arbitrary: fc.constantFrom(4096, 2 ** 31, 0.5, -1, NaN) });
const grid = option(fc.tuple(gridSide, gridSide));
const sizeOrScale = fc.oneof(fc.record({ sizes: list }), fc.record({ scales: list, baseSize: positiveNumber }, { requiredKeys: ['scales'] }), fc.constant({}));
const rows = (t: tf.Tensor) => expect([t.rank, t.shape[1]]).toEqual([2, 4]);

describeEachBackend('fuzz', () => {
  it('cellAnchors and generateAnchors', () => {
    fuzz('cellAnchors', fc.tuple(fc.tuple(sizeOrScale, fc.record({ ratios: list, round: option(fc.boolean()) }, { requiredKeys: [] })).map(([a, b]) => ({ ...a, ...b }))), (o) => cellAnchors(o), { check: rows });
    const options = fc
      .tuple(sizeOrScale, fc.record({ featureSize: grid, stride: option(fc.oneof(positiveNumber, fc.tuple(positiveNumber, positiveNumber))), ratios: list, offset: option(fc.double({ min: 0, max: 1, noNaN: true })) }, { requiredKeys: ['featureSize', 'stride'] }))
      .map(([a, b]) => ({ ...a, ...b }));
    fuzz('generateAnchors', fc.tuple(options), (o) => generateAnchors(o), { check: (t: tf.Tensor) => rows(t) });
  });

  it('generateMultiLevelAnchors', () => {
    const level = fc.tuple(sizeOrScale, fc.record({ featureSize: grid, stride: option(positiveNumber), ratios: list }, { requiredKeys: ['featureSize'] })).map(([a, b]) => ({ ...a, ...b }));
    const options = fc.record({ levels: option(fc.array(level, { minLength: 0, maxLength: 3 })), imageSize: option(fc.tuple(positiveNumber, positiveNumber)), offset: option(fc.double({ min: 0, max: 0.99, noNaN: true })) }, { requiredKeys: ['levels'] });
    fuzz('generateMultiLevelAnchors', fc.tuple(options), (o) => generateMultiLevelAnchors(o as never), {
      check: (r: { anchors: tf.Tensor; counts: number[] }) => {
        rows(r.anchors);
        expect(r.counts.reduce((a, b) => a + b, 0)).toBe(r.anchors.shape[0]);
      },
    });
  });

  it('ssdDefaultBoxes and ssdBoxesPerLocation', () => {
    const config = fc.integer({ min: 0, max: 3 }).chain((levels) =>
      fc.record(
        {
          imageSize: option(fc.tuple(positiveNumber, positiveNumber)),
          featureMapSizes: option(fc.array(fc.oneof(gridSide, fc.tuple(gridSide, gridSide)), { minLength: levels, maxLength: levels })),
          aspectRatios: option(fc.array(fc.array(positiveNumber, { maxLength: 2 }), { minLength: levels, maxLength: levels })),
          scales: option(fc.array(fc.double({ min: 0.05, max: 1, noNaN: true }), { minLength: levels + 1, maxLength: levels + 1 })),
          steps: option(fc.array(positiveNumber, { minLength: levels, maxLength: levels })),
          clip: option(fc.boolean()),
        },
        { requiredKeys: ['imageSize', 'featureMapSizes', 'aspectRatios'] },
      ),
    );
    fuzz('ssdDefaultBoxes', fc.tuple(config), (c) => ssdDefaultBoxes(c as never), { check: rows });
    fuzz('ssdBoxesPerLocation', fc.tuple(config), (c) => ssdBoxesPerLocation(c as never), {
      check: (r: number[]) => expect(r.every((v) => Number.isInteger(v) && v >= 2)).toBe(true),
    });
  });

  it('anchorsInsideImage', () => {
    fuzz('anchorsInsideImage', fc.tuple(boxes(6), option(fc.tuple(positiveNumber, positiveNumber)), fc.record({ allowedBorder: option(number()) }, { requiredKeys: [] })), (a, size, o) => anchorsInsideImage(a, size, o), {
      check: (r: tf.Tensor) => expect([r.rank, r.dtype]).toEqual([1, 'int32']),
    });
  });

  it('issue 15 probe: a 1e5 x 1e5 grid is a typed error naming featureSize (MAX_ANCHORS), not a RangeError', () => {
    expect(() => generateAnchors({ featureSize: [1e5, 1e5], stride: 16, sizes: [32] })).toThrow(/generateAnchors: 'featureSize' would make 30000000000 anchors, more than MAX_ANCHORS/);
    expect(() => ssdDefaultBoxes({ imageSize: [300, 300], featureMapSizes: [1e5], aspectRatios: [[2]] })).toThrow(/'featureMapSizes' would make/);
    expect(() => generateMultiLevelAnchors({ levels: [{ featureSize: [1e4, 1e4], stride: 4, sizes: [32] }] })).toThrow(/'levels' would make/);
    expect(MAX_ANCHORS).toBe(2 ** 24);
    expect(() => generateAnchors({ featureSize: [3, 3], stride: 3e38, sizes: [32] })).toThrow(/beyond float32's range/);
  });
});
