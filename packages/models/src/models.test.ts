import { useBackend } from '@detkit/backends';
import { DetkitError, InvalidArgumentError, tf } from '@detkit/core';
import { expectNoLeaks } from '@detkit/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createConvBackbone,
  createDetector,
  createFasterRcnn,
  createSsd,
  loadDetectorModel,
  trainableVariables,
  type Backbone,
  type Detector,
  type DetectorConfig,
  type ImageTargets,
} from './index';
import { savedArtifacts } from './test-save';

/** Four 64 x 64 images, each with one or two bright shapes on a dark background, and their boxes. */
function tinyBatch(): { images: tf.Tensor4D; targets: ImageTargets[] } {
  const size = 64;
  const pixels = new Float32Array(4 * size * size * 3).fill(-1);
  const layout: [number, number, number, number, number][][] = [
    [[8, 8, 30, 28, 0]],
    [[30, 20, 56, 50, 1], [4, 40, 20, 60, 0]],
    [[12, 30, 44, 58, 1]],
    [[36, 4, 60, 26, 0]],
  ];
  const targets = layout.map((boxes, b) => {
    for (const [x1, y1, x2, y2, label] of boxes) {
      for (let y = y1; y < y2; y++) {
        for (let x = x1; x < x2; x++) {
          const o = ((b * size + y) * size + x) * 3;
          pixels[o] = label === 0 ? 2 : -1;
          pixels[o + 1] = label === 1 ? 2 : -1;
          pixels[o + 2] = 1;
        }
      }
    }
    return { boxes: Float32Array.from(boxes.flatMap(([x1, y1, x2, y2]) => [x1, y1, x2, y2])), labels: Int32Array.from(boxes.map((b) => b[4])) };
  });
  return { images: tf.tensor4d(pixels, [4, size, size, 3]), targets };
}

function train(detector: Detector, steps: number, lr: number): number[] {
  const { images, targets } = tinyBatch();
  const optimizer = tf.train.adam(lr);
  const losses: number[] = [];
  let s = 1;
  const rng = () => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
  for (let i = 0; i < steps; i++) {
    const cost = optimizer.minimize(() => detector.loss(images, targets, { rng }).total, true, trainableVariables(detector)) as tf.Scalar;
    losses.push(cost.dataSync()[0] as number);
    cost.dispose();
  }
  optimizer.dispose();
  images.dispose();
  return losses;
}

async function roundTrip(detector: Detector<DetectorConfig>): Promise<Detector<DetectorConfig>> {
  return loadDetectorModel(tf.io.fromMemory(await savedArtifacts(detector)));
}

for (const backend of ['cpu', 'wasm'] as const) {
  // tfjs-backend-cpu's convolution gradients are plain JavaScript: fewer steps there keep the suite quick.
  const steps = backend === 'wasm' ? 12 : 4;
  describe(`models [${backend}]`, () => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    it('the conv backbone gives maps at the declared strides and channels', () => {
      const backbone = createConvBackbone({ channels: [8, 16, 24], outputStrides: [4, 8], seed: 0 });
      const maps = backbone.apply(tf.zeros([2, 64, 48, 3]));
      expect(maps.map((m) => m.shape)).toEqual([
        [2, 16, 12, 16],
        [2, 8, 6, 24],
      ]);
      expect(backbone.levels).toEqual([
        { stride: 4, channels: 16 },
        { stride: 8, channels: 24 },
      ]);
      tf.dispose(maps);
      backbone.dispose();
    });

    it('batch norm has the gradient of tfjs moments + batchNorm and updates its moving statistics', () => {
      const bb = createConvBackbone({ channels: [4, 6], convsPerStage: 2, outputStrides: [4], seed: 1 });
      const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
      const w = tf.randomNormal([2, 2, 2, 6], 0, 1, 'float32', 4);
      const vars = trainableVariables({ variables: bb.variables });
      const ours = tf.variableGrads(() => tf.sum(tf.mul(bb.apply(x, { training: true })[0]!, w)) as tf.Scalar, vars);
      const reference = tf.variableGrads(() => {
        let h: tf.Tensor4D = x;
        const v = bb.variables;
        for (const [key, stride] of [['stage1/conv1', 2], ['stage1/conv2', 1], ['stage2/conv1', 2], ['stage2/conv2', 1]] as const) {
          const y = tf.conv2d(h, v[`${key}/kernel`] as tf.Tensor as tf.Tensor4D, stride, 'same');
          const { mean, variance } = tf.moments(y, [0, 1, 2]);
          h = tf.relu(tf.batchNorm(y, mean, variance, v[`${key}/bias`] as tf.Tensor as tf.Tensor1D, v[`${key}/gamma`] as tf.Tensor as tf.Tensor1D, 1e-5)) as tf.Tensor4D;
        }
        return tf.sum(tf.mul(h, w)) as tf.Scalar;
      }, vars);
      expect(ours.value.dataSync()[0]).toBeCloseTo(reference.value.dataSync()[0] as number, 4);
      for (const v of vars) {
        const a = ours.grads[v.name]!.dataSync();
        const b = reference.grads[v.name]!.dataSync();
        a.forEach((g, i) => expect(Math.abs(g - (b[i] as number))).toBeLessThan(1e-4 * (1 + Math.abs(b[i] as number))));
      }
      // Two forward passes in training mode moved the means away from 0 (the conv outputs are not centred).
      expect(Array.from(bb.variables['stage1/conv1/moving_mean']!.dataSync()).some((m) => m !== 0)).toBe(true);
      tf.dispose([x, w, ours.value, reference.value, ...Object.values(ours.grads), ...Object.values(reference.grads)]);
      bb.dispose();
    });

    it('SSD: the loss goes down on a tiny batch, a step leaks no tensor, and a saved model predicts the same', async () => {
      const ssd = createSsd({ numClasses: 2, imageSize: 64, seed: 0, backbone: { channels: [8, 16, 16, 24, 32] } });
      const losses = train(ssd, steps, 0.01);
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! * (steps > 4 ? 0.6 : 0.9));
      const { images, targets } = tinyBatch();
      const optimizer = tf.train.adam(1e-3);
      optimizer.minimize(() => ssd.loss(images, targets).total, false, trainableVariables(ssd)); // creates the optimizer's slots
      await expectNoLeaks(() => optimizer.minimize(() => ssd.loss(images, targets).total, true, trainableVariables(ssd)));
      await expectNoLeaks(() => void ssd.detect(images));
      const before = ssd.detect(images);
      expect(before).toHaveLength(4);
      const reloaded = await roundTrip(ssd);
      expect(reloaded.config).toEqual(ssd.config);
      expect(reloaded.detect(images)).toEqual(before);
      tf.dispose(images);
      optimizer.dispose();
      reloaded.dispose();
      ssd.dispose();
    });

    it('Faster R-CNN: the loss goes down on a tiny batch, a step leaks no tensor, and a saved model predicts the same', async () => {
      const frcnn = createFasterRcnn({ numClasses: 2, imageSize: 64, seed: 0, backbone: { channels: [8, 16, 16] }, representationSize: 32, anchorSizes: [16, 32] });
      const losses = train(frcnn, steps, 0.005);
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! * (steps > 4 ? 0.8 : 0.95));
      const { images, targets } = tinyBatch();
      const optimizer = tf.train.adam(1e-3);
      const rng = () => 0.5;
      optimizer.minimize(() => frcnn.loss(images, targets, { rng }).total, false, trainableVariables(frcnn));
      await expectNoLeaks(() => optimizer.minimize(() => frcnn.loss(images, targets, { rng }).total, true, trainableVariables(frcnn)));
      const before = frcnn.detect(images, { scoreThreshold: 0 });
      const reloaded = await roundTrip(frcnn);
      expect(reloaded.detect(images, { scoreThreshold: 0 })).toEqual(before);
      expect(before.some((d) => d.scores.length > 0)).toBe(true);
      tf.dispose(images);
      optimizer.dispose();
      reloaded.dispose();
      frcnn.dispose();
    });
  });
}

describe('models: options and custom backbones', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('the same seed (0 included) gives the same weights; another seed different ones', () => {
    const make = (seed: number) => createFasterRcnn({ numClasses: 2, imageSize: 32, seed, backbone: { channels: [4, 8] }, representationSize: 8 });
    const [a, b, c] = [make(0), make(0), make(1)];
    for (const key of Object.keys(a.variables)) {
      expect(Array.from(b.variables[key]!.dataSync()), key).toEqual(Array.from(a.variables[key]!.dataSync()));
    }
    expect(Array.from(c.variables['backbone/stage1/conv1/kernel']!.dataSync())).not.toEqual(Array.from(a.variables['backbone/stage1/conv1/kernel']!.dataSync()));
    [a, b, c].forEach((d) => d.dispose());
  });

  it('bad options throw typed errors naming the option', () => {
    expect(() => createConvBackbone({ outputStrides: [8, 16] })).toThrow(/outputStrides/);
    expect(() => createConvBackbone({ channels: [8, 0] })).toThrow(InvalidArgumentError);
    expect(() => createSsd({ numClasses: 0 })).toThrow(/numClasses/);
    expect(() => createFasterRcnn({ numClasses: 2, backbone: { channels: [8, 16, 32], outputStrides: [4, 8] } })).toThrow(/exactly one feature map/);
    try {
      createSsd({ numClasses: 2, aspectRatios: [[2]] });
      expect.fail('no error');
    } catch (e) {
      expect(DetkitError.isInstance(e) && e.code).toBe('INVALID_ARGUMENT');
    }
  });

  it("a user's own backbone plugs in, and createDetector needs it again for a 'custom' config", () => {
    const kernel = tf.variable(tf.randomNormal([3, 3, 3, 8], 0, 0.1, 'float32', 0), true, 'my_net/kernel');
    const mine: Backbone = {
      levels: [{ stride: 8, channels: 8 }],
      variables: { kernel },
      apply: (images) => [tf.relu(tf.conv2d(tf.avgPool(images, 8, 8, 'same'), kernel as tf.Tensor4D, 1, 'same'))],
      dispose: () => kernel.dispose(),
    };
    const frcnn = createFasterRcnn({ numClasses: 2, imageSize: 64, backbone: mine, representationSize: 16, seed: 1 });
    expect(frcnn.config.backbone).toBe('custom');
    expect(Object.keys(frcnn.variables)).toContain('backbone/kernel');
    const { images, targets } = tinyBatch();
    const { value, grads } = tf.variableGrads(() => frcnn.loss(images, targets, { rng: () => 0.25 }).total, trainableVariables(frcnn));
    expect(grads[kernel.name]).toBeDefined();
    tf.dispose([value, images, ...Object.values(grads)]);
    expect(() => createDetector(frcnn.config)).toThrow(/options.backbone/);
    frcnn.dispose();
  });
});
