// Parity with torchvision 0.14's ssdlite320_mobilenet_v3_large (width 0.5, 4 classes, seeded random weights),
// from the fixtures of tooling/fixtures/groups/torchvision.py: intermediates and detections, cpu and wasm.
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import { tf } from '@detkit/core';
import { ssdDefaultBoxes, SSDLITE320 } from '@detkit/anchors';
import { describeEachBackend } from '@detkit/test-utils';
import { ssdlite320MobilenetV3Large } from './ssdlite';
import { errorStats, expectParity, expectSameDetections, fixtureTensor, readFixture } from './test-fixtures';

// The committed reduced model, and the full-size one (width 1, 91 classes) when the generator wrote it
// (DETKIT_FULL_MODELS=1 pnpm fixtures; packages/torchvision/fixtures/full/ is not committed: 22 MB).
const NAMES = ['ssdlite320-w050-c4', ...(existsSync(new URL('../fixtures/full/ssdlite320.weights.safetensors', import.meta.url)) ? ['full/ssdlite320'] : [])];

for (const NAME of NAMES) {
const weights = readFixture(`${NAME}.weights.safetensors`);
const outputs = readFixture(`${NAME}.outputs.safetensors`).file;
const kwargs = JSON.parse(outputs.metadata.kwargs!) as { num_classes: number; width_mult?: number };

/**
 * torchvision's own float32 error on each intermediate, against a float64 run of the same model (written by
 * the generator): max |float32 - float64| / max |float64|.
 */
const torchError = JSON.parse(outputs.metadata.torch_float32_error!) as Record<string, number>;

describeEachBackend(`ssdlite320MobilenetV3Large parity with torchvision (${NAME})`, (backend) => {
  const inputs = () => [0, 1].map((i) => fixtureTensor(outputs, `input.${i}`) as tf.Tensor3D);

  it('loads the state dict and reproduces every intermediate', () => {
    const model = ssdlite320MobilenetV3Large({ numClasses: kwargs.num_classes, widthMult: kwargs.width_mult ?? 1 });
    const loaded = model.loadStateDict(weights.bytes);
    expect(loaded.loaded.length).toBe(weights.file.tensors.size);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      expectParity(`[${backend}] transformed`, errorStats(model.transform(inputs()), fixtureTensor(outputs, 'transformed')), torchError.transformed);
      // Each stage on torchvision's own input, so errors do not compound across stages.
      const out = model.forward(fixtureTensor(outputs, 'transformed'));
      out.features.forEach((f, k) => expectParity(`[${backend}] features.${k}`, errorStats(f, fixtureTensor(outputs, `features.${k}`)), torchError[`features.${k}`]));
      expectParity(`[${backend}] head.cls_logits`, errorStats(out.clsLogits, fixtureTensor(outputs, 'head.cls_logits')), torchError['head.cls_logits']);
      expectParity(`[${backend}] head.bbox_regression`, errorStats(out.bboxRegression, fixtureTensor(outputs, 'head.bbox_regression')), torchError['head.bbox_regression']);
      const sizes = out.features.map((f) => [f.shape[1], f.shape[2]] as [number, number]);
      expectParity(`[${backend}] anchors`, errorStats(ssdDefaultBoxes({ ...SSDLITE320, featureMapSizes: sizes }), fixtureTensor(outputs, 'anchors')));
    });
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('detects the same boxes, scores and labels as the torchvision model', () => {
    const model = ssdlite320MobilenetV3Large({ numClasses: kwargs.num_classes, widthMult: kwargs.width_mult ?? 1 });
    model.loadStateDict(weights.bytes);
    const images = inputs();
    const before = tf.memory().numTensors;
    const dets = model.detect(images);
    expect(tf.memory().numTensors).toBe(before + 3 * dets.length);
    dets.forEach((det, i) => expectSameDetections(`[${backend}] detections.${i}`, det, outputs, `detections.${i}`));
    tf.dispose([...images, ...dets.flatMap((d) => [d.boxes, d.scores, d.labels])]);
    model.dispose();
  });
});
}
