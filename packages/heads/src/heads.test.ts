// The heads' output order, spelled out: row (y * W + x) * A + a of a level is location (y, x), anchor a —
// @detkit/anchors' order (location-major, then the A anchors), levels concatenated in order. (The
// torchvision fixtures check the same against RPNHead / SSDHead numerically.)
import { tf } from '@detkit/core';
import { describeEachBackend, expectClose } from '@detkit/test-utils';
import { expect, it } from 'vitest';
import { createBoxHead, createRpnHead, createSsdHead, roiAlign, type HeadWeights } from './index';

/** Location-encoding features: channel 0 = y, channel 1 = x. */
function positions(h: number, w: number): tf.Tensor4D {
  const v: number[] = [];
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) v.push(y, x);
  return tf.tensor4d(v, [1, h, w, 2]);
}

/** Sets a variable from a function of its index. */
function setVariable(head: HeadWeights, key: string, value: (index: number[]) => number) {
  const v = head.variables[key]!;
  const data = new Float32Array(v.size);
  const strides = v.shape.map((_, i) => v.shape.slice(i + 1).reduce((p, q) => p * q, 1));
  for (let k = 0; k < v.size; k++) data[k] = value(strides.map((s, i) => Math.floor(k / s) % v.shape[i]!));
  tf.tidy(() => v.assign(tf.tensor(data, v.shape)));
}

/** The expected rows: per level (h, w, A), value(level, y, x, a, j) for j < k. */
function expectedRows(levels: Array<[number, number, number]>, k: number, value: (level: number, y: number, x: number, a: number, j: number) => number) {
  const rows: number[][] = [];
  levels.forEach(([h, w, A], level) => {
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let a = 0; a < A; a++) rows.push(Array.from({ length: k }, (_, j) => value(level, y, x, a, j)));
  });
  return [rows];
}

describeEachBackend('head output order', () => {
  it('RPN head: row (y * W + x) * A + a, then the next level; logits and deltas per anchor', () => {
    const head = createRpnHead({ inChannels: 2, midChannels: 2, numAnchors: 3, objectnessLogits: 2 });
    try {
      // The 3x3 conv passes the positions through (centre tap, identity); the 1x1 convs then give
      // value = 100 y + 10 x + (anchor, output) code.
      setVariable(head, 'conv/kernel', ([i, j, c, o]) => (i === 1 && j === 1 && c === o ? 1 : 0));
      setVariable(head, 'conv/bias', () => 0);
      setVariable(head, 'cls_logits/kernel', ([, , c]) => (c === 0 ? 100 : 10));
      setVariable(head, 'cls_logits/bias', ([o]) => o! / 10);
      setVariable(head, 'bbox_pred/kernel', ([, , c]) => (c === 0 ? 100 : 10));
      setVariable(head, 'bbox_pred/bias', ([o]) => o! / 10);
      tf.tidy(() => {
        const out = head.apply([positions(2, 3), positions(1, 2)]);
        expect(out.anchorsPerLevel).toEqual([18, 6]);
        const code = (y: number, x: number, a: number, j: number, k: number) => 100 * y + 10 * x + (a * k + j) / 10;
        expectClose(out.objectness, expectedRows([[2, 3, 3], [1, 2, 3]], 2, (_, y, x, a, j) => code(y, x, a, j, 2)));
        expectClose(out.deltas, expectedRows([[2, 3, 3], [1, 2, 3]], 4, (_, y, x, a, j) => code(y, x, a, j, 4)));
      });
    } finally {
      head.dispose();
    }
  });

  it('SSD head: the same order, each level with its own convs and anchor count', () => {
    const head = createSsdHead({ inChannels: [2, 2], numAnchors: [2, 3], numClasses: 3 });
    try {
      for (const level of [0, 1]) {
        for (const part of ['classification', 'regression']) {
          setVariable(head, `${part}/${level}/kernel`, ([i, j, c]) => (i === 1 && j === 1 ? (c === 0 ? 100 : 10) : 0));
          setVariable(head, `${part}/${level}/bias`, ([o]) => o! / 10 + 1000 * level);
        }
      }
      tf.tidy(() => {
        const out = head.apply([positions(2, 2), positions(2, 1)]);
        expect(out.anchorsPerLevel).toEqual([8, 6]);
        const code = (level: number, y: number, x: number, a: number, j: number, k: number) => 1000 * level + 100 * y + 10 * x + (a * k + j) / 10;
        expectClose(out.classLogits, expectedRows([[2, 2, 2], [2, 1, 3]], 3, (l, y, x, a, j) => code(l, y, x, a, j, 3)));
        expectClose(out.boxDeltas, expectedRows([[2, 2, 2], [2, 1, 3]], 4, (l, y, x, a, j) => code(l, y, x, a, j, 4)));
      });
    } finally {
      head.dispose();
    }
  });

  it('box head: [K, PH, PW, C] and its (h, w, c) flattening give the same outputs; K = 0 gives empty outputs', () => {
    const head = createBoxHead({ inChannels: 3, poolSize: [2, 2], representationSize: 8, numClasses: 4, seed: 7 });
    try {
      tf.tidy(() => {
        const pooled = tf.randomNormal([5, 2, 2, 3], 0, 1, 'float32', 8);
        const a = head.apply(pooled);
        const b = head.apply(tf.reshape(pooled, [5, 12]));
        expect(a.classLogits.shape).toEqual([5, 4]);
        expect(a.boxDeltas.shape).toEqual([5, 16]);
        expectClose(a.classLogits, b.classLogits.arraySync());
        expectClose(a.boxDeltas, b.boxDeltas.arraySync());
        const empty = head.apply(tf.zeros([0, 2, 2, 3]));
        expect([empty.classLogits.shape, empty.boxDeltas.shape]).toEqual([[0, 4], [0, 16]]);
      });
    } finally {
      head.dispose();
    }
  });

  it('trains: SGD steps through RPN head, RoIAlign and box head lower a loss', () => {
    const rpn = createRpnHead({ inChannels: 4, midChannels: 8, numAnchors: 2, seed: 3 });
    const box = createBoxHead({ inChannels: 4, poolSize: 2, representationSize: 16, numClasses: 3, seed: 4 });
    const optimizer = tf.train.sgd(0.1);
    try {
      const x = tf.randomNormal([1, 6, 6, 4], 0, 1, 'float32', 5);
      const rois = tf.tensor2d([[0, 0, 40, 40], [16, 8, 90, 70], [30, 30, 60, 90]]);
      const target = tf.oneHot(tf.tensor1d([1, 2, 0], 'int32'), 3);
      // Both heads' losses, and the box head's through RoIAlign on a trainable feature map.
      const features = tf.variable(x);
      const loss = () =>
        tf.tidy(() => {
          const out = rpn.apply(features);
          const pooled = roiAlign(features, rois, [0, 0, 0], { outputSize: 2, spatialScale: 1 / 16, samplingRatio: 2, aligned: true });
          const { classLogits } = box.apply(pooled);
          const rpnLoss = tf.add(tf.mean(tf.square(tf.sub(out.objectness, 1))), tf.mean(tf.square(out.deltas)));
          return tf.add(tf.losses.softmaxCrossEntropy(target, classLogits), rpnLoss) as tf.Scalar;
        });
      const varList = [features, ...Object.values(rpn.variables), ...Object.values(box.variables)];
      const first = loss().dataSync()[0]!;
      for (let i = 0; i < 20; i++) optimizer.minimize(loss, true, varList)?.dispose();
      const last = loss().dataSync()[0]!;
      expect(last).toBeLessThan(first * 0.9);
      tf.dispose([x, features, rois, target]);
    } finally {
      optimizer.dispose();
      rpn.dispose();
      box.dispose();
    }
  });
});
