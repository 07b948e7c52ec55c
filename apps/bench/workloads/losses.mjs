// @detkit/losses' standard workload: W6's second half, the SSD300 MultiBox loss forward and backward.
//
// Inputs (both sides read the same arrays): SSD300's default boxes (8,732, xyxy pixels on 300x300), a
// batch of 32 images with 5 ground-truth boxes each and labels in [1, 20], torchvision's SSDMatcher
// matches (computed here on the host; reference.py checks them against SSDMatcher), and head outputs:
// class logits [32, 8732, 21] and box deltas [32, 8732, 4]. Timed, as torchvision's SSD.compute_loss +
// backward: the foreground priors' labels and encoded targets (weights 10, 10, 5, 5) from the matches,
// the loss, and the gradients of classification + regression with respect to both head outputs.
import { ROI_BOX_CODER_WEIGHTS, encodeBoxes } from '@detkit/boxes';
import { tf } from '@detkit/core';
import { ssd300Priors, uniform } from '../inputs.mjs';

const BATCH = 32;
const CLASSES = 21;
const GT_PER_IMAGE = 5;
const IMAGE = 300;
const f = Math.fround;

/** IoU of two xyxy boxes in float32, as torchvision.ops.box_iou computes it. */
function iou(a, i, b, j) {
  const area = (v, k) => f(f(v[4 * k + 2] - v[4 * k]) * f(v[4 * k + 3] - v[4 * k + 1]));
  const w = Math.max(0, f(Math.min(a[4 * i + 2], b[4 * j + 2]) - Math.max(a[4 * i], b[4 * j])));
  const h = Math.max(0, f(Math.min(a[4 * i + 3], b[4 * j + 3]) - Math.max(a[4 * i + 1], b[4 * j + 1])));
  const inter = f(w * h);
  return f(inter / f(f(area(a, i) + area(b, j)) - inter));
}

/**
 * torchvision's SSDMatcher(0.5) on box_iou(gt, priors): each prior takes its best GT when the IoU is
 * >= 0.5 (else -1), then each GT claims its best prior (later GTs win a shared prior). int32 [P].
 */
function ssdMatch(gt, gtOffset, numGt, priors) {
  const p = priors.length / 4;
  const matches = new Int32Array(p).fill(-1);
  const best = new Float32Array(p).fill(-1);
  const bestPrior = new Int32Array(numGt);
  const bestPriorIou = new Float32Array(numGt).fill(-1);
  for (let j = 0; j < p; j++) {
    for (let g = 0; g < numGt; g++) {
      const v = iou(gt, gtOffset + g, priors, j);
      if (v > best[j]) {
        best[j] = v;
        if (v >= 0.5) matches[j] = g;
      }
      if (v > bestPriorIou[g]) {
        bestPriorIou[g] = v;
        bestPrior[g] = j;
      }
    }
  }
  for (let j = 0; j < p; j++) if (best[j] < 0.5) matches[j] = -1;
  for (let g = 0; g < numGt; g++) matches[bestPrior[g]] = g;
  return matches;
}

function w6Inputs(rand) {
  const priors = ssd300Priors();
  const p = priors.shape[0];
  const gt = new Float32Array(BATCH * GT_PER_IMAGE * 4);
  const gtLabels = new Int32Array(BATCH * GT_PER_IMAGE);
  for (let i = 0; i < BATCH * GT_PER_IMAGE; i++) {
    const w = 30 + rand() * 170;
    const h = 30 + rand() * 170;
    const x = rand() * (IMAGE - w);
    const y = rand() * (IMAGE - h);
    gt.set([x, y, x + w, y + h], 4 * i);
    gtLabels[i] = 1 + Math.floor(rand() * (CLASSES - 1));
  }
  const matched = new Int32Array(BATCH * p);
  for (let b = 0; b < BATCH; b++) matched.set(ssdMatch(gt, b * GT_PER_IMAGE, GT_PER_IMAGE, priors.data), b * p);
  return {
    priors,
    gtBoxes: { data: gt, shape: [BATCH, GT_PER_IMAGE, 4] },
    gtLabels: { data: gtLabels, shape: [BATCH, GT_PER_IMAGE] },
    matched: { data: matched, shape: [BATCH, p] },
    clsLogits: { data: uniform(rand, BATCH * p * CLASSES, -2, 2), shape: [BATCH, p, CLASSES] },
    bboxRegression: { data: uniform(rand, BATCH * p * 4, -0.5, 0.5), shape: [BATCH, p, 4] },
  };
}

/**
 * The timed call, torchvision's compute_loss path: the foreground priors (matches >= 0, read on the host
 * as torch.where does), their GT boxes encoded (weights 10, 10, 5, 5) and scattered with their labels
 * into per-prior targets, the MultiBox loss, and its gradients. Returns [total, dClsLogits, dBboxRegression].
 */
function w6Setup({ multiboxLoss }, t) {
  const [batch, priors] = t.matched.shape;
  const perImage = t.gtLabels.shape[1];
  const grad = (labels, targets) => tf.valueAndGrads((logits, deltas) => multiboxLoss(logits, deltas, labels, targets).total);
  return () =>
    tf.tidy(() => {
      const matched = t.matched.dataSync();
      const fg = [];
      const fgPrior = [];
      const fgGt = [];
      for (let i = 0; i < matched.length; i++) {
        if (matched[i] < 0) continue;
        fg.push(i);
        fgPrior.push(i % priors);
        fgGt.push(Math.floor(i / priors) * perImage + matched[i]);
      }
      const gtBoxes = tf.reshape(t.gtBoxes, [-1, 4]);
      const gtLabels = tf.reshape(t.gtLabels, [-1]);
      const where = tf.tensor2d(fg, [fg.length, 1], 'int32');
      const gtIndex = tf.tensor1d(fgGt, 'int32');
      const encoded = encodeBoxes(tf.gather(gtBoxes, gtIndex), tf.gather(t.priors, tf.tensor1d(fgPrior, 'int32')), { weights: ROI_BOX_CODER_WEIGHTS });
      const targets = tf.reshape(tf.scatterND(where, encoded, [batch * priors, 4]), [batch, priors, 4]);
      const labels = tf.reshape(tf.scatterND(where, tf.gather(gtLabels, gtIndex), [batch * priors]), [batch, priors]);
      const { value, grads } = grad(labels, targets)([t.clsLogits, t.bboxRegression]);
      return [value, ...grads];
    });
}

/** [loss, sum |dLogits|, sum |dDeltas|]. */
async function w6Check([value, gl, gd]) {
  const sumAbs = async (g) => {
    const s = tf.tidy(() => tf.sum(tf.abs(g)));
    const v = (await s.data())[0];
    s.dispose();
    return v;
  };
  return [(await value.data())[0], await sumAbs(gl), await sumAbs(gd)];
}

/** @type {import('../workloads.mjs').Workload[]} */
export const LOSS_WORKLOADS = [
  {
    id: 'W6-loss',
    group: 'W6',
    title: 'SSD300 MultiBox loss fwd+bwd: 32 x 8,732 priors, 21 classes, 3:1 hard negatives',
    package: '@detkit/losses',
    target: 1.0,
    seed: 61,
    inputs: w6Inputs,
    setup: w6Setup,
    check: w6Check,
  },
];
