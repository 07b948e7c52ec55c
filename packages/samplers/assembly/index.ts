// @detkit/samplers' WebAssembly kernels (AssemblyScript, compiled by @detkit/wasm-build with SIMD).
//
// Every function works on raw pointers into the memory the module imports (tfjs-backend-wasm's heap, or
// a private one) and allocates nothing: callers pass scratch space. Losses are finite float32, labels int32.

/** The k-th largest of the n float32 values at v (1 <= k < n), by quickselect in place (Hoare partition, median of three). */
function kthLargest(v: usize, n: i32, k: i32): f32 {
  const target = n - k; // its index in ascending order
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const a = load<f32>(v + (<usize>lo << 2));
    const b = load<f32>(v + (<usize>((lo + hi) >>> 1) << 2));
    const c = load<f32>(v + (<usize>hi << 2));
    const pivot: f32 = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (load<f32>(v + (<usize>i << 2)) < pivot) i++;
      while (load<f32>(v + (<usize>j << 2)) > pivot) j--;
      if (i <= j) {
        const t = load<f32>(v + (<usize>i << 2));
        store<f32>(v + (<usize>i << 2), load<f32>(v + (<usize>j << 2)));
        store<f32>(v + (<usize>j << 2), t);
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return load<f32>(v + (<usize>target << 2));
  }
  return load<f32>(v + (<usize>target << 2));
}

/**
 * Marks in `out` the `k` members of one pool of a row (positives: label > 0, or negatives: label == 0) with
 * the largest loss, equal losses lower index first: positives keep their label, negatives get 0. `scratch`
 * holds the pool's `count` losses in index order (reordered here). Returns how many were marked:
 * min(k, count). One quickselect for the k-th largest loss, then one pass over the row.
 */
@inline function keepLargest(loss: usize, labels: usize, row: usize, n: i32, positives: bool, scratch: usize, count: i32, k: i32, out: usize): i32 {
  if (k <= 0 || count == 0) return 0;
  let threshold: f32 = -Infinity;
  let ties = k;
  if (k < count) {
    threshold = kthLargest(scratch, count, k);
    for (let j = 0; j < n; j++) {
      const o = (row + <usize>j) << 2;
      const label = load<i32>(labels + o);
      if ((positives ? label > 0 : label == 0) && load<f32>(loss + o) > threshold) ties--;
    }
  }
  for (let j = 0; j < n; j++) {
    const o = (row + <usize>j) << 2;
    const label = load<i32>(labels + o);
    if (!(positives ? label > 0 : label == 0)) continue;
    const v = load<f32>(loss + o);
    if (v > threshold) store<i32>(out + o, positives ? label : 0);
    else if (v == threshold && ties > 0) {
      store<i32>(out + o, positives ? label : 0);
      ties--;
    }
  }
  return min<i32>(k, count);
}

/** Copies the losses of one pool of a row (positives: label > 0, or negatives: label == 0) to scratch, in index order; returns their count. */
@inline function gatherPool(loss: usize, labels: usize, row: usize, n: i32, positives: bool, scratch: usize): i32 {
  let count = 0;
  for (let j = 0; j < n; j++) {
    const o = (row + <usize>j) << 2;
    const label = load<i32>(labels + o);
    if (positives ? label > 0 : label == 0) {
      store<f32>(scratch + (<usize>count << 2), load<f32>(loss + o));
      count++;
    }
  }
  return count;
}

/**
 * SSD hard negative mining over `rows` rows of `n` losses and labels (> 0 positive, 0 negative, < 0
 * ignored). Per row: k = min(#negatives, max(ceil(negPosRatio * #positives), minNegatives)), the product
 * in float32 as torchvision's `idx_rank < neg_to_pos_ratio * num_foreground`; the k negatives with the
 * largest loss are kept, equal losses lower index first. Writes to `out` (int32, like labels): positives
 * keep their label, kept negatives 0, everything else -1. Expected O(n) per row; scratch: n floats.
 */
export function mineHardNegatives(loss: usize, labels: usize, rows: i32, n: i32, negPosRatio: f32, minNegatives: i32, out: usize, scratch: usize): void {
  for (let r = 0; r < rows; r++) {
    const row = <usize>r * <usize>n;
    let positives = 0;
    let negatives = 0;
    for (let j = 0; j < n; j++) {
      const o = (row + <usize>j) << 2;
      const label = load<i32>(labels + o);
      store<i32>(out + o, label > 0 ? label : -1);
      if (label > 0) positives++;
      else if (label == 0) {
        store<f32>(scratch + (<usize>negatives << 2), load<f32>(loss + o));
        negatives++;
      }
    }
    const wanted = Mathf.ceil(negPosRatio * <f32>positives);
    const k = min<i32>(negatives, max<i32>(wanted >= <f32>negatives ? negatives : <i32>wanted, minNegatives));
    keepLargest(loss, labels, row, n, false, scratch, negatives, k, out);
  }
}

/**
 * Online hard example mining over `n` losses and labels (> 0 positive, 0 negative, < 0 ignored), as
 * mmdetection's `OHEMSampler`: the floor(batchSize * positiveFraction) positives with the largest loss,
 * then the batchSize - (positives taken) negatives with the largest loss, at most
 * floor(negPosUpperBound * max(1, positives taken)) when negPosUpperBound >= 0; equal losses lower index
 * first. Counts are computed in float64, as the TypeScript options are. Writes to `out` (int32): kept
 * positives keep their label, kept negatives 0, everything else -1. Scratch: n floats.
 */
export function sampleOhem(loss: usize, labels: usize, n: i32, batchSize: f64, positiveFraction: f64, negPosUpperBound: f64, out: usize, scratch: usize): void {
  for (let j = 0; j < n; j++) store<i32>(out + (<usize>j << 2), -1);
  const np = gatherPool(loss, labels, 0, n, true, scratch);
  const wantedPositive = min<f64>(Math.floor(batchSize * positiveFraction), <f64>n);
  const takenPositive = keepLargest(loss, labels, 0, n, true, scratch, np, <i32>wantedPositive, out);
  let wantedNegative = min<f64>(batchSize - <f64>takenPositive, <f64>n);
  if (negPosUpperBound >= 0) wantedNegative = min<f64>(wantedNegative, Math.floor(negPosUpperBound * <f64>max<i32>(1, takenPositive)));
  const nn = gatherPool(loss, labels, 0, n, false, scratch);
  keepLargest(loss, labels, 0, n, false, scratch, nn, <i32>wantedNegative, out);
}
