// The detectors make their matchers once, in the factory: a training step builds its targets with them
// and makes no new one. Counted by wrapping @detkit/matchers' factories (which @detkit/samplers' target
// builders also call when given options instead of a matcher: the first test shows the count sees those).
import { useBackend } from '@detkit/backends';
import { tf } from '@detkit/core';
import type * as Matchers from '@detkit/matchers';
import { buildRpnTargets, buildSsdTargets } from '@detkit/samplers';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createFasterRcnn, createSsd } from './index';

const made = vi.hoisted(() => ({ maxIou: 0, ssd: 0 }));
vi.mock('@detkit/matchers', async (importOriginal) => {
  const original = await importOriginal<typeof Matchers>();
  return {
    ...original,
    createMaxIouMatcher: (...args: Parameters<typeof original.createMaxIouMatcher>) => (made.maxIou++, original.createMaxIouMatcher(...args)),
    createSsdMatcher: (...args: Parameters<typeof original.createSsdMatcher>) => (made.ssd++, original.createSsdMatcher(...args)),
  };
});

describe('matchers made once', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it("the count sees the target builders' own matchers", () => {
    const before = { ...made };
    tf.dispose(Object.values(buildRpnTargets([[0, 0, 10, 10]], [[0, 0, 9, 9]], { seed: 1 })));
    tf.dispose(Object.values(buildSsdTargets([[0, 0, 10, 10]], [[0, 0, 9, 9]], [1])));
    expect(made).toEqual({ maxIou: before.maxIou + 1, ssd: before.ssd + 1 });
  });

  it('Faster R-CNN makes two, SSD one, and training steps make none', () => {
    const images = tf.zeros([2, 32, 32, 3]) as tf.Tensor4D;
    const targets = [
      { boxes: Float32Array.from([2, 2, 20, 24]), labels: Int32Array.from([0]) },
      { boxes: Float32Array.from([8, 4, 30, 16, 1, 1, 9, 9]), labels: Int32Array.from([1, 0]) },
    ];
    for (const [make, expected] of [
      [() => createFasterRcnn({ numClasses: 2, imageSize: 32, seed: 1, backbone: { channels: [4, 8] }, representationSize: 8 }), { maxIou: 2, ssd: 0 }],
      [() => createSsd({ numClasses: 2, imageSize: 32, seed: 1, backbone: { channels: [4, 4, 4, 4, 4] } }), { maxIou: 0, ssd: 1 }],
    ] as const) {
      const start = { ...made };
      const detector = make();
      const afterCreate = { maxIou: made.maxIou - start.maxIou, ssd: made.ssd - start.ssd };
      expect(afterCreate).toEqual(expected);
      for (let step = 0; step < 3; step++) {
        const loss = detector.loss(images, targets, { rng: () => 0.5 });
        tf.dispose([loss.total, ...Object.values(loss.parts)]);
      }
      expect({ maxIou: made.maxIou - start.maxIou, ssd: made.ssd - start.ssd }).toEqual(expected);
      detector.dispose();
    }
    images.dispose();
  });
});
