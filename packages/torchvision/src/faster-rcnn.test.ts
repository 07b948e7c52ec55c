import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, ShapeError, setupBackend, tf } from '@detkit/core';
import { fasterrcnnMobilenetV3Large320Fpn, fasterrcnnMobilenetV3LargeFpn } from './faster-rcnn';
import { generalizedRcnnTransform } from './rcnn-transform';
import { readSafetensors, safetensorsToBigInt64, safetensorsToFloat32, writeSafetensors, type SafetensorsInput } from './safetensors';
import { StateDictError } from './errors';
import { expectStagesLeaveOnlyOutputs } from './test-fixtures';

const small = { numClasses: 3, widthMult: 0.25, fpnOutChannels: 16, representationSize: 16 };

describe('fasterrcnnMobilenetV3Large320Fpn', () => {
  beforeAll(() => setupBackend('cpu'));

  it('leaves no tensors behind: transform, backbone, RPN, proposals, box head, detect, failed calls', () => {
    const model = fasterrcnnMobilenetV3Large320Fpn(small);
    const image = tf.randomUniform([40, 56, 3], 0, 1, 'float32', 1) as tf.Tensor3D;
    const start = tf.memory().numTensors;
    const t = model.transform([image, image]);
    // 40 x 56: scale min(320 / 40, 640 / 56) = 8 → 320 x 448, already a multiple of 32.
    expect(t.imageSizes).toEqual([[320, 448], [320, 448]]);
    expect(t.batch.shape).toEqual([2, 320, 448, 3]);
    const { body, features } = model.backbone(t.batch);
    // Both returned stages are stride 32 (10 x 14); LastLevelMaxPool halves the last: 5 x 7.
    expect(features.map((f) => f.shape)).toEqual([[2, 10, 14, 16], [2, 10, 14, 16], [2, 5, 7, 16]]);
    const head = model.rpnHead(features);
    expect(head.objectness.map((o) => o.shape[3])).toEqual([15, 15, 15]);
    const anchors = model.anchors([320, 448], features);
    // (140 + 140 + 35) locations x 15 anchors.
    expect(anchors.counts).toEqual([2100, 2100, 525]);
    const props = model.proposals(head, anchors, t.imageSizes);
    expect(props.boxes.every((b) => b.shape[0] <= 150)).toBe(true);
    const box = model.roiHeads(features, props.boxes, t.imageSizes);
    expect(box.classLogits.shape).toEqual([props.boxes[0]!.shape[0] + props.boxes[1]!.shape[0], 3]);
    expectStagesLeaveOnlyOutputs(model, image, start, { t, body, features, head, anchors, props, box });
    const bad = tf.zeros([4, 4, 2]);
    expect(() => model.detect(bad)).toThrow(ShapeError);
    expect(() => model.backbone(bad)).toThrow(ShapeError);
    expect(tf.memory().numTensors).toBe(start + 1);
    bad.dispose();
    model.dispose();
    image.dispose();
  });

  it('has torchvision defaults and names bad options', () => {
    const model = fasterrcnnMobilenetV3Large320Fpn({ ...small });
    expect(model.config).toMatchObject({ minSize: 320, maxSize: 640, rpnPreNmsTopNTest: 150, rpnPostNmsTopNTest: 150, rpnScoreThresh: 0.05, boxScoreThresh: 0.05, boxNmsThresh: 0.5, boxDetectionsPerImg: 100, trainableBackboneLayers: 6 });
    model.dispose();
    const large = fasterrcnnMobilenetV3LargeFpn({ ...small, frozenBatchNorm: true });
    expect(large.config).toMatchObject({ minSize: 800, maxSize: 1333, rpnPreNmsTopNTest: 1000, rpnPostNmsTopNTest: 1000, rpnScoreThresh: 0.05, trainableBackboneLayers: 3 });
    large.dispose();
    expect(() => fasterrcnnMobilenetV3Large320Fpn({ numClasses: 0 })).toThrow(InvalidArgumentError);
    expect(() => fasterrcnnMobilenetV3Large320Fpn({ trainableBackboneLayers: 7 })).toThrow(/'trainableBackboneLayers'/);
    expect(() => fasterrcnnMobilenetV3Large320Fpn({ boxNmsThresh: 1.5 })).toThrow(/'boxNmsThresh'/);
    expect(() => fasterrcnnMobilenetV3Large320Fpn({ imageStd: [1, 0, 1] })).toThrow(/'imageStd'/);
  });

  it('freezes the backbone stages torchvision freezes', () => {
    // stage_indices of MobileNetV3-Large: [0, 2, 4, 7, 13, 16]; trainable_backbone_layers = 2 freezes features[:13].
    const model = fasterrcnnMobilenetV3Large320Fpn({ ...small, trainableBackboneLayers: 2 });
    const trainable = new Set(model.parameters.trainableVariables());
    const frozen = model.parameters.specs().filter((s) => s.kind === 'parameter' && !trainable.has(model.parameters.get(s.name))).map((s) => s.name);
    expect(frozen.every((n) => /^backbone\.body\.([0-9]|1[0-2])\./.test(n))).toBe(true);
    expect(frozen).toContain('backbone.body.12.block.3.1.weight');
    expect(trainable.has(model.parameters.get('backbone.body.13.block.0.0.weight'))).toBe(true);
    model.dispose();
  });

  it('loads FrozenBatchNorm2d state dicts (no num_batches_tracked) and legacy FPN / RPN names', () => {
    const source = fasterrcnnMobilenetV3Large320Fpn(small);
    const file = readSafetensors(source.saveStateDict());
    source.dispose();
    // A pretrained torchvision model's state dict: FrozenBatchNorm2d has no num_batches_tracked, and
    // checkpoints from before FPN / RPNHead version 2 name the convolutions without the '.0'.
    const legacy = new Map<string, SafetensorsInput>();
    for (const [name, e] of file.tensors) {
      if (name.endsWith('num_batches_tracked')) continue;
      const old = name.replace(/^(backbone\.fpn\.(inner|layer)_blocks\.\d+)\.0\./, '$1.').replace(/^rpn\.head\.conv\.0\.0\./, 'rpn.head.conv.');
      legacy.set(old, { dtype: e.dtype, shape: e.shape, data: e.dtype === 'I64' ? safetensorsToBigInt64(e) : safetensorsToFloat32(e) });
    }
    expect(legacy.has('backbone.fpn.inner_blocks.0.weight')).toBe(true);
    const bytes = writeSafetensors(legacy);
    const frozen = fasterrcnnMobilenetV3Large320Fpn({ ...small, frozenBatchNorm: true });
    expect(frozen.loadStateDict(bytes).loaded.length).toBe(legacy.size);
    // FrozenBatchNorm2d's weight and bias are buffers: never trained.
    expect(frozen.parameters.get('backbone.body.0.1.weight').trainable).toBe(false);
    // A file with num_batches_tracked loads too (torchvision drops them).
    expect(frozen.loadStateDict(file).loaded.length).toBe(legacy.size);
    frozen.dispose();
    // The nn.BatchNorm2d model needs its counters.
    const plain = fasterrcnnMobilenetV3Large320Fpn(small);
    expect(() => plain.loadStateDict(bytes)).toThrow(StateDictError);
    plain.dispose();
  });

  it('names a wrong class count and re-initialises the predictor on request', () => {
    const four = fasterrcnnMobilenetV3Large320Fpn({ ...small, numClasses: 4 });
    const bytes = four.saveStateDict();
    four.dispose();
    const model = fasterrcnnMobilenetV3Large320Fpn(small);
    expect(() => model.loadStateDict(bytes)).toThrow(/'roi_heads\.box_predictor\.cls_score\.weight' must have shape \[3, 16\], got \[4, 16\]/);
    const report = model.loadStateDict(bytes, { reinitialiseClassLayers: true });
    expect(report.reinitialised).toEqual(['roi_heads.box_predictor.cls_score.weight', 'roi_heads.box_predictor.cls_score.bias', 'roi_heads.box_predictor.bbox_pred.weight', 'roi_heads.box_predictor.bbox_pred.bias']);
    model.dispose();
  });
});

describe('generalizedRcnnTransform', () => {
  beforeAll(() => setupBackend('cpu'));

  it('resizes as torchvision: float32 scale, floor, padding to 32', () => {
    const t = generalizedRcnnTransform({ minSize: 320, maxSize: 640, imageMean: [0.485, 0.456, 0.406], imageStd: [0.229, 0.224, 0.225] });
    // 320 · fround(1 / 96) = 3.33333349 in float32 (torch's reciprocal-then-multiply), so 96 → 320, 128 → 426.
    expect(t.resizedSize(96, 128)).toEqual([320, 426]);
    // 80 x 72: 320 / 72 = 4.4444447 → 355 x 320. 800 x 100 is capped by the longest side, and
    // 640 · fround(1 / 800) = 0.79999995 gives 639 x 79 (torchvision 0.14's _resize_image_and_masks agrees).
    expect(t.resizedSize(80, 72)).toEqual([355, 320]);
    expect(t.resizedSize(800, 100)).toEqual([639, 79]);
    const image = tf.ones([96, 128, 3]) as tf.Tensor3D;
    const before = tf.memory().numTensors;
    const out = t.apply([image]);
    expect(out.batch.shape).toEqual([1, 320, 448, 3]);
    expect(tf.memory().numTensors).toBe(before + 1);
    tf.tidy(() => {
      // A constant image stays constant ((1 - 0.485) / 0.229 in the red channel); the padding is 0.
      const red = tf.slice(out.batch, [0, 0, 0, 0], [1, 320, 426, 1]);
      expect(Math.abs(tf.max(red).dataSync()[0]! - (1 - 0.485) / 0.229)).toBeLessThan(1e-5);
      expect(Math.abs(tf.min(red).dataSync()[0]! - (1 - 0.485) / 0.229)).toBeLessThan(1e-5);
      expect(tf.max(tf.abs(tf.slice(out.batch, [0, 0, 426, 0], [1, 320, 22, 3]))).dataSync()[0]).toBe(0);
    });
    out.batch.dispose();
    image.dispose();
    expect(() => generalizedRcnnTransform({ minSize: 0, maxSize: 1, imageMean: [0, 0, 0], imageStd: [1, 1, 1] })).toThrow(/'minSize'/);
  });
});
