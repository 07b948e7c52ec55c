// Head weights: named tf.Variables, torchvision's initialisations (seeded), and a save / load round trip
// through tf.io (withSaveHandler -> fromMemory), with typed errors for weights that do not fit.
import { DetkitError, InvalidArgumentError, ShapeError, tf } from '@detkit/core';
import { describeEachBackend } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import { createBoxHead, createRpnHead, createSsdHead, loadHeadWeights, saveHeadWeights, type HeadWeights } from './index';

function stats(t: tf.Tensor) {
  const v = t.dataSync();
  let sum = 0, sq = 0, min = Infinity, max = -Infinity;
  for (const x of v) {
    sum += x;
    sq += x * x;
    min = Math.min(min, x);
    max = Math.max(max, x);
  }
  const mean = sum / v.length;
  return { mean, std: Math.sqrt(sq / v.length - mean * mean), min, max };
}

async function saved(head: HeadWeights): Promise<tf.io.ModelArtifacts> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await head.save(tf.io.withSaveHandler(async (a) => {
    artifacts = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return artifacts!;
}

describeEachBackend('head weights', () => {
  it('variables are named `${name}/${key}`, trainable, and freed by dispose()', () => {
    const a = createRpnHead({ inChannels: 4, midChannels: 8, numAnchors: 3 });
    const b = createRpnHead({ inChannels: 4, midChannels: 8, numAnchors: 3 });
    expect(a.name).toBe('rpn_head');
    expect(b.name).toBe('rpn_head_1');
    expect(Object.keys(a.variables)).toEqual(['conv/kernel', 'conv/bias', 'cls_logits/kernel', 'cls_logits/bias', 'bbox_pred/kernel', 'bbox_pred/bias']);
    expect(a.variables['conv/kernel']!.name).toBe('rpn_head/conv/kernel');
    expect(a.variables['conv/kernel']!.shape).toEqual([3, 3, 4, 8]);
    expect(a.variables['cls_logits/kernel']!.shape).toEqual([1, 1, 8, 3]);
    expect(a.variables['bbox_pred/kernel']!.shape).toEqual([1, 1, 8, 12]);
    expect(Object.values(a.variables).every((v) => v.trainable)).toBe(true);
    const e = (() => { try { createRpnHead({ inChannels: 4, name: 'rpn_head' }); } catch (err) { return err; } })();
    expect(DetkitError.isInstance(e) && (e as InvalidArgumentError).argument).toBe('name');
    a.dispose();
    b.dispose();
    expect(Object.keys(tf.engine().registeredVariables).filter((n) => n.startsWith('rpn_head'))).toEqual([]);
    createRpnHead({ inChannels: 4, name: 'rpn_head' }).dispose();
  });

  it("RPN head: N(0, 0.01) weights and zero biases (torchvision's RPNHead init)", () => {
    const head = createRpnHead({ inChannels: 64, midChannels: 64, numAnchors: 9, seed: 1 });
    const conv = stats(head.variables['conv/kernel']!);
    expect(Math.abs(conv.mean)).toBeLessThan(5e-4);
    expect(conv.std).toBeGreaterThan(0.0095);
    expect(conv.std).toBeLessThan(0.0105);
    for (const key of ['conv/bias', 'cls_logits/bias', 'bbox_pred/bias']) expect(stats(head.variables[key]!)).toMatchObject({ min: 0, max: 0 });
    head.dispose();
  });

  it("box head: torch.nn.Linear's default init, U(±1/sqrt(fan_in)) for weights and biases", () => {
    const head = createBoxHead({ inChannels: 16, poolSize: 7, representationSize: 64, numClasses: 5, seed: 2 });
    const fanIns: Record<string, number> = { fc6: 7 * 7 * 16, fc7: 64, cls_score: 64, bbox_pred: 64 };
    for (const [layer, fanIn] of Object.entries(fanIns)) {
      const bound = 1 / Math.sqrt(fanIn);
      const k = stats(head.variables[`${layer}/kernel`]!);
      expect(k.min).toBeGreaterThanOrEqual(-bound);
      expect(k.max).toBeLessThanOrEqual(bound);
      // Uniform: std = bound / sqrt(3).
      expect(k.std / (bound / Math.sqrt(3))).toBeGreaterThan(0.9);
      expect(k.std / (bound / Math.sqrt(3))).toBeLessThan(1.1);
      const b = stats(head.variables[`${layer}/bias`]!);
      expect(b.min).toBeGreaterThanOrEqual(-bound);
      expect(b.max).toBeLessThanOrEqual(bound);
    }
    expect(head.variables['cls_score/kernel']!.shape).toEqual([64, 5]);
    expect(head.variables['bbox_pred/kernel']!.shape).toEqual([64, 20]);
    head.dispose();
  });

  it("SSD head: xavier_uniform_ weights and zero biases (torchvision's _xavier_init)", () => {
    const head = createSsdHead({ inChannels: [32, 16], numAnchors: [4, 6], numClasses: 21, seed: 3 });
    const k = head.variables['classification/0/kernel']!;
    expect(k.shape).toEqual([3, 3, 32, 84]);
    const bound = Math.sqrt(6 / (32 * 9 + 84 * 9));
    const s = stats(k);
    expect(s.min).toBeGreaterThanOrEqual(-bound);
    expect(s.max).toBeLessThanOrEqual(bound);
    expect(s.std / (bound / Math.sqrt(3))).toBeGreaterThan(0.95);
    expect(s.std / (bound / Math.sqrt(3))).toBeLessThan(1.05);
    expect(head.variables['regression/1/kernel']!.shape).toEqual([3, 3, 16, 24]);
    expect(stats(head.variables['regression/1/bias']!)).toMatchObject({ min: 0, max: 0 });
    head.dispose();
  });

  it('the same seed gives the same weights; another seed others', () => {
    const a = createSsdHead({ inChannels: [4], numAnchors: [2], numClasses: 3, seed: 42 });
    const b = createSsdHead({ inChannels: [4], numAnchors: [2], numClasses: 3, seed: 42 });
    const c = createSsdHead({ inChannels: [4], numAnchors: [2], numClasses: 3, seed: 43 });
    const first = a.variables['classification/0/kernel']!.dataSync();
    expect(Array.from(b.variables['classification/0/kernel']!.dataSync())).toEqual(Array.from(first));
    expect(Array.from(c.variables['classification/0/kernel']!.dataSync())).not.toEqual(Array.from(first));
    [a, b, c].forEach((h) => h.dispose());
  });

  it('every head: seeds 0 and -1 are deterministic (tfjs reads a seed of 0 as unseeded), different seeds differ', () => {
    const makers: Array<(seed: number) => HeadWeights> = [
      (seed) => createRpnHead({ inChannels: 3, midChannels: 4, numAnchors: 2, seed }),
      (seed) => createBoxHead({ inChannels: 2, poolSize: 2, representationSize: 4, numClasses: 3, seed }),
      (seed) => createSsdHead({ inChannels: [3, 3], numAnchors: [2, 2], numClasses: 3, seed }),
    ];
    const values = (head: HeadWeights) => Object.fromEntries(Object.entries(head.variables).map(([k, v]) => [k, Array.from(v.dataSync())]));
    const random = (v: Record<string, number[]>) => Object.entries(v).filter(([, xs]) => xs.some((x) => x !== 0));
    for (const make of makers) {
      const heads = [0, 0, -1, -1, 1, 2 ** 32].map((seed) => make(seed));
      const [zero, zeroAgain, minusOne, minusOneAgain, one, wrapped] = heads.map(values) as Record<string, number[]>[];
      expect(zeroAgain).toEqual(zero);
      expect(minusOneAgain).toEqual(minusOne);
      // Only the low 32 bits of the seed count.
      expect(wrapped).toEqual(zero);
      for (const other of [minusOne!, one!]) {
        for (const [key, xs] of random(zero!)) expect(other[key], key).not.toEqual(xs);
      }
      // Each parameter has its own stream: no parameter repeats another's draws, in one head or between
      // seeds (with `seed + i`, parameter i + 1 of seed s drew what parameter i of seed s + 1 drew).
      const firsts = [zero!, one!].flatMap((v) => random(v).map(([, xs]) => xs[0]));
      expect(new Set(firsts).size).toBe(firsts.length);
      heads.forEach((h) => h.dispose());
    }
  });

  it('rejects a non-integer seed', () => {
    expect(() => createRpnHead({ inChannels: 3, seed: 0.5 })).toThrow(InvalidArgumentError);
    expect(() => createRpnHead({ inChannels: 3, seed: 0.5 })).toThrow(/'seed' must be an integer/);
  });

  it('save -> load round trip through tf.io.withSaveHandler and tf.io.fromMemory', async () => {
    for (const make of [
      () => createRpnHead({ inChannels: 3, midChannels: 5, numAnchors: 2, objectnessLogits: 2 }),
      () => createBoxHead({ inChannels: 2, poolSize: 2, representationSize: 6, numClasses: 3 }),
      () => createSsdHead({ inChannels: [3, 2], numAnchors: [2, 3], numClasses: 4 }),
    ]) {
      const source = make();
      const target = make();
      const artifacts = await saved(source);
      expect(artifacts.format).toBe('detkit-head');
      expect((artifacts.modelTopology as { kind: string }).kind).toBe(source.kind);
      expect(artifacts.weightSpecs!.map((s) => s.name)).toEqual(Object.keys(source.variables));
      await target.load(tf.io.fromMemory(artifacts));
      for (const [key, v] of Object.entries(source.variables)) {
        expect(Array.from(target.variables[key]!.dataSync()), key).toEqual(Array.from(v.dataSync()));
      }
      // The free functions do the same.
      await loadHeadWeights(target, tf.io.fromMemory(await (async () => {
        let a: tf.io.ModelArtifacts | undefined;
        await saveHeadWeights(source, tf.io.withSaveHandler(async (x) => ((a = x), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
        return a!;
      })()));
      source.dispose();
      target.dispose();
    }
  });

  it('loading weights that do not fit: typed errors, and nothing is assigned', async () => {
    const small = createRpnHead({ inChannels: 3, midChannels: 5, numAnchors: 2 });
    const big = createRpnHead({ inChannels: 3, midChannels: 6, numAnchors: 2 });
    const box = createBoxHead({ inChannels: 2, poolSize: 2, representationSize: 6, numClasses: 3 });
    const before = Array.from(big.variables['bbox_pred/bias']!.dataSync());
    const artifacts = await saved(small);
    const shape = await big.load(tf.io.fromMemory(artifacts)).catch((e) => e);
    expect(shape).toBeInstanceOf(ShapeError);
    expect((shape as ShapeError).argument).toBe('conv/kernel');
    expect(Array.from(big.variables['bbox_pred/bias']!.dataSync())).toEqual(before);
    const kind = await box.load(tf.io.fromMemory(artifacts)).catch((e) => e);
    expect(kind).toBeInstanceOf(InvalidArgumentError);
    expect((kind as Error).message).toContain("'rpn' head");
    const missing = await small.load(tf.io.fromMemory({ ...artifacts, weightSpecs: artifacts.weightSpecs!.slice(1) })).catch((e) => e);
    expect(missing).toBeInstanceOf(InvalidArgumentError);
    expect((missing as Error).message).toContain("no weight 'conv/kernel'");
    [small, big, box].forEach((h) => h.dispose());
  });
});
