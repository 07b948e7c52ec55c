// assignWeights: all or nothing. (@detkit/test-utils depends on this package, so these tests carry their
// own per-backend loop.)
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from './backend';
import { InvalidArgumentError, ShapeError } from './errors';
import { tf } from './tf';
import { assignWeights, saveWeights } from './weights';

/** Artifacts holding `weights` (by name), encoded as a tfjs IO handler would give them back. */
async function artifactsOf(weights: Record<string, tf.Tensor>): Promise<tf.io.ModelArtifacts> {
  const { data, specs } = await tf.io.encodeWeights(weights);
  return { weightSpecs: specs, weightData: data };
}

for (const backend of ['cpu', 'wasm'] as const) describe(`assignWeights [${backend}]`, () => {
  beforeAll(() => setupBackend(backend));

  it('assigns every variable from its weight, ignores extra weights, disposes what it decoded', async () => {
    const a = tf.variable(tf.zeros([2]), true, `a-${backend}`);
    const b = tf.variable(tf.zeros([1, 2]), true, `b-${backend}`);
    const saved = { a: tf.tensor1d([1, 2]), b: tf.tensor2d([[3, 4]]), extra: tf.scalar(9) };
    const artifacts = await artifactsOf(saved);
    tf.dispose(Object.values(saved));
    const before = tf.memory().numTensors;
    assignWeights('load', 'source', { a, b }, artifacts);
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(a.dataSync())).toEqual([1, 2]);
    expect(Array.from(b.dataSync())).toEqual([3, 4]);
    tf.dispose([a, b]);
  });

  it('assigns nothing when one weight is missing, of another shape or dtype, and names it', async () => {
    const a = tf.variable(tf.zeros([2]), true, `a2-${backend}`);
    const b = tf.variable(tf.zeros([2]), true, `b2-${backend}`);
    const cases: [Record<string, tf.Tensor>, new (...args: never[]) => Error, RegExp][] = [
      [{ a: tf.tensor1d([1, 2]) }, InvalidArgumentError, /load: 'source' holds no weight 'b'/],
      [{ a: tf.tensor1d([1, 2]), b: tf.tensor1d([1, 2, 3]) }, ShapeError, /load: 'b' must have shape \[2\], got \[3\]/],
      [{ a: tf.tensor1d([1, 2]), b: tf.tensor1d([1, 2], 'int32') }, InvalidArgumentError, /weight 'b' has dtype int32, expected float32/],
    ];
    for (const [weights, errorClass, message] of cases) {
      const artifacts = await artifactsOf(weights);
      tf.dispose(Object.values(weights));
      const before = tf.memory().numTensors;
      expect(() => assignWeights('load', 'source', { a, b }, artifacts)).toThrow(errorClass);
      expect(() => assignWeights('load', 'source', { a, b }, artifacts)).toThrow(message);
      expect(tf.memory().numTensors).toBe(before);
      expect(Array.from(a.dataSync())).toEqual([0, 0]); // a was valid, but nothing is assigned
    }
    expect(() => assignWeights('load', 'source', { a }, {})).toThrow(/'source' holds no weights/);
    tf.dispose([a, b]);
  });

  it('saveWeights stores the variables by key with the topology and labels given; assignWeights reads them back', async () => {
    const a = tf.variable(tf.tensor1d([1, 2]), true, `a3-${backend}`);
    const b = tf.variable(tf.tensor2d([[3, 4]]), true, `b3-${backend}`);
    let saved: tf.io.ModelArtifacts | undefined;
    const before = tf.memory().numTensors;
    await saveWeights('save', 'destination', tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }), { a, b }, { modelTopology: { kind: 'test' }, format: 'detkit-test', generatedBy: '@detkit/core' });
    expect(tf.memory().numTensors).toBe(before);
    expect(saved).toMatchObject({ modelTopology: { kind: 'test' }, format: 'detkit-test', generatedBy: '@detkit/core', convertedBy: null });
    expect(saved!.weightSpecs!.map((s) => [s.name, s.shape, s.dtype])).toEqual([['a', [2], 'float32'], ['b', [1, 2], 'float32']]);
    const c = tf.variable(tf.zeros([2]), true, `c3-${backend}`);
    const d = tf.variable(tf.zeros([1, 2]), true, `d3-${backend}`);
    assignWeights('load', 'source', { a: c, b: d }, saved!);
    expect([Array.from(c.dataSync()), Array.from(d.dataSync())]).toEqual([[1, 2], [3, 4]]);
    await expect(saveWeights('save', 'destination', {} as tf.io.IOHandler, { a }, { modelTopology: {}, format: 'x', generatedBy: 'y' })).rejects.toThrow(
      /save: 'destination' must be a tf.io IOHandler with save\(\)/,
    );
    tf.dispose([a, b, c, d]);
  });
});
