/**
 * The algorithms behind `nms`, `batchedNms` and `softNms`, over typed arrays.
 *
 * torchvision's CPU kernel compares every kept box with every later candidate (O(N^2) IoUs). detkit's
 * greedy NMS (the wasm kernel `nmsSorted`) bins the candidates by their top-left corner in a uniform grid
 * and compares a candidate only with kept boxes in the cells that could hold a box with IoU > t: if
 * IoU(a, b) > t > 0 the x-overlap exceeds t * max(wa, wb), so |x1a - x1b| < (1 - t) * max(wa, wb) <=
 * (1 - t) / t * wa, likewise for y; for t = 0 the boxes must merely intersect. The decision uses
 * torchvision's float32 IoU exactly, so the pruning changes the work done, never the result.
 */
import { callWasmKernel, type KernelContext } from '@detkit/core';
import { boxesWasm } from './wasm';

/**
 * Candidate indices with score > scoreThreshold, ordered by descending score, ties by ascending index.
 * Sorts packed float64 keys (an order-preserving uint32 of the float32 score, and the index) with the
 * native numeric sort: several times faster than a comparator sort.
 */
export function sortByScore(scores: ArrayLike<number>, scoreThreshold: number, subset?: Int32Array): Int32Array {
  const total = subset ? subset.length : scores.length;
  const bits = new Uint32Array(new Float32Array(1).buffer);
  const fbits = new Float32Array(bits.buffer);
  if (total < 2 ** 21) {
    const keys = new Float64Array(total);
    let k = 0;
    for (let s = 0; s < total; s++) {
      const i = subset ? (subset[s] as number) : s;
      const v = scores[i] as number;
      if (!(v > scoreThreshold)) continue;
      fbits[0] = v === 0 ? 0 : v; // -0 and +0 tie, as in torch
      const u = bits[0] as number;
      const ascending = u & 0x80000000 ? ~u >>> 0 : (u | 0x80000000) >>> 0;
      // Descending score = ascending (2^32 - 1 - key); ties resolved by the index in the low 21 bits.
      keys[k++] = (0xffffffff - ascending) * 2 ** 21 + i;
    }
    const sorted = keys.subarray(0, k).sort();
    const order = new Int32Array(k);
    for (let r = 0; r < k; r++) order[r] = (sorted[r] as number) % 2 ** 21;
    return order;
  }
  const order: number[] = [];
  for (let s = 0; s < total; s++) {
    const i = subset ? (subset[s] as number) : s;
    if ((scores[i] as number) > scoreThreshold) order.push(i);
  }
  order.sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
  return Int32Array.from(order);
}

/**
 * Greedy NMS of the candidates in `order` (already sorted by descending score), in the wasm kernel
 * `nmsSorted` (assembly/index.ts). Marks kept boxes in `keep`; returns how many were kept (<= maxKeep).
 */
export function greedyNms(ctx: KernelContext, boxes: ArrayLike<number>, order: Int32Array, iouThreshold: number, maxKeep: number, keep: Uint8Array): number {
  const n = order.length;
  if (n === 0 || maxKeep <= 0) return 0;
  const coords = new Float32Array(4 * n);
  for (let r = 0; r < n; r++) {
    const o = 4 * order[r]!;
    coords[4 * r] = boxes[o]!;
    coords[4 * r + 1] = boxes[o + 1]!;
    coords[4 * r + 2] = boxes[o + 2]!;
    coords[4 * r + 3] = boxes[o + 3]!;
  }
  const ranks = new Int32Array(n);
  const kept = callWasmKernel(boxesWasm, ctx, { inputs: [coords], outputs: [ranks], scratchBytes: nmsScratchBytes(n) }, (wasm, p) =>
    wasm.nmsSorted(p.inputs[0]!, n, iouThreshold, Math.min(maxKeep, n), p.scratch, p.outputs[0]!),
  );
  for (let k = 0; k < kept; k++) keep[order[ranks[k]!]!] = 1;
  return kept;
}

/** Scratch bytes of nmsSorted (mirrors nmsScratchBytes in assembly/index.ts). */
function nmsScratchBytes(n: number): number {
  const side = Math.ceil(Math.sqrt(n)) + 1;
  return (6 * n + 2 * side * side + 32) * 4;
}

/** Soft-NMS options as the kernel receives them. */
export interface SoftNmsParams {
  method: 'linear' | 'gaussian';
  iouThreshold: number;
  sigma: number;
  scoreThreshold: number;
  maxOutputSize: number;
}

/**
 * Soft-NMS (Bodla et al. 2017, Algorithm 1): repeatedly select the highest remaining score (ties: lower
 * index), then decay every remaining score by f(IoU with it); drop boxes whose score falls below
 * `scoreThreshold`. O(N^2). Returns selected indices and their scores at selection.
 */
export function softNmsCore(boxes: ArrayLike<number>, scores: ArrayLike<number>, p: SoftNmsParams): { indices: Int32Array; scores: Float32Array } {
  const n = scores.length;
  const alive: number[] = [];
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s[i] = scores[i] as number;
    if (s[i]! >= p.scoreThreshold) alive.push(i);
  }
  const outIdx: number[] = [];
  const outScore: number[] = [];
  let live = alive.length;
  while (live > 0 && outIdx.length < p.maxOutputSize) {
    let best = 0;
    for (let q = 1; q < live; q++) {
      const i = alive[q]!, b = alive[best]!;
      if (s[i]! > s[b]! || (s[i] === s[b] && i < b)) best = q;
    }
    const m = alive[best]!;
    alive[best] = alive[live - 1]!;
    live--;
    outIdx.push(m);
    outScore.push(s[m]!);
    const mx1 = boxes[4 * m] as number, my1 = boxes[4 * m + 1] as number, mx2 = boxes[4 * m + 2] as number, my2 = boxes[4 * m + 3] as number;
    const marea = (mx2 - mx1) * (my2 - my1);
    for (let q = 0; q < live; q++) {
      const i = alive[q]!;
      const o = 4 * i;
      const iw = Math.min(mx2, boxes[o + 2] as number) - Math.max(mx1, boxes[o] as number);
      const ih = Math.min(my2, boxes[o + 3] as number) - Math.max(my1, boxes[o + 1] as number);
      if (iw <= 0 || ih <= 0) continue;
      const inter = iw * ih;
      const union = marea + ((boxes[o + 2] as number) - (boxes[o] as number)) * ((boxes[o + 3] as number) - (boxes[o + 1] as number)) - inter;
      const iou = union > 0 ? inter / union : 0;
      const weight = p.method === 'linear' ? (iou > p.iouThreshold ? 1 - iou : 1) : Math.exp(-(iou * iou) / p.sigma);
      s[i] = s[i]! * weight;
      if (s[i]! < p.scoreThreshold) {
        alive[q] = alive[live - 1]!;
        live--;
        q--;
      }
    }
  }
  return { indices: Int32Array.from(outIdx), scores: Float32Array.from(outScore) };
}
