// Parity with torchvision 0.14's fasterrcnn_mobilenet_v3_large_320_fpn (reduced: width 0.5, FPN 64 channels,
// box head 64, 4 classes; seeded random weights), from the fixtures of tooling/fixtures/groups/torchvision.py:
// every stage on torchvision's own inputs, then the detections end to end, on cpu and wasm.
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import { tf } from '@detkit/core';
import { describeEachBackend } from '@detkit/test-utils';
import { fasterrcnnMobilenetV3Large320Fpn } from './faster-rcnn';
import { errorStats, expectDetectParity, expectSameDetections, fixtureTensor, parityFixture, readFixture } from './test-fixtures';

// The committed reduced model, and the full-size one (width 1, 91 classes) when the generator wrote it
// (DETKIT_FULL_MODELS=1 pnpm fixtures; packages/torchvision/fixtures/full/ is not committed).
const NAMES = ['fasterrcnn320-w050-c4', ...(existsSync(new URL('../fixtures/full/fasterrcnn320.weights.safetensors', import.meta.url)) ? ['full/fasterrcnn320'] : [])];

for (const NAME of NAMES) {
  const weights = readFixture(`${NAME}.weights.safetensors`);
  const outputs = readFixture(`${NAME}.outputs.safetensors`).file;
  const kwargs = JSON.parse(outputs.metadata.kwargs!) as { num_classes: number; width_mult?: number; fpn_out_channels?: number; representation_size?: number };
  const options = { numClasses: kwargs.num_classes, widthMult: kwargs.width_mult ?? 1, fpnOutChannels: kwargs.fpn_out_channels ?? 256, representationSize: kwargs.representation_size ?? 1024 };
  const { sizes, torchError, check, checkTransform } = parityFixture(outputs);
  const load = () => {
    const model = fasterrcnnMobilenetV3Large320Fpn(options);
    expect(model.loadStateDict(weights.bytes).loaded.length).toBe(weights.file.tensors.size);
    return model;
  };

  describeEachBackend(`fasterrcnnMobilenetV3Large320Fpn parity with torchvision (${NAME})`, (backend) => {
    it('reproduces the transform, backbone, FPN, RPN head and anchors', () => {
      const model = load();
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        checkTransform(`[${backend}]`, model);
        // Each stage on torchvision's own input, so errors do not compound across stages.
        const batch = fixtureTensor(outputs, 'transformed') as tf.Tensor4D;
        const { body, features } = model.backbone(batch);
        body.forEach((b, k) => check(`[${backend}] body.${k}`, b, `body.${k}`));
        features.forEach((f, k) => check(`[${backend}] features.${k === 2 ? 'pool' : k}`, f, `features.${k === 2 ? 'pool' : k}`));
        const theirs = ['0', '1', 'pool'].map((k) => fixtureTensor(outputs, `features.${k}`) as tf.Tensor4D);
        const head = model.rpnHead(theirs);
        head.objectness.forEach((o, l) => check(`[${backend}] rpn.objectness.${l}`, o, `rpn.objectness.${l}`));
        head.deltas.forEach((d, l) => check(`[${backend}] rpn.deltas.${l}`, d, `rpn.deltas.${l}`));
        const anchors = model.anchors([batch.shape[1], batch.shape[2]], theirs);
        const expected = fixtureTensor(outputs, 'anchors');
        expect(errorStats(anchors.anchors, expected).maxAbs).toBe(0);
        anchors.anchors.dispose();
      });
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    });

    it('reproduces the proposals, box head outputs and postprocessed detections', () => {
      const model = load();
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const batch = fixtureTensor(outputs, 'transformed') as tf.Tensor4D;
        const theirs = ['0', '1', 'pool'].map((k) => fixtureTensor(outputs, `features.${k}`) as tf.Tensor4D);
        const head = {
          objectness: [0, 1, 2].map((l) => fixtureTensor(outputs, `rpn.objectness.${l}`) as tf.Tensor4D),
          deltas: [0, 1, 2].map((l) => fixtureTensor(outputs, `rpn.deltas.${l}`) as tf.Tensor4D),
        };
        const proposals = model.proposals(head, model.anchors([batch.shape[1], batch.shape[2]], theirs), sizes);
        proposals.boxes.forEach((b, i) => expectSameDetections(`[${backend}] proposals.${i}`, { boxes: b, scores: proposals.scores[i]! }, outputs, `proposals.${i}`));
        const theirProposals = sizes.map((_, i) => fixtureTensor(outputs, `proposals.${i}.boxes`) as tf.Tensor2D);
        const box = model.roiHeads(theirs, theirProposals, sizes);
        const rows = outputs.tensors.get('box_features')!.shape[0]!;
        check(`[${backend}] box_features (first ${rows} rows)`, tf.slice(box.boxFeatures, 0, rows), 'box_features');
        check(`[${backend}] box_head`, box.boxHead, 'box_head');
        check(`[${backend}] class_logits`, box.classLogits, 'class_logits');
        check(`[${backend}] box_regression`, box.boxRegression, 'box_regression');
        const theirBox = { classLogits: fixtureTensor(outputs, 'class_logits') as tf.Tensor2D, boxRegression: fixtureTensor(outputs, 'box_regression') as tf.Tensor2D };
        model.postprocess(theirBox, theirProposals, sizes).forEach((det, i) => expectSameDetections(`[${backend}] postprocessed.${i}`, det, outputs, `postprocessed.${i}`));
      });
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    });

    it('detects the same boxes, scores and labels as the torchvision model', () => {
      // torchvision's own float32 detections are torchError['detections.scores'] (about 1.4e-4 of the top
      // score) off its float64 ones: the bar is twice that.
      const model = load();
      expectDetectParity(`[${backend}]`, model, outputs, torchError);
      model.dispose();
    });
  });
}
