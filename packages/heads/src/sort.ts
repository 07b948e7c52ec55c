/** Sorting and float32 helpers of the selection kernels (not exported from the package). */

const INDEX_BITS = 2 ** 21;
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * The `limit` candidates (indices into `values`) with the largest values, ties going to the lower index
 * (torch leaves ties unspecified), returned in the order they appear in `candidates` (not by value: NMS
 * sorts its input anyway). Selects in O(n) over packed float64 keys (an order-preserving uint32 of the
 * float32 value, and the index), so no comparator runs.
 */
export function topByValue(values: ArrayLike<number>, candidates: Int32Array, limit: number): Int32Array {
  const n = candidates.length;
  if (limit >= n) return candidates;
  if (limit <= 0) return new Int32Array(0);
  let maxIndex = 0;
  for (let s = 0; s < n; s++) if ((candidates[s] as number) > maxIndex) maxIndex = candidates[s] as number;
  if (maxIndex >= INDEX_BITS) {
    const order = Array.from(candidates).sort((a, b) => (values[b] as number) - (values[a] as number) || a - b);
    const keep = new Set(order.slice(0, limit));
    return candidates.filter((i) => keep.has(i));
  }
  // key = (descending rank of the float32 value) * 2^21 + index: smaller key = larger value.
  const keys = new Float64Array(n);
  for (let s = 0; s < n; s++) keys[s] = keyOf(values[candidates[s] as number] as number, candidates[s] as number);
  const cut = kthSmallest(keys.slice(), limit - 1);
  const out = new Int32Array(limit);
  let k = 0;
  for (let s = 0; s < n; s++) if ((keys[s] as number) <= cut) out[k++] = candidates[s] as number;
  return out;
}

function keyOf(v: number, index: number): number {
  f32[0] = v === 0 ? 0 : v; // -0 and +0 tie
  const u = u32[0] as number;
  const ascending = u & 0x80000000 ? ~u >>> 0 : (u | 0x80000000) >>> 0;
  return (0xffffffff - ascending) * INDEX_BITS + index;
}

/** The k-th smallest (0-based) of distinct `a` (reordered in place): Hoare's quickselect, median of three. */
function kthSmallest(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    const x = a[lo] as number, y = a[mid] as number, z = a[hi] as number;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const t = a[i] as number;
        a[i++] = a[j] as number;
        a[j--] = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k] as number;
  }
  return a[k] as number;
}

/** float32 logistic sigmoid of a float32 logit, as torch.sigmoid gives it (to rounding). */
export function sigmoid32(x: number): number {
  return Math.fround(1 / (1 + Math.exp(-x)));
}
