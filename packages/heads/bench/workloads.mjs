// @detkit/heads' standard workloads (/work/shared/BENCHMARKS.md W3 and W5), detkit side, in the format of
// tooling/bench/workloads.mjs: append these entries to its WORKLOADS (and reference.py's functions to its
// WORKLOADS) and `pnpm bench` times them. bench/run.mjs in this package runs them on their own.
//
// Inputs are made here from the harness's seeded PRNG (`rand`, floats in [0, 1)) and shared with
// reference.py through the harness's manifest, so both sides time the same float32 values. Feature maps
// and upstream gradients are stored NHWC (detkit's layout); reference.py transposes them to NCHW before
// timing.
import { tf } from '@detkit/core';

/** Standard normal samples from `rand` (Box-Muller). */
function normal(rand, n, std = 1) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - rand();
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v) * std;
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v) * std;
  }
  return out;
}

/** `n` xyxy boxes inside [0, size]^2 with sides uniform in [minSide, maxSide]. */
function boxes(rand, n, { size = 800, minSide = 32, maxSide = 400 } = {}) {
  const out = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const w = minSide + rand() * (maxSide - minSide);
    const h = minSide + rand() * (maxSide - minSide);
    const x = rand() * (size - w);
    const y = rand() * (size - h);
    out.set([x, y, x + w, y + h], 4 * i);
  }
  return { data: out, shape: [n, 4] };
}

/**
 * W2's anchors: torchvision AnchorGenerator on a 50x50 map at stride 16, sizes 128/256/512, ratios
 * 0.5/1/2 (22,500, location-major). reference.py checks them against AnchorGenerator.
 */
function rpnAnchors() {
  const cell = [];
  for (const r of [0.5, 1, 2]) {
    const hr = Math.fround(Math.sqrt(r));
    const wr = Math.fround(1 / hr);
    for (const s of [128, 256, 512]) {
      const w = Math.fround(wr * s);
      const h = Math.fround(hr * s);
      cell.push([-w / 2, -h / 2, w / 2, h / 2].map((v) => Math.round(v)));
    }
  }
  const out = new Float32Array(50 * 50 * 9 * 4);
  let k = 0;
  for (let y = 0; y < 50; y++) {
    for (let x = 0; x < 50; x++) {
      for (const [x1, y1, x2, y2] of cell) {
        out[k++] = x * 16 + x1;
        out[k++] = y * 16 + y1;
        out[k++] = x * 16 + x2;
        out[k++] = y * 16 + y2;
      }
    }
  }
  return { data: out, shape: [22500, 4] };
}

const sumOf = async (t) => {
  const v = await t.data();
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return s;
};

/** W5's RoIs and feature map: [1, 50, 50, 512] NHWC (torchvision's [1, 512, 50, 50]), 128 boxes of 32..400 px. */
function roiInputs(rand, { upstream = false } = {}) {
  const inputs = {
    features: { data: normal(rand, 50 * 50 * 512), shape: [1, 50, 50, 512] },
    boxes: boxes(rand, 128),
    boxImageIndex: { data: new Int32Array(128), shape: [128] },
  };
  if (upstream) inputs.upstream = { data: normal(rand, 128 * 7 * 7 * 512), shape: [128, 7, 7, 512] };
  return inputs;
}

const ALIGN = { outputSize: [7, 7], spatialScale: 1 / 16, samplingRatio: 2, aligned: true };

/** @type {import('../../../tooling/bench/workloads.mjs').Workload[]} */
export const WORKLOADS = [
  {
    id: 'W3',
    title: 'proposal layer, 22,500 anchors: decode, clip 800x800, drop sides < 16, top 12,000, NMS 0.7, keep 2,000',
    package: '@detkit/heads',
    target: 0.1,
    seed: 31,
    inputs: (rand) => {
      const n = 22500;
      const deltas = normal(rand, 4 * n);
      for (let i = 0; i < n; i++) {
        deltas[4 * i] *= 0.1;
        deltas[4 * i + 1] *= 0.1;
        deltas[4 * i + 2] *= 0.2;
        deltas[4 * i + 3] *= 0.2;
      }
      return {
        anchors: rpnAnchors(),
        deltas: { data: deltas, shape: [1, n, 4] },
        objectness: { data: normal(rand, n), shape: [1, n] },
      };
    },
    setup: ({ proposalLayer, PROPOSAL_PRESETS }, t) => () => {
      const { boxes: b, scores } = proposalLayer({ objectness: t.objectness, deltas: t.deltas, anchors: t.anchors, imageSizes: [800, 800] }, PROPOSAL_PRESETS.train);
      return [b[0], scores[0]];
    },
    check: async ([b]) => [b.shape[0], await sumOf(b)],
  },
  {
    id: 'W5a',
    title: 'RoIAlign 7x7 forward, features [1, 512, 50, 50], 128 RoIs, scale 1/16, sampling 2, aligned',
    package: '@detkit/heads',
    target: 1.0,
    seed: 51,
    inputs: (rand) => roiInputs(rand),
    setup: ({ roiAlign }, t) => () => roiAlign(t.features, t.boxes, t.boxImageIndex, ALIGN),
    check: async (out) => [await sumOf(out)],
  },
  {
    id: 'W5b',
    title: 'RoIAlign 7x7 forward + backward (gradient with respect to the features), W5a inputs',
    package: '@detkit/heads',
    target: 1.0,
    seed: 52,
    inputs: (rand) => roiInputs(rand, { upstream: true }),
    // tf.grad(f)(x, dy): dy is the upstream gradient of roiAlign's output, as torch's backward(dy).
    setup: ({ roiAlign }, t) => () => tf.grad((x) => roiAlign(x, t.boxes, t.boxImageIndex, ALIGN))(t.features, t.upstream),
    check: async (grad) => [await sumOf(grad)],
  },
  {
    id: 'W5c',
    title: 'RoIPool 7x7 forward, W5a inputs (scale 1/16)',
    package: '@detkit/heads',
    target: 1.0,
    seed: 53,
    inputs: (rand) => roiInputs(rand),
    setup: ({ roiPool }, t) => () => roiPool(t.features, t.boxes, t.boxImageIndex, { outputSize: [7, 7], spatialScale: 1 / 16 }),
    check: async (out) => [await sumOf(out)],
  },
];
