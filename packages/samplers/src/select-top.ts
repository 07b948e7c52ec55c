/**
 * Top-k selection by loss, shared by hard negative mining and OHEM (not exported from the package): one
 * quickselect pass finds the k-th largest loss, a second pass takes what lies above it, and ties at it in
 * index order. O(n) on average, in place of torchvision's two full sorts.
 */

/** The k-th largest of a[0..n) (1 <= k <= n), by a three-way quickselect; reorders `a`. */
export function kthLargest(a: Float32Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  const rank = k - 1;
  for (;;) {
    if (lo >= hi) return a[lo] as number;
    const x = a[lo] as number, y = a[(lo + hi) >>> 1] as number, z = a[hi] as number;
    // Median of three as the pivot.
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    // Descending three-way partition: [lo, lt) > pivot, [lt, gt] == pivot, (gt, hi] < pivot.
    let lt = lo, i = lo, gt = hi;
    while (i <= gt) {
      const v = a[i] as number;
      if (v > pivot) {
        a[i] = a[lt] as number;
        a[lt] = v;
        lt++;
        i++;
      } else if (v < pivot) {
        a[i] = a[gt] as number;
        a[gt] = v;
        gt--;
      } else {
        i++;
      }
    }
    if (rank < lt) hi = lt - 1;
    else if (rank > gt) lo = gt + 1;
    else return pivot;
  }
}

/**
 * Calls `take(index)` for the `k` candidates with the largest `loss[index]`, in ascending index order; of
 * candidates with equal losses the lower indices are taken first. `candidates[0..count)` must be in
 * ascending order. `scratch` must hold at least `count` floats.
 */
export function selectTop(
  candidates: Int32Array,
  count: number,
  loss: ArrayLike<number>,
  k: number,
  scratch: Float32Array,
  take: (index: number) => void,
): void {
  if (k <= 0) return;
  if (k >= count) {
    for (let c = 0; c < count; c++) take(candidates[c] as number);
    return;
  }
  for (let c = 0; c < count; c++) scratch[c] = loss[candidates[c] as number] as number;
  const t = kthLargest(scratch, count, k);
  let above = 0;
  for (let c = 0; c < count; c++) if ((loss[candidates[c] as number] as number) > t) above++;
  let ties = k - above;
  for (let c = 0; c < count; c++) {
    const index = candidates[c] as number;
    const v = loss[index] as number;
    if (v > t) take(index);
    else if (v === t && ties > 0) {
      take(index);
      ties--;
    }
  }
}
