// Parity with torchvision 0.14's fasterrcnn_resnet50_fpn (full architecture: ResNet-50 with FrozenBatchNorm2d,
// FPN 256, 91 classes) on formula weights, from the outputs of tooling/fixtures/groups/torchvision_resnet.py:
// both sides fill every parameter from the same integer hash, so no 160 MB weights file is committed. Small
// images (min_size 160, max_size 256) on cpu and wasm; torchvision's default sizes (min_size 800) too when
// DETKIT_FULL_MODELS=1 pnpm fixtures wrote fixtures/full/fasterrcnn-r50.outputs.safetensors.
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackend, tf } from '@detkit/core';
import { describeEachBackend } from '@detkit/test-utils';
import { fasterrcnnResnet50Fpn } from './faster-rcnn';
import { safetensorsToFloat32 } from './safetensors';
import { errorStats, expectDetectParity, expectSameDetections, fixtureTensor, formulaStateDict, formulaValues, parityFixture, readFixture } from './test-fixtures';

const NAMES = ['fasterrcnn-r50-160', ...(existsSync(new URL('../fixtures/full/fasterrcnn-r50.outputs.safetensors', import.meta.url)) ? ['full/fasterrcnn-r50'] : [])];
const LEVELS = ['0', '1', '2', '3', 'pool'];

for (const NAME of NAMES) {
  const outputs = readFixture(`${NAME}.outputs.safetensors`).file;
  const kwargs = JSON.parse(outputs.metadata.kwargs!) as Record<string, number>;
  const ranges = JSON.parse(outputs.metadata.formula_ranges!) as Record<string, [number, number]>;
  // The generator's model: fasterrcnn_resnet50_fpn as torchvision builds it for pretrained weights (FrozenBatchNorm2d).
  const options = {
    numClasses: kwargs.num_classes!,
    frozenBatchNorm: true,
    ...(kwargs.min_size === undefined ? {} : { minSize: kwargs.min_size, maxSize: kwargs.max_size }),
    ...(kwargs.rpn_pre_nms_top_n_test === undefined ? {} : { rpnPreNmsTopNTest: kwargs.rpn_pre_nms_top_n_test, rpnPostNmsTopNTest: kwargs.rpn_post_nms_top_n_test }),
  };
  const { sizes, torchError, check, checkTransform } = parityFixture(outputs);
  // The full-size model is 2 x 896 x 1088 px: minutes on tfjs' cpu backend. The 160-px model's cpu case
  // takes about 40 s alone, but ran 253 s in a clean-clone CI run while turbo ran other packages' suites
  // beside it on the two cores: the limit guards against a hang, not a slow machine.
  const timeout = NAME.startsWith('full/') ? 900_000 : 600_000;
  let weights: Uint8Array | undefined;
  const load = () => {
    const model = fasterrcnnResnet50Fpn(options);
    weights ??= formulaStateDict(model.parameters, ranges);
    expect(model.loadStateDict(weights).loaded.length).toBe(model.parameters.names().length);
    return model;
  };
  /** The channels (NHWC: last axis) the generator kept of a map. */
  const firstChannels = (x: tf.Tensor4D, key: string) => tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, outputs.tensors.get(key)!.shape[1]!]);

  describe(`fasterrcnnResnet50Fpn formula weights (${NAME})`, () => {
    beforeAll(() => setupBackend('cpu'));

    it('are the generator’s, bit for bit', () => {
      const expected = safetensorsToFloat32(outputs.tensors.get('formula.samples')!);
      const model = fasterrcnnResnet50Fpn(options);
      const specs = model.parameters.specs();
      const got = specs.flatMap((s) => {
        const n = s.torchShape.reduce((a, b) => a * b, 1);
        const v = formulaValues(s.name, n, ranges[s.name]!);
        return [v[0]!, v[Math.floor(n / 2)]!, v[n - 1]!];
      });
      model.dispose();
      expect(got.length).toBe(expected.length);
      expect(Float32Array.from(got)).toEqual(expected);
    });
  });

  describeEachBackend(`fasterrcnnResnet50Fpn parity with torchvision (${NAME})`, (backend) => {
    it(
      'reproduces the transform, ResNet-50 body, FPN, RPN, proposals, box head and postprocessing',
      () => {
        const model = load();
        const before = tf.memory().numTensors;
        tf.tidy(() => {
          checkTransform(`[${backend}]`, model);
          // The backbone on torchvision's batch; the RPN head and box head on detkit's own FPN levels (the
          // generator keeps only a few channels of each), the proposal filter and postprocessing on
          // torchvision's own head outputs.
          const batch = fixtureTensor(outputs, 'transformed') as tf.Tensor4D;
          const { body, features } = model.backbone(batch);
          expect(body.map((b) => b.shape[3])).toEqual([256, 512, 1024, 2048]);
          body.forEach((b, k) => check(`[${backend}] body.${k}`, firstChannels(b, `body.${k}`), `body.${k}`));
          features.forEach((f, k) => check(`[${backend}] features.${LEVELS[k]}`, firstChannels(f, `features.${LEVELS[k]}`), `features.${LEVELS[k]}`));
          const head = model.rpnHead(features);
          head.objectness.forEach((o, l) => check(`[${backend}] rpn.objectness.${l}`, o, `rpn.objectness.${l}`));
          head.deltas.forEach((d, l) => check(`[${backend}] rpn.deltas.${l}`, d, `rpn.deltas.${l}`));
          const anchors = model.anchors([batch.shape[1], batch.shape[2]], features);
          expect(errorStats(anchors.anchors, fixtureTensor(outputs, 'anchors')).maxAbs).toBe(0);
          const theirHead = {
            objectness: LEVELS.map((_, l) => fixtureTensor(outputs, `rpn.objectness.${l}`) as tf.Tensor4D),
            deltas: LEVELS.map((_, l) => fixtureTensor(outputs, `rpn.deltas.${l}`) as tf.Tensor4D),
          };
          const proposals = model.proposals(theirHead, anchors, sizes);
          proposals.boxes.forEach((b, i) => expectSameDetections(`[${backend}] proposals.${i}`, { boxes: b, scores: proposals.scores[i]! }, outputs, `proposals.${i}`));
          const theirProposals = sizes.map((_, i) => fixtureTensor(outputs, `proposals.${i}.boxes`) as tf.Tensor2D);
          const box = model.roiHeads(features, theirProposals, sizes);
          const rows = outputs.tensors.get('box_features')!.shape[0]!;
          check(`[${backend}] box_features (first ${rows} rows)`, firstChannels(tf.slice(box.boxFeatures, 0, rows), 'box_features'), 'box_features');
          check(`[${backend}] box_head (first ${rows} rows)`, tf.slice(box.boxHead, 0, outputs.tensors.get('box_head')!.shape[0]!), 'box_head');
          check(`[${backend}] class_logits`, box.classLogits, 'class_logits');
          check(`[${backend}] box_regression`, box.boxRegression, 'box_regression');
          const theirBox = { classLogits: fixtureTensor(outputs, 'class_logits') as tf.Tensor2D, boxRegression: fixtureTensor(outputs, 'box_regression') as tf.Tensor2D };
          model.postprocess(theirBox, theirProposals, sizes).forEach((det, i) => expectSameDetections(`[${backend}] postprocessed.${i}`, det, outputs, `postprocessed.${i}`));
        });
        expect(tf.memory().numTensors).toBe(before);
        model.dispose();
      },
      timeout,
    );

    it(
      'detects the same boxes, scores and labels as the torchvision model',
      () => {
        // End to end through 16 bottlenecks, RoIAlign and the box head: within 1e-4, or twice torchvision's own
        // float32-vs-float64 error where that is larger.
        const model = load();
        expectDetectParity(`[${backend}]`, model, outputs, torchError);
        model.dispose();
      },
      timeout,
    );
  });
}
