import { createRandom, InvalidArgumentError, ShapeError, setupBackend, tf } from '@detkit/core';
import { describeEachBackend, expectNoLeaks } from '@detkit/test-utils';
import { describe, expect, it } from 'vitest';
import { ROI_SAMPLER_OPTIONS, RPN_SAMPLER_OPTIONS, sampleBalanced } from './index';

function run(labels: number[], options: Parameters<typeof sampleBalanced>[1]) {
  const out = sampleBalanced(labels, options);
  const r = { labels: Array.from(out.labels.dataSync()), indices: Array.from(out.indices.dataSync()) };
  tf.dispose([out.labels, out.indices]);
  return r;
}

describeEachBackend('sampleBalanced', () => {
  it('presets: RPN 256 at 0.5, RoI 128 at 0.25', () => {
    expect(RPN_SAMPLER_OPTIONS).toEqual({ batchSize: 256, positiveFraction: 0.5 });
    expect(ROI_SAMPLER_OPTIONS).toEqual({ batchSize: 128, positiveFraction: 0.25 });
  });

  it('keeps every element when the budget covers them, and never an ignored one', () => {
    // 2 positives, 3 negatives, 2 ignored; batch 8 at 0.5: room for 4 positives, so both; then 8 - 2 = 6
    // negatives wanted, 3 available.
    const labels = [1, 0, -1, 0, 5, -1, 0];
    expect(run(labels, { batchSize: 8, positiveFraction: 0.5, seed: 1 })).toEqual({ labels, indices: [0, 1, 3, 4, 6] });
  });

  it('fills the batch with negatives when positives are few (batch minus the positives taken)', () => {
    // 1 positive, 10 negatives, batch 4 at 0.5: 1 positive and 4 - 1 = 3 negatives.
    const labels = [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
    const r = run(labels, { batchSize: 4, positiveFraction: 0.5, seed: 3 });
    expect(r.labels.filter((l) => l === 1)).toHaveLength(1);
    expect(r.labels.filter((l) => l === 0)).toHaveLength(3);
    expect(r.labels.filter((l) => l === -1)).toHaveLength(7);
    expect(r.indices).toHaveLength(4);
    expect(r.indices).toContain(3);
  });

  it('caps the positives at floor(batchSize * positiveFraction)', () => {
    // 6 positives, 6 negatives, batch 5 at 0.5: floor(2.5) = 2 positives, 3 negatives.
    const labels = [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0];
    const r = run(labels, { batchSize: 5, positiveFraction: 0.5, seed: 4 });
    expect(r.labels.filter((l) => l === 1)).toHaveLength(2);
    expect(r.labels.filter((l) => l === 0)).toHaveLength(3);
  });

  it('the same seed gives the same sample; a seeded rng a reproducible sequence of different samples', () => {
    const labels = Array.from({ length: 500 }, (_, i) => (i % 7 === 0 ? 1 : i % 3 === 0 ? -1 : 0));
    const a = run(labels, { ...RPN_SAMPLER_OPTIONS, seed: 11 });
    expect(run(labels, { ...RPN_SAMPLER_OPTIONS, seed: 11 })).toEqual(a);
    expect(run(labels, { ...RPN_SAMPLER_OPTIONS, seed: 12 })).not.toEqual(a);
    const r1 = createRandom(5), r2 = createRandom(5);
    const first = [run(labels, { ...RPN_SAMPLER_OPTIONS, rng: r1 }), run(labels, { ...RPN_SAMPLER_OPTIONS, rng: r1 })];
    expect([run(labels, { ...RPN_SAMPLER_OPTIONS, rng: r2 }), run(labels, { ...RPN_SAMPLER_OPTIONS, rng: r2 })]).toEqual(first);
    expect(first[0]).not.toEqual(first[1]);
  });

  it('empty input and a zero budget are defined', () => {
    expect(run([], { ...RPN_SAMPLER_OPTIONS, seed: 1 })).toEqual({ labels: [], indices: [] });
    expect(run([1, 0, 0], { batchSize: 0, positiveFraction: 0.5, seed: 1 })).toEqual({ labels: [-1, -1, -1], indices: [] });
  });

  it('leaks no tensors', async () => {
    const labels = tf.tensor1d([1, 0, 0, -1, 1], 'int32');
    await expectNoLeaks(() => sampleBalanced(labels, { batchSize: 2, positiveFraction: 0.5, seed: 1 }));
    await expectNoLeaks(() => sampleBalanced([1.0, 0.0, -1.0], { batchSize: 2, positiveFraction: 0.5, seed: 1 }));
    labels.dispose();
  });
});

describe('sampleBalanced on every backend', () => {
  it('gives the same sample for the same seed on cpu and wasm', async () => {
    const labels = Array.from({ length: 3000 }, (_, i) => ((i * 7919) % 13 === 0 ? 2 : (i * 31) % 5 === 0 ? -1 : 0));
    const results = [];
    for (const backend of ['cpu', 'wasm'] as const) {
      await setupBackend(backend);
      results.push(run(labels, { ...RPN_SAMPLER_OPTIONS, seed: 2026 }));
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[0]!.indices).toHaveLength(256);
  });

  it('rejects bad labels and options with typed errors naming them', () => {
    expect(() => sampleBalanced([[1, 0]], { ...RPN_SAMPLER_OPTIONS, seed: 1 })).toThrow(ShapeError);
    const bad: [Record<string, unknown>, string][] = [
      [{ batchSize: -1, positiveFraction: 0.5 }, 'batchSize'],
      [{ batchSize: 2.5, positiveFraction: 0.5 }, 'batchSize'],
      [{ batchSize: 10, positiveFraction: 1.5 }, 'positiveFraction'],
      [{ batchSize: 10, positiveFraction: 0.5, seed: 'x' }, 'seed'],
      [{ batchSize: 10, positiveFraction: 0.5, rng: 3 }, 'rng'],
    ];
    for (const [options, argument] of bad) {
      let error: unknown;
      try {
        sampleBalanced([1, 0], options as never);
      } catch (e) {
        error = e;
      }
      expect(error, argument).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).argument).toBe(argument);
    }
  });
});
