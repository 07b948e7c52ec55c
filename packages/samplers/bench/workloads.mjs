// The target-building workloads of /work/shared/BENCHMARKS.md (W2, W4, the matching part of W6), detkit
// side, in tooling/bench's workload format: append WORKLOADS to tooling/bench/workloads.mjs's list (and
// reference.py's REFERENCE to its registry, and "@detkit/samplers": "workspace:*" to its dependencies).
// `node bench/run.mjs` here times them on their own against reference.py.
import { randomBoxes, randomClasses, rpnAnchors } from '../../../tooling/bench/inputs.mjs';

/**
 * SSD300's 8,732 default boxes with torchvision `DefaultBoxGenerator` semantics (ssd300_vgg16: aspect
 * ratios [2], [2, 3], [2, 3], [2, 3], [2], [2]; scales 0.07 .. 1.05; steps 8 .. 300; clipped wh), as xyxy
 * pixels of a 300 x 300 image, float32 arithmetic in torchvision's order. reference.py compares them with
 * DefaultBoxGenerator itself.
 */
export function ssd300Priors() {
  const f = Math.fround;
  const maps = [38, 19, 10, 5, 3, 1];
  const steps = [8, 16, 32, 64, 100, 300];
  const ratios = [[2], [2, 3], [2, 3], [2, 3], [2], [2]];
  const scales = [0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05].map(f);
  const size = 300;
  const out = [];
  maps.forEach((fk, k) => {
    const sk = scales[k];
    const sPrime = f(Math.sqrt(f(scales[k] * scales[k + 1])));
    const wh = [[sk, sk], [sPrime, sPrime]];
    for (const ar of ratios[k]) {
      const sq = f(Math.sqrt(ar));
      const w = f(sk * sq), h = f(sk / sq);
      wh.push([w, h], [h, w]);
    }
    const clipped = wh.map(([w, h]) => [Math.min(Math.max(w, 0), 1), Math.min(Math.max(h, 0), 1)]);
    const xf = f(size / steps[k]);
    for (let y = 0; y < fk; y++) {
      for (let x = 0; x < fk; x++) {
        const cx = f(f(x + 0.5) / xf), cy = f(f(y + 0.5) / xf);
        for (const [w, h] of clipped) {
          const hw = f(0.5 * w), hh = f(0.5 * h);
          out.push(f(f(cx - hw) * size), f(f(cy - hh) * size), f(f(cx + hw) * size), f(f(cy + hh) * size));
        }
      }
    }
  });
  return { data: Float32Array.from(out), shape: [out.length / 4, 4] };
}

/** Half the proposals jittered around the ground truth (each side moved by up to 20% of the box size), half uniform. */
function roiProposals(rand, gt, n) {
  const m = gt.shape[0];
  const out = new Float32Array(4 * n);
  const jittered = n / 2;
  for (let i = 0; i < jittered; i++) {
    const g = gt.data.subarray(4 * (i % m), 4 * (i % m) + 4);
    const w = g[2] - g[0], h = g[3] - g[1];
    const x1 = g[0] + (rand() - 0.5) * 0.4 * w, y1 = g[1] + (rand() - 0.5) * 0.4 * h;
    const x2 = g[2] + (rand() - 0.5) * 0.4 * w, y2 = g[3] + (rand() - 0.5) * 0.4 * h;
    out.set([Math.min(x1, x2), Math.min(y1, y2), Math.max(x1, x2), Math.max(y1, y2)], 4 * i);
  }
  out.set(randomBoxes(rand, n - jittered).data, 4 * jittered);
  return { data: out, shape: [n, 4] };
}

/** Class ids 1..numClasses (0 is background). */
function classIds(rand, n, numClasses) {
  const c = randomClasses(rand, n, numClasses);
  for (let i = 0; i < n; i++) c.data[i] += 1;
  return c;
}

function sumPositive(values, keep) {
  let s = 0;
  for (let i = 0; i < values.length; i++) if (keep(i)) s += Math.abs(values[i]);
  return s;
}

const W6_IMAGES = 32;
const W6_GT = 5;

export const WORKLOADS = [
  {
    id: 'W2',
    title: 'RPN targets: 22,500 anchors x 20 GT, match 0.7/0.3 + highest-IoU rule, sample 256 at 0.5, encode',
    package: '@detkit/samplers',
    target: 0.5,
    seed: 2,
    inputs: (rand) => ({ anchors: rpnAnchors(), gt: randomBoxes(rand, 20, { minSide: 40, maxSide: 400 }) }),
    setup: ({ buildRpnTargets }, t) => () => buildRpnTargets(t.anchors, t.gt, { seed: 7 }),
    // Matched anchors (before sampling), sampled positives and negatives, and the sum of |regression
    // targets| over the matched anchors: all independent of the random draw.
    check: async (out) => {
      const [matches, labels, targets] = await Promise.all([out.matches.data(), out.labels.data(), out.regressionTargets.data()]);
      const matched = matches.filter((m) => m >= 0).length;
      return [matched, labels.filter((l) => l === 1).length, labels.filter((l) => l === 0).length, sumPositive(targets, (i) => matches[i >> 2] >= 0)];
    },
  },
  {
    id: 'W4',
    title: 'RoI targets: 2,000 proposals + 20 GT, match 0.5, sample 128 at 0.25, encode (10,10,5,5)',
    package: '@detkit/samplers',
    target: 1.0,
    seed: 4,
    inputs: (rand) => {
      const gt = randomBoxes(rand, 20, { minSide: 40, maxSide: 400 });
      return { proposals: roiProposals(rand, gt, 2000), gt, classes: classIds(rand, 20, 20) };
    },
    setup: ({ buildRoiTargets }, t) => () => buildRoiTargets(t.proposals, t.gt, t.classes, { seed: 7 }),
    // Sampled RoIs and foreground RoIs (independent of the draw when both pools are large enough).
    check: async (out) => {
      const cls = await out.classLabels.data();
      return [cls.length, cls.filter((c) => c > 0).length];
    },
  },
  {
    id: 'W6m',
    title: 'SSD300 matching: 8,732 priors, batch 32 x 5 GT, best prior per GT then 0.5, class and (10,10,5,5) targets',
    package: '@detkit/samplers',
    target: 1.0,
    seed: 6,
    // One ground-truth list per image (gt0 .. gt31, classes0 .. classes31), as a data loader gives them.
    inputs: (rand) => {
      const inputs = { priors: ssd300Priors() };
      for (let i = 0; i < W6_IMAGES; i++) {
        inputs[`gt${i}`] = randomBoxes(rand, W6_GT, { size: 300, minSide: 10, maxSide: 200 });
        inputs[`classes${i}`] = classIds(rand, W6_GT, 20);
      }
      return inputs;
    },
    setup: ({ buildSsdTargetsBatch }, t) => {
      const images = [...Array(W6_IMAGES).keys()];
      const gts = images.map((i) => t[`gt${i}`]);
      const classes = images.map((i) => t[`classes${i}`]);
      return () => buildSsdTargetsBatch(t.priors, gts, classes);
    },
    // Positive priors over the batch, and the sum of their class ids.
    check: async (out) => {
      let positives = 0, classSum = 0;
      for (const v of await out.classLabels.data()) if (v > 0) (positives++, (classSum += v));
      return [positives, classSum];
    },
  },
];
