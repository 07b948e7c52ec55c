import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, ShapeError, setupBackend, tf } from '@detkit/core';
import { ssdlite320MobilenetV3Large } from './ssdlite';
import { makeDivisible, mobilenetV3LargeConfig } from './mobilenet-v3';

describe('ssdlite320MobilenetV3Large', () => {
  beforeAll(() => setupBackend('cpu'));

  it('leaves no tensors behind: transform, forward, detect, saveStateDict, failed calls', () => {
    const model = ssdlite320MobilenetV3Large({ numClasses: 3, widthMult: 0.25 });
    const image = tf.randomUniform([40, 56, 3], 0, 1, 'float32', 1) as tf.Tensor3D;
    const start = tf.memory().numTensors;
    const batch = model.transform([image, image]);
    expect(batch.shape).toEqual([2, 320, 320, 3]);
    expect(tf.memory().numTensors).toBe(start + 1);
    const out = model.forward(batch);
    // Six levels at 320: 20, 10, 5, 3, 2, 1 cells, 6 default boxes each: (400 + 100 + 25 + 9 + 4 + 1) · 6 = 3234.
    expect(out.features.map((f) => f.shape[1])).toEqual([20, 10, 5, 3, 2, 1]);
    expect(out.clsLogits.shape).toEqual([2, 3234, 3]);
    expect(out.bboxRegression.shape).toEqual([2, 3234, 4]);
    expect(tf.memory().numTensors).toBe(start + 1 + 6 + 2);
    tf.dispose([batch, ...out.features, out.clsLogits, out.bboxRegression]);
    const dets = model.detect(image);
    expect(dets).toHaveLength(1);
    expect(tf.memory().numTensors).toBe(start + 3);
    tf.dispose([dets[0]!.boxes, dets[0]!.scores, dets[0]!.labels]);
    model.saveStateDict();
    expect(() => model.detect(tf.zeros([4, 4, 2]))).toThrow(ShapeError);
    expect(tf.memory().numTensors).toBe(start + 1); // the zeros passed in
    model.dispose();
    image.dispose();
  });

  it('names bad images and options', () => {
    const model = ssdlite320MobilenetV3Large({ numClasses: 2, widthMult: 0.25 });
    expect(() => model.transform([tf.zeros([8, 8, 4]) as tf.Tensor3D])).toThrow(/'images\[0\]' must have shape \[H, W, 3\], got \[8, 8, 4\]/);
    model.dispose();
    expect(() => ssdlite320MobilenetV3Large({ numClasses: 0 })).toThrow(InvalidArgumentError);
    expect(() => ssdlite320MobilenetV3Large({ trainableBackboneLayers: 7 })).toThrow(/'trainableBackboneLayers'/);
    expect(() => ssdlite320MobilenetV3Large({ imageStd: [1, 0, 1] })).toThrow(/'imageStd'/);
  });
});

describe('mobilenetV3LargeConfig', () => {
  it('rounds channels as torchvision _make_divisible does', () => {
    // _make_divisible(v, 8) = max(8, int(v + 4) // 8 * 8), + 8 if that lost more than 10%.
    expect([makeDivisible(16 * 0.5), makeDivisible(24 * 0.5), makeDivisible(72 * 0.5), makeDivisible(20), makeDivisible(11)]).toEqual([8, 16, 40, 24, 16]);
    const full = mobilenetV3LargeConfig();
    expect(full.blocks.map((b) => b.outChannels)).toEqual([16, 24, 24, 40, 40, 40, 80, 80, 80, 80, 112, 112, 160, 160, 160]);
    expect(full.lastChannel).toBe(1280);
    const reduced = mobilenetV3LargeConfig({ reducedTail: true });
    expect(reduced.blocks.slice(12).map((b) => [b.expandedChannels, b.outChannels])).toEqual([[672, 80], [480, 80], [480, 80]]);
  });
});
