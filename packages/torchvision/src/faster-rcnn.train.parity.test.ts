// Train-mode parity with torchvision 0.14's fasterrcnn_mobilenet_v3_large_320_fpn (reduced: width 0.5, FPN 64
// channels, box head 64, 4 classes; seeded random weights): `model.train(); model(images, targets)` in
// tooling/fixtures/groups/torchvision.py (faster_train_step) gives the four losses, the indices torchvision's
// two samplers drew (torch.randperm: recorded, handed to detkit through `loss(..., { sampled })`), the
// gradients of the losses' sum for a few parameters and a batch norm's running statistics after the forward.
import { expect, it } from 'vitest';
import { registerWasmTrainingKernels } from '@detkit/backends';
import { tf } from '@detkit/core';
import { describeEachBackend } from '@detkit/test-utils';
import { fasterrcnnMobilenetV3Large320Fpn } from './faster-rcnn';
import { errorStats, expectParity, FASTER_RCNN_LOSS_PARTS, fixtureInTfLayout, fixtureTensor, LOSS_BAR, readFixture } from './test-fixtures';

/** A full training forward and backward on tfjs' cpu backend: over a minute when CI runs every package at once. */
const HEAVY_TIMEOUT = 240_000;

const NAME = 'fasterrcnn320-w050-c4';
const weights = readFixture(`${NAME}.weights.safetensors`);
const outputs = readFixture(`${NAME}.outputs.safetensors`).file;
const kwargs = JSON.parse(outputs.metadata.kwargs!) as { num_classes: number; width_mult: number; fpn_out_channels: number; representation_size: number };
const options = { numClasses: kwargs.num_classes, widthMult: kwargs.width_mult, fpnOutChannels: kwargs.fpn_out_channels, representationSize: kwargs.representation_size };
const GRAD_PREFIX = 'train.grad.';
const gradNames = [...outputs.tensors.keys()].filter((k) => k.startsWith(GRAD_PREFIX)).map((k) => k.slice(GRAD_PREFIX.length));
const statNames = [...outputs.tensors.keys()].filter((k) => k.startsWith('train.') && k.endsWith('.running_mean')).map((k) => k.slice('train.'.length, -'.running_mean'.length));
/** torchvision's own float32 error on each loss and gradient against the same step in float64 (same draws and proposals). */
const trainError = JSON.parse(outputs.metadata.train_float32_error!) as Record<string, number>;
/**
 * Gradients that pass through ReLU kinks of the box head (fc7) or through RoIAlign's sampling and the RPN
 * head (the FPN convolution) are ill-conditioned: moving the input images by 1e-6 moves them by 6e-4 and
 * 2e-3 (max |change| / max |gradient|, measured here on cpu), so detkit's float32 rounding, not a different
 * computation, is what separates them from torchvision's (measured on cpu: 8e-4 and 4e-4). They are held to
 * this bar on cpu; the others to expectParity's (1e-4, or twice torchvision's own float32 error).
 */
const ILL_CONDITIONED = new Set(['roi_heads.box_head.fc7.weight', 'backbone.fpn.layer_blocks.0.0.weight']);
const ILL_CONDITIONED_BAR = 1e-2;
/**
 * wasm's convolutions (XNNPACK) sum in another order than torch's; the features differ by about 1e-5 and
 * every gradient amplifies that (measured: 1e-3 to 7e-3, the ill-conditioned two the largest).
 */
const WASM_GRADIENT_BAR = 2e-2;
// tfjs-backend-wasm 4.22 has no convolution backprops; @detkit/backends adds them.
registerWasmTrainingKernels();

/** |a - e| / |e| for two scalars. */
const relative = (a: number, e: number) => Math.abs(a - e) / Math.abs(e);

describeEachBackend(`fasterrcnnMobilenetV3Large320Fpn train-mode parity with torchvision (${NAME})`, (backend) => {
  it("gives torchvision's four losses, gradients and running statistics with torchvision's draws", { timeout: HEAVY_TIMEOUT }, () => {
    expect(gradNames.length).toBeGreaterThan(0);
    const model = fasterrcnnMobilenetV3Large320Fpn(options);
    model.loadStateDict(weights.bytes);
    const specs = new Map(model.parameters.specs().map((s) => [s.name, s]));
    const images = [0, 1].map((i) => fixtureTensor(outputs, `input.${i}`) as tf.Tensor3D);
    const targets = [0, 1].map((i) => ({ boxes: fixtureTensor(outputs, `train.targets.${i}.boxes`), labels: fixtureTensor(outputs, `train.targets.${i}.labels`) }));
    // torchvision's draws, and the training proposals its RoI draw indexes (NMS orders near-tied scores by
    // rounding, so detkit's own proposals hold the same boxes in a slightly different order).
    const sampled = {
      rpn: [0, 1].map((i) => fixtureTensor(outputs, `train.sampled.rpn.${i}`)),
      roi: [0, 1].map((i) => fixtureTensor(outputs, `train.sampled.roi.${i}`)),
      proposals: [0, 1].map((i) => fixtureTensor(outputs, `train.proposals.${i}`)),
    };
    const variables = gradNames.map((n) => model.parameters.get(n));
    const before = tf.memory().numTensors;

    let parts: tf.Scalar[] = [];
    const { value, grads } = tf.variableGrads(() => {
      const l = model.loss(images, targets, { sampled });
      parts = FASTER_RCNN_LOSS_PARTS.map(([k]) => tf.keep(l[k]));
      return l.total;
    }, variables);
    const got = parts.map((p) => p.dataSync()[0]!);
    FASTER_RCNN_LOSS_PARTS.forEach(([ours, theirs], k) => {
      const expected = tf.tidy(() => fixtureTensor(outputs, `train.loss.${theirs}`).dataSync()[0]!);
      const err = relative(got[k]!, expected);
      console.log(`[${backend}] ${theirs}: ${got[k]} (torchvision ${expected}), relative error ${err.toExponential(2)} (torchvision float32 vs float64: ${trainError[`train.loss.${theirs}`]!.toExponential(2)})`);
      expect.soft(err, `[${backend}] ${ours}`).toBeLessThanOrEqual(LOSS_BAR);
    });
    expect(value.dataSync()[0]).toBeCloseTo(got.reduce((a, b) => a + b, 0), 5);
    tf.tidy(() => {
      gradNames.forEach((n, k) => {
        const stats = errorStats(grads[variables[k]!.name]!, fixtureInTfLayout(outputs, `${GRAD_PREFIX}${n}`, specs.get(n)!));
        if (backend === 'cpu' && !ILL_CONDITIONED.has(n)) {
          expectParity(`[${backend}] grad ${n}`, stats, trainError[`${GRAD_PREFIX}${n}`]);
        } else {
          console.log(`[${backend}] grad ${n}: max |detkit - torchvision| / max |torchvision| ${stats.scaled.toExponential(2)}`);
          expect.soft(stats.scaled, `[${backend}] grad ${n}`).toBeLessThanOrEqual(backend === 'cpu' ? ILL_CONDITIONED_BAR : WASM_GRADIENT_BAR);
        }
      });
      for (const bn of statNames) {
        for (const stat of ['running_mean', 'running_var']) {
          expectParity(`[${backend}] ${bn}.${stat} after the step`, errorStats(model.parameters.get(`${bn}.${stat}`), fixtureTensor(outputs, `train.${bn}.${stat}`)));
        }
      }
    });
    tf.dispose([value, ...Object.values(grads), ...parts]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...images, ...targets.flatMap((t) => [t.boxes, t.labels]), ...sampled.rpn, ...sampled.roi, ...sampled.proposals]);
    model.dispose();
  });

  it('draws its own mini-batches from a seed: finite losses, the same for the same seed, no tensor left', { timeout: HEAVY_TIMEOUT }, () => {
    const model = fasterrcnnMobilenetV3Large320Fpn({ ...options, rpnPreNmsTopNTrain: 300, rpnPostNmsTopNTrain: 300 });
    model.loadStateDict(weights.bytes);
    const images = [0, 1].map((i) => fixtureTensor(outputs, `input.${i}`) as tf.Tensor3D);
    // Image 1 has no ground truth: all its anchors and RoIs are background.
    const targets = [
      { boxes: [[10, 8, 90, 70]], labels: [1] },
      { boxes: [], labels: [] },
    ];
    const before = tf.memory().numTensors;
    const run = (seed: number) =>
      tf.tidy(() => {
        const l = model.loss(images, targets, { seed });
        return FASTER_RCNN_LOSS_PARTS.map(([k]) => l[k].dataSync()[0]!);
      });
    const a = run(3);
    expect(a.every((v) => Number.isFinite(v))).toBe(true);
    expect(run(3)).toEqual(a);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(images);
    model.dispose();
  });

  it('rejects bad targets and sampled indices, naming them', () => {
    const model = fasterrcnnMobilenetV3Large320Fpn({ ...options, rpnPreNmsTopNTrain: 100, rpnPostNmsTopNTrain: 100 });
    const image = tf.zeros([64, 64, 3]) as tf.Tensor3D;
    const ok = { boxes: [[0, 0, 10, 10]], labels: [1] };
    const before = tf.memory().numTensors;
    expect(() => model.loss([image, image], [ok])).toThrow(/targets.*one target per image \(2\), got 1/);
    expect(() => model.loss([image, image], [ok, { boxes: [[5, 5, 5, 9]], labels: [1] }])).toThrow(/targets\[1\]\.boxes.*positive width and height/);
    expect(() => model.loss([image, image], [ok, { boxes: [[0, 0, 10, 10]], labels: [4] }])).toThrow(/targets\[1\]\.labels.*\[1, 4\)/);
    expect(() => model.loss([image, image], [ok, ok], { seed: 1, rng: Math.random })).toThrow(/options\.seed.*exclusive/);
    expect(() => model.loss([image, image], [ok, ok], { sampled: { rpn: [[0]], roi: [[0], [0]] } })).toThrow(/options\.sampled\.rpn.*one index list per image \(2\), got 1/);
    expect(() => model.loss([image, image], [ok, ok], { sampled: { rpn: [[0], [1e9]], roi: [[0], [0]] } })).toThrow(/options\.sampled\.rpn\[1\].*anchor indices in \[0, \d+\), got 1000000000/);
    expect(tf.memory().numTensors).toBe(before);
    image.dispose();
    model.dispose();
  });
});
