/**
 * Greedy NMS over typed arrays: the algorithms behind `nms`, `batchedNms` and `softNms`.
 *
 * torchvision's CPU kernel compares every kept box with every later candidate (O(N^2) IoUs). Here the
 * candidates are binned by their top-left corner in a uniform grid (packed cell by cell, in score order),
 * and a candidate is compared only with kept boxes, in nearby cells, that could reach IoU > t with it. If IoU(a, b) > t > 0 then the x-overlap exceeds
 * t * max(wa, wb), which forces |x1a - x1b| < (1 - t) * max(wa, wb) <= (1 - t) / t * wa (and likewise
 * for y); for t = 0 the boxes must merely intersect. The decision itself uses torchvision's float32 IoU
 * formula exactly, so the pruning changes the work done, never the result.
 */

/** float32 rounding: emulates torchvision's float32 arithmetic in the IoU that decides suppression. */
const f32 = Math.fround;

/** torchvision's nms_kernel_impl IoU in float32 arithmetic, for boxes in `packed` rows of 5 at `o`. */
function iouF32(cx1: number, cy1: number, cx2: number, cy2: number, carea: number, packed: Float64Array, o: number): number {
  const iw = f32(Math.max(0, f32(Math.min(cx2, packed[o + 2]!) - Math.max(cx1, packed[o]!))));
  const ih = f32(Math.max(0, f32(Math.min(cy2, packed[o + 3]!) - Math.max(cy1, packed[o + 1]!))));
  const inter = f32(iw * ih);
  return f32(inter / f32(f32(packed[o + 4]! + carea) - inter));
}

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
 * Greedy NMS of the candidates in `order` (already sorted by descending score). Marks kept boxes in
 * `keep` and returns how many were kept (at most `maxKeep`).
 */
export function greedyNms(boxes: ArrayLike<number>, order: Int32Array, iouThreshold: number, maxKeep: number, keep: Uint8Array): number {
  const n = order.length;
  if (n === 0 || maxKeep <= 0) return 0;
  // Gather the candidates' coordinates in score order, with float32 areas as torchvision computes them.
  const x1 = new Float64Array(n), y1 = new Float64Array(n), x2 = new Float64Array(n), y2 = new Float64Array(n), area = new Float64Array(n);
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity, sumW = 0, sumH = 0, maxW = 0, maxH = 0;
  for (let r = 0; r < n; r++) {
    const o = 4 * (order[r] as number);
    const a = boxes[o] as number, b = boxes[o + 1] as number, c = boxes[o + 2] as number, d = boxes[o + 3] as number;
    x1[r] = a; y1[r] = b; x2[r] = c; y2[r] = d;
    area[r] = f32(f32(c - a) * f32(d - b));
    if (a < minX) minX = a;
    if (a > maxX) maxX = a;
    if (b < minY) minY = b;
    if (b > maxY) maxY = b;
    sumW += c - a; sumH += d - b;
    if (c - a > maxW) maxW = c - a;
    if (d - b > maxH) maxH = d - b;
  }
  const t = iouThreshold;
  // Reach of the search window in units of the candidate's own size; infinite reach at t = 0.
  const reach = t > 0 ? ((1 - t) / t) * (1 + 1e-4) : Infinity;
  const slack = 1e-3; // px: keeps float rounding near the bound from pruning a true overlap
  // Cells a few times smaller than the mean window balance cells visited against pairs tested.
  const meanW = sumW / n, meanH = sumH / n;
  const winW = Math.max(Math.min(reach * meanW, maxW), meanW * 0.05, 1e-6);
  const winH = Math.max(Math.min(reach * meanH, maxH), meanH * 0.05, 1e-6);
  const spanX = maxX - minX, spanY = maxY - minY;
  const gx = Math.max(1, Math.min(512, Math.ceil(spanX / (winW / 2)), Math.ceil(Math.sqrt(n))));
  const gy = Math.max(1, Math.min(512, Math.ceil(spanY / (winH / 2)), Math.ceil(Math.sqrt(n))));
  const invCellW = spanX > 0 ? gx / spanX : 0, invCellH = spanY > 0 ? gy / spanY : 0;
  const cellX = (x: number) => Math.min(gx - 1, Math.max(0, Math.floor((x - minX) * invCellW)));
  const cellY = (y: number) => Math.min(gy - 1, Math.max(0, Math.floor((y - minY) * invCellH)));

  // Counting sort of the candidates into cells (cell-major, rank order within a cell), packed as
  // [x1, y1, x2, y2, area] rows, so the scan of a cell reads memory sequentially.
  const cells = gx * gy;
  const cellOf = new Int32Array(n);
  const start = new Int32Array(cells + 1);
  for (let r = 0; r < n; r++) {
    const c = cellY(y1[r]!) * gx + cellX(x1[r]!);
    cellOf[r] = c;
    start[c + 1]!++;
  }
  for (let c = 0; c < cells; c++) start[c + 1]! += start[c]!;
  const fill = start.slice(0, cells);
  const packed = new Float64Array(5 * n);
  const rankAt = new Int32Array(n);
  const slot = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const p = fill[cellOf[r]!]!++;
    rankAt[p] = r;
    slot[r] = p;
    packed[5 * p] = x1[r]!;
    packed[5 * p + 1] = y1[r]!;
    packed[5 * p + 2] = x2[r]!;
    packed[5 * p + 3] = y2[r]!;
    packed[5 * p + 4] = area[r]!;
  }

  let kept = 0;
  for (let r = 0; r < n; r++) {
    const cx1 = x1[r]!, cy1 = y1[r]!, cx2 = x2[r]!, cy2 = y2[r]!, carea = area[r]!;
    const w = cx2 - cx1, h = cy2 - cy1;
    // Kept box k can suppress r only if x1k lies in (cx1 - left, cx1 + right), likewise y1k.
    const left = Math.min(reach * w, maxW) + slack, right = Math.min(reach * w, w) + slack;
    const up = Math.min(reach * h, maxH) + slack, down = Math.min(reach * h, h) + slack;
    let suppressed = false;
    const gx0 = cellX(cx1 - left), gx1 = cellX(cx1 + right), gy0 = cellY(cy1 - up), gy1 = cellY(cy1 + down);
    search: for (let gyi = gy0; gyi <= gy1; gyi++) {
      for (let c = gyi * gx + gx0, cEnd = gyi * gx + gx1; c <= cEnd; c++) {
        for (let p = start[c]!, pEnd = start[c + 1]!; p < pEnd; p++) {
          if (rankAt[p]! >= r) break; // later candidates in this cell are not decided yet
          const o = 5 * p;
          // IoU in float64 without branches: a suppressed box carries a NaN area (its IoU is NaN, never
          // > t), and two zero-area boxes give 0 / 0 = NaN too. Only a value within 1e-6 of the
          // threshold is recomputed with torchvision's float32 arithmetic (nms_kernel_impl), which decides.
          const iw = Math.max(0, Math.min(cx2, packed[o + 2]!) - Math.max(cx1, packed[o]!));
          const ih = Math.max(0, Math.min(cy2, packed[o + 3]!) - Math.max(cy1, packed[o + 1]!));
          const inter = iw * ih;
          const ovr = inter / (packed[o + 4]! + carea - inter);
          if (ovr > t - 1e-6 && (ovr > t + 1e-6 || iouF32(cx1, cy1, cx2, cy2, carea, packed, o) > t)) {
            suppressed = true;
            break search;
          }
        }
      }
    }
    if (suppressed) {
      packed[5 * slot[r]! + 4] = NaN;
      continue;
    }
    keep[order[r]!] = 1;
    if (++kept >= maxKeep) break;
  }
  return kept;
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
