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
    if (k == 0) continue;
    let threshold: f32 = -Infinity;
    let ties = k;
    if (k < negatives) {
      threshold = kthLargest(scratch, negatives, k);
      for (let j = 0; j < n; j++) {
        const o = (row + <usize>j) << 2;
        if (load<i32>(labels + o) == 0 && load<f32>(loss + o) > threshold) ties--;
      }
    }
    for (let j = 0; j < n; j++) {
      const o = (row + <usize>j) << 2;
      if (load<i32>(labels + o) != 0) continue;
      const v = load<f32>(loss + o);
      if (v > threshold) store<i32>(out + o, 0);
      else if (v == threshold && ties > 0) {
        store<i32>(out + o, 0);
        ties--;
      }
    }
  }
}
