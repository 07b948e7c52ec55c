// ssdliteDetector: torchvision's SSDlite behind detkit's Detector interface (the trainer's and loadDetector's),
// saved and rebuilt through @detkit/models' registry.
import { registerWasmTrainingKernels } from '@detkit/backends';
import { tf } from '@detkit/core';
import { loadDetectorModel, trainableVariables, type ImageTargets } from '@detkit/models';
import { describeEachBackend } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import { registerTorchvisionDetectors, SSDLITE_KIND, ssdliteDetector } from './detector';
import { loaderBatch, readFixture, savedArtifacts } from './test-fixtures';

registerWasmTrainingKernels();
const weights = readFixture('ssdlite320-w050-c4.weights.safetensors');
const outputs = readFixture('ssdlite320-w050-c4.outputs.safetensors').file;

const batch = () => loaderBatch(outputs);

const TARGETS: ImageTargets[] = [
  { boxes: new Float32Array([20, 30, 200, 220, 240, 200, 310, 300]), labels: new Int32Array([0, 2]) },
  { boxes: new Float32Array([60, 40, 260, 250]), labels: new Int32Array([1]) },
];

describeEachBackend('ssdliteDetector', (backend) => {
  it('detects what the torchvision model detects, with 0-based labels', () => {
    const detector = ssdliteDetector({ numClasses: 3, widthMult: 0.5 });
    detector.model.loadStateDict(weights.bytes);
    expect(detector.kind).toBe(SSDLITE_KIND);
    expect(Object.keys(detector.variables)).toContain('backbone.features.0.0.0.weight');
    const { normalised, pixels } = batch();
    const before = tf.memory().numTensors;
    const found = detector.detect(normalised, { scoreThreshold: 0.2 });
    expect(tf.memory().numTensors).toBe(before);
    const reference = detector.model.detect(pixels, { scoreThresh: 0.2 });
    found.forEach((d, i) => {
      const r = reference[i]!;
      expect(d.scores.length, `[${backend}] image ${i}`).toBe(r.scores.shape[0]);
      expect(d.scores.length).toBeGreaterThan(0);
      // The loader's normalisation undone in float32 moves the input by ~1e-7: scores move by < 1e-5 and boxes
      // (320-pixel coordinates) by about 1e-3 px on wasm, so near-equal scores may swap places (two of this
      // batch's detections differ by 3.6e-7). Each detection is paired with the reference one of its label
      // whose box is nearest among those within 1e-5 in score.
      const s = r.scores.dataSync();
      const b = r.boxes.dataSync();
      const l = r.labels.dataSync();
      const used = new Set<number>();
      const distance = (k: number, j: number) => [0, 1, 2, 3].reduce((m, c) => Math.max(m, Math.abs(d.boxes[4 * k + c]! - b[4 * j + c]!)), 0);
      d.scores.forEach((v, k) => {
        let best = -1;
        for (let j = 0; j < s.length; j++) {
          if (used.has(j) || l[j]! - 1 !== d.labels[k] || Math.abs(s[j]! - v) > 1e-5) continue;
          if (best < 0 || distance(k, j) < distance(k, best)) best = j;
        }
        expect(best, `[${backend}] image ${i} detection ${k}`).toBeGreaterThanOrEqual(0);
        used.add(best);
        expect(Math.abs(v - s[best]!)).toBeLessThanOrEqual(1e-5);
        for (let c = 0; c < 4; c++) expect(Math.abs(d.boxes[4 * k + c]! - b[4 * best + c]!)).toBeLessThanOrEqual(1e-2);
      });
    });
    tf.dispose([normalised, pixels, ...reference.flatMap((r) => [r.boxes, r.scores, r.labels])]);
    detector.dispose();
  });

  it('trains: the loss is the torchvision loss with 1-based labels, and a few steps lower it without leaks', () => {
    const detector = ssdliteDetector({ numClasses: 3, widthMult: 0.5, trainableBackboneLayers: 0 });
    detector.model.loadStateDict(weights.bytes);
    const { normalised, pixels } = batch();
    const direct = tf.tidy(() => detector.model.loss(pixels, TARGETS.map((t) => ({ boxes: tf.tensor2d(t.boxes, [t.labels.length, 4]), labels: tf.tensor1d(Int32Array.from(t.labels, (l) => l + 1), 'int32') }))).total.dataSync()[0]!);
    const optimizer = tf.train.sgd(0.01);
    const variables = trainableVariables(detector);
    // trainable_backbone_layers 0: only the extra blocks and the heads train.
    expect(variables.length).toBeGreaterThan(0);
    expect(variables.length).toBeLessThan(Object.values(detector.variables).filter((v) => detector.model.parameters.specs().some((s) => s.kind === 'parameter' && detector.model.parameters.get(s.name) === v)).length);
    const before = tf.memory().numTensors;
    const losses: number[] = [];
    for (let step = 0; step < 3; step++) {
      const cost = optimizer.minimize(() => detector.loss(normalised, TARGETS).total, true, variables)!;
      losses.push(cost.dataSync()[0]!);
      cost.dispose();
    }
    // The first loss is the direct one but for the running statistics the direct call moved (momentum 0.03).
    expect(Math.abs(losses[0]! - direct) / direct).toBeLessThan(1e-2);
    expect(losses[2]!, `[${backend}] losses ${losses.join(', ')}`).toBeLessThan(losses[0]!);
    expect(tf.memory().numTensors).toBe(before);
    optimizer.dispose();
    tf.dispose([normalised, pixels]);
    detector.dispose();
  });

  it('is saved in the detkit format and rebuilt by loadDetectorModel once registered', async () => {
    registerTorchvisionDetectors();
    const detector = ssdliteDetector({ numClasses: 3, widthMult: 0.5 });
    detector.model.loadStateDict(weights.bytes);
    const loaded = await loadDetectorModel(await savedArtifacts(detector));
    expect(loaded.config).toEqual(detector.config);
    const { normalised, pixels } = batch();
    const [a] = detector.detect(normalised, { scoreThreshold: 0.2 });
    const [b] = loaded.detect(normalised, { scoreThreshold: 0.2 });
    expect(Array.from(b!.scores)).toEqual(Array.from(a!.scores));
    expect(Array.from(b!.boxes)).toEqual(Array.from(a!.boxes));
    tf.dispose([normalised, pixels]);
    detector.dispose();
    loaded.dispose();
  });
});
