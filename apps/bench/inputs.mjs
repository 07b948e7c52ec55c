// Seeded input generators. The harness makes every input here once, writes it to a temp folder, and both
// sides (detkit and reference.py) benchmark those exact float32 values.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `n` random xyxy boxes, float32 [n, 4], with sides uniform in [minSide, maxSide] lying inside
 * [0, size] x [0, size].
 */
export function randomBoxes(rand, n, { size = 800, minSide = 16, maxSide = 256 } = {}) {
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

/** `n` float32 scores uniform in [0, 1). */
export function randomScores(rand, n) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rand();
  return { data: out, shape: [n] };
}

/** `n` int32 class ids uniform in [0, numClasses). */
export function randomClasses(rand, n, numClasses) {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rand() * numClasses);
  return { data: out, shape: [n] };
}

/** `n` float32 samples of N(0, std^2) (Box-Muller, two per pair of draws). */
export function normal(rand, n, std = 1) {
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

/** `n` float32 values uniform in [lo, hi). */
export function uniform(rand, n, lo, hi) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + rand() * (hi - lo);
  return out;
}

/**
 * RPN anchors with torchvision `AnchorGenerator` semantics: per ratio r, h = size * sqrt(r),
 * w = size / sqrt(r); cell anchors [-w, -h, w, h] / 2 rounded to integers, ratio-major then size; shifted
 * to every cell (x, y) * stride, row-major, the cell's anchors contiguous. xyxy pixels, float32
 * [gridH * gridW * ratios * sizes, 4]. reference.py checks the result against AnchorGenerator itself.
 */
export function rpnAnchors({ grid = [50, 50], stride = 16, sizes = [128, 256, 512], ratios = [0.5, 1, 2] } = {}) {
  const cell = [];
  for (const r of ratios) {
    const hRatio = Math.fround(Math.sqrt(r));
    const wRatio = Math.fround(1 / hRatio);
    for (const s of sizes) {
      const w = Math.fround(wRatio * s);
      const h = Math.fround(hRatio * s);
      // torch.round rounds half to even; no anchor of these sizes lands on .5, so Math.round agrees.
      cell.push([-w / 2, -h / 2, w / 2, h / 2].map((v) => Math.round(v)));
    }
  }
  const [gh, gw] = grid;
  const out = new Float32Array(gh * gw * cell.length * 4);
  let k = 0;
  for (let y = 0; y < gh; y++) {
    for (let x = 0; x < gw; x++) {
      for (const [x1, y1, x2, y2] of cell) {
        out[k++] = x * stride + x1;
        out[k++] = y * stride + y1;
        out[k++] = x * stride + x2;
        out[k++] = y * stride + y2;
      }
    }
  }
  return { data: out, shape: [gh * gw * cell.length, 4] };
}

/**
 * SSD300's 8,732 default boxes with torchvision `DefaultBoxGenerator` semantics, as ssd300_vgg16 configures
 * it (feature maps 38, 19, 10, 5, 3, 1; aspect ratios [2], [2, 3], [2, 3], [2, 3], [2], [2]; scales
 * 0.07 .. 1.05; steps 8 .. 300; clip=True): xyxy pixels of a 300x300 image, in its order (level, then
 * row-major location, then width-height pair) and float32 arithmetic. float32 [8732, 4]. reference.py
 * checks them against DefaultBoxGenerator itself.
 */
export function ssd300Priors() {
  const f = Math.fround;
  const maps = [38, 19, 10, 5, 3, 1];
  const steps = [8, 16, 32, 64, 100, 300];
  const ratios = [[2], [2, 3], [2, 3], [2, 3], [2], [2]];
  const scales = [0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05];
  const size = 300;
  const out = [];
  maps.forEach((fk, k) => {
    // torchvision computes the widths and heights in float64 and stores them as float32.
    const sk = scales[k];
    const sPrime = Math.sqrt(sk * scales[k + 1]);
    const pairs = [[sk, sk], [sPrime, sPrime]];
    for (const ar of ratios[k]) pairs.push([sk * Math.sqrt(ar), sk / Math.sqrt(ar)], [sk / Math.sqrt(ar), sk * Math.sqrt(ar)]);
    const wh = pairs.map(([w, h]) => [Math.min(Math.max(f(w), 0), 1), Math.min(Math.max(f(h), 0), 1)]);
    const xf = f(size / steps[k]);
    for (let y = 0; y < fk; y++) {
      for (let x = 0; x < fk; x++) {
        const cx = f(f(x + 0.5) / xf), cy = f(f(y + 0.5) / xf);
        for (const [w, h] of wh) {
          const hw = f(0.5 * w), hh = f(0.5 * h);
          out.push(f(f(cx - hw) * size), f(f(cy - hh) * size), f(f(cx + hw) * size), f(f(cy + hh) * size));
        }
      }
    }
  });
  return { data: Float32Array.from(out), shape: [out.length / 4, 4] };
}

/**
 * Writes `{ [workloadId]: { [name]: { data, shape } } }` as raw little-endian files plus a
 * `manifest.json` ({ [workloadId]: { [name]: { file, dtype, shape } } }) into a fresh temp folder.
 * @returns the folder's path.
 */
export function writeInputs(inputsById) {
  const dir = mkdtempSync(join(tmpdir(), 'detkit-bench-'));
  const manifest = {};
  for (const [id, arrays] of Object.entries(inputsById)) {
    manifest[id] = {};
    for (const [name, { data, shape }] of Object.entries(arrays)) {
      const dtype = data instanceof Int32Array ? 'int32' : 'float32';
      const file = `${id}.${name}.bin`;
      writeFileSync(join(dir, file), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      manifest[id][name] = { file, dtype, shape };
    }
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}
