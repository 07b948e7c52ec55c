// Seeded input generators. The harness makes every input here once, writes it to a temp folder, and both
// sides (detkit and reference.py) benchmark those exact float32 values.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** mulberry32: a tiny 32-bit seeded PRNG; returns floats in [0, 1). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
