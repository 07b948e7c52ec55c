// Bad options and inputs get a typed error naming the argument, before any work is done.
import { InvalidArgumentError, InvalidValueError, ShapeError, tf } from '@detkit/core';
import { describeEachBackend, thrownDetkitError } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import { anchorsInsideImage, cellAnchors, generateAnchors, generateMultiLevelAnchors, ssdBoxesPerLocation, ssdDefaultBoxes, SSD300, type GenerateAnchorsOptions } from './index';

/** The argument named by the InvalidArgumentError that `fn` throws. */
function badArgument(fn: () => unknown): string {
  const e = thrownDetkitError(fn);
  expect(e).toBeInstanceOf(InvalidArgumentError);
  expect(e.code).toBe('INVALID_ARGUMENT');
  return (e as InvalidArgumentError).argument;
}

const ok: GenerateAnchorsOptions = { featureSize: [2, 3], stride: 16, sizes: [32] };

describeEachBackend('typed errors', () => {
  it('generateAnchors: each bad option is named', () => {
    expect(badArgument(() => generateAnchors({ ...ok, featureSize: [2.5, 3] }))).toBe('featureSize');
    expect(badArgument(() => generateAnchors({ ...ok, featureSize: [2] as unknown as [number, number] }))).toBe('featureSize');
    expect(badArgument(() => generateAnchors({ ...ok, stride: 0 }))).toBe('stride');
    expect(badArgument(() => generateAnchors({ ...ok, stride: [16, NaN] }))).toBe('stride');
    expect(badArgument(() => generateAnchors({ ...ok, sizes: [] }))).toBe('sizes');
    expect(badArgument(() => generateAnchors({ ...ok, sizes: [32, -1] }))).toBe('sizes');
    expect(badArgument(() => generateAnchors({ ...ok, scales: [8] }))).toBe('sizes'); // both given
    expect(badArgument(() => generateAnchors({ featureSize: [2, 3], stride: 16 }))).toBe('sizes'); // neither
    expect(badArgument(() => generateAnchors({ featureSize: [2, 3], stride: [16, 8], scales: [8] }))).toBe('baseSize');
    expect(badArgument(() => generateAnchors({ featureSize: [2, 3], stride: 16, scales: [8], baseSize: 0 }))).toBe('baseSize');
    expect(badArgument(() => generateAnchors({ ...ok, ratios: [0] }))).toBe('ratios');
    expect(badArgument(() => generateAnchors({ ...ok, offset: 8 }))).toBe('offset'); // pixels, not a fraction
    expect(badArgument(() => generateAnchors({ ...ok, offset: -0.5 }))).toBe('offset');
    expect(badArgument(() => generateAnchors({ ...ok, round: 1 as unknown as boolean }))).toBe('round');
    expect(badArgument(() => generateAnchors(null as unknown as GenerateAnchorsOptions))).toBe('options');
    expect(thrownDetkitError(() => generateAnchors({ ...ok, offset: 8 })).message).toContain("generateAnchors: 'offset' must be a fraction of the stride");
    expect(badArgument(() => cellAnchors({ scales: [8] }))).toBe('baseSize');
  });

  it('generateMultiLevelAnchors: names the level', () => {
    const level = { featureSize: [4, 4] as [number, number], sizes: [32] };
    expect(badArgument(() => generateMultiLevelAnchors({ levels: [level] }))).toBe('imageSize'); // no stride to derive
    expect(badArgument(() => generateMultiLevelAnchors({ imageSize: [2, 64], levels: [level] }))).toBe('imageSize'); // stride 0
    expect(badArgument(() => generateMultiLevelAnchors({ imageSize: [64, 64], levels: [level, { ...level, sizes: [] }] }))).toBe('levels[1].sizes');
    expect(badArgument(() => generateMultiLevelAnchors({ imageSize: [64, 64], levels: [{ ...level, stride: -2 }] }))).toBe('levels[0].stride');
    expect(badArgument(() => generateMultiLevelAnchors({ imageSize: [64, 64], levels: [{ ...level, featureSize: [4, -4] }] }))).toBe('levels[0].featureSize');
    expect(badArgument(() => generateMultiLevelAnchors({ levels: 'p2' as unknown as [] }))).toBe('levels');
    expect(badArgument(() => generateMultiLevelAnchors({ levels: [], offset: 1 }))).toBe('offset');
  });

  it('anchorsInsideImage: shapes, values and options', () => {
    const e = thrownDetkitError(() => anchorsInsideImage([[0, 0, 1]], [10, 10])) as ShapeError;
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.argument).toBe('anchors');
    expect(e.actual).toEqual([1, 3]);
    const v = thrownDetkitError(() => anchorsInsideImage([[0, 0, 1, 1], [0, NaN, 1, 1]], [10, 10])) as InvalidValueError;
    expect(v).toBeInstanceOf(InvalidValueError);
    expect(v.index).toBe(1);
    expect(thrownDetkitError(() => anchorsInsideImage([[5, 0, 1, 1]], [10, 10])).message).toContain('x2 < x1');
    expect(badArgument(() => anchorsInsideImage([[0, 0, 1, 1]], [10, -1]))).toBe('imageSize');
    expect(badArgument(() => anchorsInsideImage([[0, 0, 1, 1]], [10, 10], { allowedBorder: NaN }))).toBe('allowedBorder');
    expect(badArgument(() => anchorsInsideImage('boxes' as unknown as number[][], [10, 10]))).toBe('anchors');
  });

  it('ssdDefaultBoxes: mismatched lengths and bad values', () => {
    expect(badArgument(() => ssdDefaultBoxes({ ...SSD300, aspectRatios: SSD300.aspectRatios.slice(1) }))).toBe('aspectRatios');
    expect(badArgument(() => ssdDefaultBoxes({ ...SSD300, steps: [8, 16] }))).toBe('steps');
    expect(badArgument(() => ssdDefaultBoxes({ ...SSD300, scales: [0.1, 0.2] }))).toBe('scales');
    expect(badArgument(() => ssdDefaultBoxes({ ...SSD300, scales: [0.07, 0.15, 0.33, 0.51, 0.69, 0.87, -1] }))).toBe('scales');
    expect(badArgument(() => ssdDefaultBoxes({ ...SSD300, featureMapSizes: [38, 19, 10, 5, 3, 1.5] }))).toBe('featureMapSizes[5]');
    expect(badArgument(() => ssdDefaultBoxes({ ...SSD300, aspectRatios: [[2], [2, 3], [2, -3], [2, 3], [2], [2]] }))).toBe('aspectRatios[2]');
    expect(badArgument(() => ssdDefaultBoxes({ ...SSD300, imageSize: [0, 300] }))).toBe('imageSize');
    expect(badArgument(() => ssdDefaultBoxes({ ...SSD300, scales: undefined, minRatio: 0 }))).toBe('minRatio');
    expect(badArgument(() => ssdDefaultBoxes({ ...SSD300, clip: 'yes' as unknown as boolean }))).toBe('clip');
    expect(badArgument(() => ssdBoxesPerLocation({} as typeof SSD300))).toBe('aspectRatios');
  });

  it('errors leave no tensors behind', () => {
    const before = tf.memory().numTensors;
    thrownDetkitError(() => anchorsInsideImage([[0, 0, 1, 1], [0, NaN, 1, 1]], [10, 10]));
    thrownDetkitError(() => anchorsInsideImage([[0, 0, 1]], [10, 10]));
    thrownDetkitError(() => generateAnchors({ ...ok, ratios: [] }));
    expect(tf.memory().numTensors).toBe(before);
  });
});
