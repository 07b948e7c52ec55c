// W6 (BENCHMARKS.md): the SSD300 MultiBox loss, forward and backward, detkit side. Written in the shape of
// tooling/bench's workloads (id, title, package, target, seed, inputs(rand), setup(pkg, tensors), check)
// so the harness can list it; bench/run.mjs runs it on its own against bench/reference.py.
//
// Inputs (both sides read the same float32 / int32 arrays): torchvision's SSD300 default boxes (8,732,
// xyxy pixels on 300x300), a batch of 32 images with 5 ground-truth boxes each and labels in [1, 20],
// the SSDMatcher matches (each GT's best prior, then IoU >= 0.5), head outputs: class logits
// [32, 8732, 21] and box deltas [32, 8732, 4]. Timed, as torchvision's SSD.compute_loss + backward: the
// foreground priors' labels and encoded targets (weights 10, 10, 5, 5) from the matches, the loss, and
// the gradients of classification + regression with respect to both head outputs.
import { tf } from '@detkit/core';
import { ROI_BOX_CODER_WEIGHTS, encodeBoxes } from '@detkit/boxes';

export const BATCH = 32;
export const CLASSES = 21;
export const GT_PER_IMAGE = 5;
const IMAGE = 300;

/** SSD300 as torchvision's ssd300_vgg16 configures DefaultBoxGenerator. */
const SSD300 = {
  maps: [38, 19, 10, 5, 3, 1],
  steps: [8, 16, 32, 64, 100, 300],
  ratios: [[2], [2, 3], [2, 3], [2, 3], [2], [2]],
  scales: [0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05],
};

const f = Math.fround;

/**
 * torchvision's DefaultBoxGenerator (clip=True) for SSD300 on a 300x300 image, in its order (level, then
 * row-major location, then width-height pair) and float32 arithmetic: xyxy pixels, float32 [8732, 4].
 * reference.py checks the result against DefaultBoxGenerator itself.
 */
export function ssd300DefaultBoxes() {
  const boxes = [];
  SSD300.maps.forEach((fk, k) => {
    const sk = SSD300.scales[k];
    const pairs = [[sk, sk], [Math.sqrt(sk * SSD300.scales[k + 1]), Math.sqrt(sk * SSD300.scales[k + 1])]];
    for (const ar of SSD300.ratios[k]) {
      const w = sk * Math.sqrt(ar);
      const h = sk / Math.sqrt(ar);
      pairs.push([w, h], [h, w]);
    }
    const wh = pairs.map(([w, h]) => [Math.min(Math.max(f(w), 0), 1), Math.min(Math.max(f(h), 0), 1)]);
    const xfk = IMAGE / SSD300.steps[k];
    for (let y = 0; y < fk; y++) {
      for (let x = 0; x < fk; x++) {
        const cx = f(f(x + 0.5) / f(xfk));
        const cy = f(f(y + 0.5) / f(xfk));
        for (const [w, h] of wh) {
          const hw = f(0.5 * w);
          const hh = f(0.5 * h);
          boxes.push(f(f(cx - hw) * IMAGE), f(f(cy - hh) * IMAGE), f(f(cx + hw) * IMAGE), f(f(cy + hh) * IMAGE));
        }
      }
    }
  });
  return { data: Float32Array.from(boxes), shape: [boxes.length / 4, 4] };
}

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
export function ssdMatch(gt, gtOffset, numGt, priors) {
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

/** Uniform floats in [lo, hi). */
function uniform(rand, n, lo, hi) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + rand() * (hi - lo);
  return out;
}

/** The W6 inputs from a seeded PRNG (`rand() -> [0, 1)`), as { name: { data, shape } }. */
export function w6Inputs(rand) {
  const priors = ssd300DefaultBoxes();
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
 * into per-prior targets, the MultiBox loss, and its gradients. Returns [total, dClsLogits,
 * dBboxRegression] (the caller disposes them).
 */
export function w6Setup({ multiboxLoss }, t) {
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

/** [loss, sum |dLogits|, sum |dDeltas|], compared with reference.py's. */
export async function w6Check(out) {
  const [value, gl, gd] = out;
  const sumAbs = async (g) => {
    const s = tf.tidy(() => tf.sum(tf.abs(g)));
    const v = (await s.data())[0];
    s.dispose();
    return v;
  };
  return [(await value.data())[0], await sumAbs(gl), await sumAbs(gd)];
}

/** The harness entry (tooling/bench/workloads.mjs's Workload shape). */
export const W6_LOSS = {
  id: 'W6-loss',
  title: 'SSD300 MultiBox loss fwd+bwd: 32 x 8,732 priors, 21 classes, 3:1 hard negatives',
  package: '@detkit/losses',
  target: 1.0,
  seed: 61,
  inputs: w6Inputs,
  setup: w6Setup,
  check: w6Check,
};
