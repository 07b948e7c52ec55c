import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, ShapeError, setupBackend, tf } from '@detkit/core';
import { StateDictError } from './errors';
import { fasterrcnnResnet50Fpn } from './faster-rcnn';
import { resnet50Body, resnetBottleneck, resnetTrainableLayers } from './resnet';
import { TorchParameters } from './state-dict';
import { writeSafetensors } from './safetensors';
import { expectStagesLeaveOnlyOutputs } from './test-fixtures';

describe('fasterrcnnResnet50Fpn', () => {
  beforeAll(() => setupBackend('cpu'));

  it('has torchvision’s state dict: names, order and counts', () => {
    const model = fasterrcnnResnet50Fpn();
    const names = model.parameters.names();
    // ResNet-50 has 1 + 16 · 3 + 4 (downsample) = 53 convolutions, each followed by a batch norm of 5 entries
    // (weight, bias, running_mean, running_var, num_batches_tracked): 53 + 265 = 318. FPN: 4 lateral and 4
    // output convolutions with bias (16); RPN head: 3 convolutions (6); TwoMLPHead and FastRCNNPredictor: 4
    // linear layers (8). 348 in all, as fasterrcnn_resnet50_fpn(weights=None).state_dict().
    expect(names.length).toBe(348);
    expect(names.slice(0, 7)).toEqual([
      'backbone.body.conv1.weight',
      'backbone.body.bn1.weight',
      'backbone.body.bn1.bias',
      'backbone.body.bn1.running_mean',
      'backbone.body.bn1.running_var',
      'backbone.body.bn1.num_batches_tracked',
      'backbone.body.layer1.0.conv1.weight',
    ]);
    // Bottleneck registers conv1, bn1, conv2, bn2, conv3, bn3, then downsample.
    const at = (n: string) => names.indexOf(n);
    expect(at('backbone.body.layer1.0.bn3.num_batches_tracked') + 1).toBe(at('backbone.body.layer1.0.downsample.0.weight'));
    expect(at('backbone.body.layer4.2.bn3.num_batches_tracked') + 1).toBe(at('backbone.fpn.inner_blocks.0.0.weight'));
    expect(names.filter((n) => n.includes('downsample.0.weight'))).toEqual([1, 2, 3, 4].map((l) => `backbone.body.layer${l}.0.downsample.0.weight`));
    const shape = (n: string) => model.parameters.specs().find((s) => s.name === n)!.torchShape;
    expect(shape('backbone.body.layer2.0.conv2.weight')).toEqual([128, 128, 3, 3]);
    expect(shape('backbone.body.layer4.0.downsample.0.weight')).toEqual([2048, 1024, 1, 1]);
    expect(shape('backbone.fpn.inner_blocks.3.0.weight')).toEqual([256, 2048, 1, 1]);
    expect(shape('rpn.head.cls_logits.weight')).toEqual([3, 256, 1, 1]);
    expect(shape('roi_heads.box_head.fc6.weight')).toEqual([1024, 256 * 7 * 7]);
    expect(shape('roi_heads.box_predictor.bbox_pred.weight')).toEqual([364, 1024]);
    model.dispose();
    // FrozenBatchNorm2d: 4 buffers per batch norm, no counter: 348 - 53 = 295.
    const frozen = fasterrcnnResnet50Fpn({ frozenBatchNorm: true });
    expect(frozen.parameters.names().length).toBe(295);
    expect(frozen.parameters.get('backbone.body.layer3.5.bn2.weight').trainable).toBe(false);
    frozen.dispose();
  });

  it('has torchvision’s defaults and names bad options', () => {
    const model = fasterrcnnResnet50Fpn({ numClasses: 3 });
    expect(model.config).toMatchObject({ minSize: 800, maxSize: 1333, rpnPreNmsTopNTest: 1000, rpnPostNmsTopNTest: 1000, rpnScoreThresh: 0, boxScoreThresh: 0.05, boxNmsThresh: 0.5, boxDetectionsPerImg: 100, trainableBackboneLayers: 5, batchNormEps: 1e-5, frozenBatchNorm: false });
    model.dispose();
    expect(() => fasterrcnnResnet50Fpn({ trainableBackboneLayers: 6 })).toThrow(/'trainableBackboneLayers'/);
    expect(() => fasterrcnnResnet50Fpn({ batchNormEps: -1 })).toThrow(/'batchNormEps'/);
    expect(() => fasterrcnnResnet50Fpn({ rpnNmsThresh: 2 })).toThrow(InvalidArgumentError);
    expect(() => resnetTrainableLayers(-1)).toThrow(/'trainableLayers'/);
  });

  it('freezes what _resnet_fpn_extractor freezes', () => {
    // layers_to_train = ["layer4", "layer3", "layer2", "layer1", "conv1"][:t] (+ "bn1" when t == 5); every
    // other ResNet parameter is frozen. The FPN and heads always train.
    const frozenNames = (t: number) => {
      const model = fasterrcnnResnet50Fpn({ trainableBackboneLayers: t });
      const trainable = new Set(model.parameters.trainableVariables());
      const frozen = model.parameters.specs().filter((s) => s.kind === 'parameter' && !trainable.has(model.parameters.get(s.name))).map((s) => s.name);
      model.dispose();
      return frozen;
    };
    const groups = (names: string[]) => [...new Set(names.map((n) => n.split('.')[2]))];
    expect(frozenNames(5)).toEqual([]);
    expect(groups(frozenNames(4))).toEqual(['conv1', 'bn1']);
    expect(groups(frozenNames(3))).toEqual(['conv1', 'bn1', 'layer1']);
    expect(groups(frozenNames(0))).toEqual(['conv1', 'bn1', 'layer1', 'layer2', 'layer3', 'layer4']);
    expect(frozenNames(0).every((n) => n.startsWith('backbone.body.'))).toBe(true);
  });

  it('runs every stage with the expected shapes and leaves no tensors behind', () => {
    const model = fasterrcnnResnet50Fpn({ numClasses: 5, minSize: 64, maxSize: 64, rpnPreNmsTopNTest: 50, rpnPostNmsTopNTest: 20 });
    const image = tf.randomUniform([48, 64, 3], 0, 1, 'float32', 1) as tf.Tensor3D;
    const start = tf.memory().numTensors;
    const t = model.transform(image);
    // scale min(64 / 48, 64 / 64) = 1: 48 x 64, padded to 64 x 64.
    expect(t.batch.shape).toEqual([1, 64, 64, 3]);
    const { body, features } = model.backbone(t.batch);
    expect(body.map((b) => b.shape)).toEqual([[1, 16, 16, 256], [1, 8, 8, 512], [1, 4, 4, 1024], [1, 2, 2, 2048]]);
    expect(features.map((f) => f.shape)).toEqual([[1, 16, 16, 256], [1, 8, 8, 256], [1, 4, 4, 256], [1, 2, 2, 256], [1, 1, 1, 256]]);
    const head = model.rpnHead(features);
    const anchors = model.anchors([64, 64], features);
    // 3 anchors (one size, three ratios) per location of each level.
    expect(anchors.counts).toEqual([768, 192, 48, 12, 3]);
    const props = model.proposals(head, anchors, t.imageSizes);
    expect(props.boxes[0]!.shape[0]).toBeLessThanOrEqual(20);
    const box = model.roiHeads(features, props.boxes, t.imageSizes);
    expect(box.boxFeatures.shape.slice(1)).toEqual([7, 7, 256]);
    expect(box.boxRegression.shape[1]).toBe(20);
    expectStagesLeaveOnlyOutputs(model, image, start, { t, body, features, head, anchors, props, box });
    const bad = tf.zeros([1, 8, 8, 1]);
    expect(() => model.backbone(bad)).toThrow(ShapeError);
    expect(tf.memory().numTensors).toBe(start + 1);
    bad.dispose();
    model.dispose();
    image.dispose();
  });

  it('names a ResNet parameter of the wrong shape or missing from a state dict', () => {
    const model = fasterrcnnResnet50Fpn({ frozenBatchNorm: true });
    const wrong = writeSafetensors({ 'backbone.body.conv1.weight': { dtype: 'F32', shape: [64, 3, 3, 3], data: new Float32Array(64 * 27) } });
    expect(() => model.loadStateDict(wrong)).toThrow(/'backbone\.body\.conv1\.weight' must have shape \[64, 3, 7, 7\], got \[64, 3, 3, 3\]/);
    const missing = writeSafetensors({ 'backbone.body.conv1.weight': { dtype: 'F32', shape: [64, 3, 7, 7], data: new Float32Array(64 * 147) } });
    try {
      model.loadStateDict(missing);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(StateDictError);
      expect((e as StateDictError).parameter).toBe('backbone.body.bn1.weight');
      expect((e as StateDictError).problem).toBe('missing');
    }
    model.dispose();
  });
});

describe('resnet50Body', () => {
  beforeAll(() => setupBackend('cpu'));

  it('rounds odd sizes as torch: conv1 and maxpool give floor((H - 1) / 2) + 1 each', () => {
    const params = new TorchParameters();
    const net = resnet50Body({ params, convStd: 0.01, seed: 0 }, 'body', { eps: 1e-5 });
    expect(net.outChannels).toEqual([256, 512, 1024, 2048]);
    const x = tf.randomUniform([1, 33, 35, 3]) as tf.Tensor4D;
    // 33 → floor(32 / 2) + 1 = 17 → floor(16 / 2) + 1 = 9; 35 → 18 → floor(17 / 2) + 1 = 9.
    const y = net.stem(x);
    expect(y.shape).toEqual([1, 9, 9, 64]);
    // layer2 halves with its stride-2 3x3 convolution (padding 1): 9 → 5.
    const z = tf.tidy(() => net.layers[1]!(net.layers[0]!(y)));
    expect(z.shape).toEqual([1, 5, 5, 512]);
    tf.dispose([x, y, z]);
    params.dispose();
    expect(() => resnet50Body({ params: new TorchParameters(), convStd: 0.01, seed: 0 }, 'body', { eps: Number.NaN })).toThrow(/'eps'/);
  });

  it('keeps what gradients need although each bottleneck runs in its own tidy', () => {
    const params = new TorchParameters();
    const block = resnetBottleneck({ params, convStd: 0.1, seed: 3 }, 'b', { inChannels: 8, planes: 4, stride: 2, eps: 1e-5 });
    const x = tf.randomNormal([1, 8, 8, 8], 0, 1, 'float32', 5) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => tf.sum(block(x)) as tf.Scalar);
    // Every convolution and batch-norm affine parameter gets a gradient: conv1..3, downsample.0, 4 batch norms x 2.
    expect(Object.keys(grads).length).toBe(4 + 8);
    expect(grads[params.get('b.conv1.weight').name]!.shape).toEqual([1, 1, 8, 4]);
    const sums = tf.tidy(() => tf.stack(Object.values(grads).map((g) => tf.sum(tf.abs(g)))));
    expect(Array.from(sums.dataSync()).every((v) => Number.isFinite(v) && v > 0)).toBe(true);
    sums.dispose();
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(x);
    params.dispose();
  });
});
