// @detkit/samplers' standard workloads: target building for the RPN (W2), the RoI head (W4) and SSD's
// matching (W6's first half).
import { randomBoxes, randomClasses, rpnAnchors, ssd300Priors } from '../inputs.mjs';

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

const W6_IMAGES = 32;
const W6_GT = 5;

/** @type {import('../workloads.mjs').Workload[]} */
export const TARGET_WORKLOADS = [
  {
    id: 'W2',
    title: 'RPN targets: 22,500 anchors x 20 GT, match 0.7/0.3 + highest-IoU rule, sample 256 at 0.5, encode',
    package: '@detkit/samplers',
    target: 0.5,
    seed: 2,
    inputs: (rand) => ({ anchors: rpnAnchors(), gt: randomBoxes(rand, 20, { minSide: 40, maxSide: 400 }) }),
    setup: ({ buildRpnTargets }, t) => () => buildRpnTargets(t.anchors, t.gt, { seed: 7 }),
    // The sampler draws with detkit's seeded RNG on one side and torch's global RNG on the other, so which
    // anchors are sampled cannot agree. Compared instead, all independent of the draw: matched anchors
    // (before sampling), sampled positives and negatives (counts), and the sum of |regression targets|
    // over the matched anchors.
    check: async (out) => {
      const [matches, labels, targets] = await Promise.all([out.matches.data(), out.labels.data(), out.regressionTargets.data()]);
      let matched = 0, positives = 0, negatives = 0, targetSum = 0;
      for (let i = 0; i < matches.length; i++) {
        if (matches[i] >= 0) {
          matched++;
          for (let k = 0; k < 4; k++) targetSum += Math.abs(targets[4 * i + k]);
        }
        if (labels[i] === 1) positives++;
        else if (labels[i] === 0) negatives++;
      }
      return [matched, positives, negatives, targetSum];
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
    // Random sampling again (different RNGs): sampled RoIs and foreground RoIs, which do not depend on the
    // draw when both pools are larger than their quota.
    check: async (out) => {
      const cls = await out.classLabels.data();
      return [cls.length, cls.filter((c) => c > 0).length];
    },
  },
  {
    id: 'W6-match',
    group: 'W6',
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
