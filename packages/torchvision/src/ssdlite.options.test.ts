// torchvision 0.14's SSD keyword options in ssdlite320MobilenetV3Large. Parity: the ssdlite320-w050-c4
// fixture's weights in ssdlite320_mobilenet_v3_large(..., **SSD_OPTIONS) (tooling/fixtures/groups/torchvision.py,
// ssdlite320-w050-c4.options.safetensors): its eval-mode detections and train-mode losses.
import { expect, it } from 'vitest';
import { InvalidArgumentError, tf } from '@detkit/core';
import { describeEachBackend } from '@detkit/test-utils';
import { SSDLITE320_DEFAULTS, ssdlite320MobilenetV3Large, type Ssdlite320Options } from './ssdlite';
import { expectSameDetections, fixtureTensor, readFixture } from './test-fixtures';

const NAME = 'ssdlite320-w050-c4';
const weights = readFixture(`${NAME}.weights.safetensors`);
const outputs = readFixture(`${NAME}.outputs.safetensors`).file;
const opts = readFixture(`${NAME}.options.safetensors`).file;
const kwargs = JSON.parse(opts.metadata.kwargs!) as Record<string, number>;
const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
const options = Object.fromEntries(Object.entries(kwargs).map(([k, v]) => [camel(k), v])) as Ssdlite320Options;
/** The bar for the losses, relative (as ssdlite.train.parity.test.ts: wasm 2e-5, cpu 5e-7 there). */
const LOSS_BAR = 1e-4;
const relative = (a: number, e: number) => Math.abs(a - e) / Math.abs(e);
const scalar = (key: string) => tf.tidy(() => fixtureTensor(opts, key).dataSync()[0]!);

it('the options fixture sets every SSD keyword detkit takes to a non-default value', () => {
  const keys = Object.keys(options).filter((k) => k !== 'numClasses' && k !== 'widthMult');
  expect(keys.sort()).toEqual(['detectionsPerImg', 'iouThresh', 'nmsThresh', 'positiveFraction', 'scoreThresh', 'topkCandidates']);
  for (const k of keys) expect(options[k as keyof Ssdlite320Options], k).not.toEqual((SSDLITE320_DEFAULTS as Record<string, unknown>)[k]);
});

describeEachBackend(`SSDlite keyword options: parity with torchvision built with them (${NAME})`, (backend) => {
  it("stores them in config and gives torchvision's detections and losses", () => {
    const model = ssdlite320MobilenetV3Large(options);
    model.loadStateDict(weights.bytes);
    expect(model.config).toMatchObject(options);
    const images = [0, 1].map((i) => fixtureTensor(outputs, `input.${i}`) as tf.Tensor3D);
    const targets = [0, 1].map((i) => ({ boxes: fixtureTensor(outputs, `train.targets.${i}.boxes`), labels: fixtureTensor(outputs, `train.targets.${i}.labels`) }));
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      // score_thresh 0.2, detections_per_img 20 (the default model keeps 300 per image from 0.001).
      model.detect(images).forEach((det, i) => {
        expect(det.scores.shape[0]).toBeLessThanOrEqual(20);
        expect(Math.min(...det.scores.dataSync())).toBeGreaterThan(0.2);
        expectSameDetections(`[${backend}] options detections.${i}`, det, opts, `detections.${i}`);
      });
      // iou_thresh 0.4 (more positive default boxes) and positive_fraction 0.4 (1.5 hard negatives per positive).
      const l = model.loss(images, targets);
      for (const [ours, theirs] of [['bboxRegression', 'bbox_regression'], ['classification', 'classification']] as const) {
        const got = l[ours].dataSync()[0]!;
        const expected = scalar(`train.loss.${theirs}`);
        const plain = tf.tidy(() => fixtureTensor(outputs, `train.loss.${theirs}`).dataSync()[0]!);
        console.log(`[${backend}] options ${theirs}: ${got} (torchvision ${expected}; with the default keywords ${plain}), relative error ${relative(got, expected).toExponential(2)}`);
        expect(relative(expected, plain), `${theirs} moves with the options`).toBeGreaterThan(1e-2);
        expect.soft(relative(got, expected), `[${backend}] ${ours}`).toBeLessThanOrEqual(LOSS_BAR);
      }
    });
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...images, ...targets.flatMap((t) => [t.boxes, t.labels])]);
    model.dispose();
  });
});

it('names bad keyword options (NaN, out of range) with InvalidArgumentError', () => {
  const bad: Array<[keyof Ssdlite320Options, unknown]> = [
    ['scoreThresh', Number.NaN],
    ['scoreThresh', 1.5],
    ['nmsThresh', -0.1],
    ['detectionsPerImg', 2.5],
    ['detectionsPerImg', -1],
    ['topkCandidates', Number.NaN],
    ['iouThresh', 0],
    ['iouThresh', Number.NaN],
    ['positiveFraction', 0], // neg_to_pos_ratio = (1 - 0) / 0: torchvision divides by zero
    ['positiveFraction', 1.1],
  ];
  for (const [name, value] of bad) {
    let thrown: unknown;
    try {
      ssdlite320MobilenetV3Large({ [name]: value });
    } catch (e) {
      thrown = e;
    }
    expect(thrown, `${name}: ${String(value)}`).toBeInstanceOf(InvalidArgumentError);
    expect((thrown as InvalidArgumentError).argument, `${name}: ${String(value)}`).toBe(name);
  }
});
