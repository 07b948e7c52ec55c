// @detkit/matchers' WebAssembly kernels (AssemblyScript, compiled by @detkit/wasm-build with SIMD).
//
// Every function works on raw pointers into the memory the module imports (tfjs-backend-wasm's heap, or
// a private one) and allocates nothing: callers pass scratch space. Quality (IoU) matrices are row-major
// float32 [m ground-truth boxes, n anchors] with values in [0, 1]; indices and labels are int32.

/**
 * One pass over the [m, n] matrix q (m >= 1): colMax / colArg (f32[n], i32[n]) receive each column's
 * maximum and the first row holding it (torch's max(dim=0)); rowMax / rowArg (f32[m], i32[m]) each row's
 * maximum and the first column holding it (max(dim=1)). Four columns per SIMD step, no branches in the
 * inner loop.
 */
export function scanQuality(q: usize, m: i32, n: i32, colMax: usize, colArg: usize, rowMax: usize, rowArg: usize): void {
  const n4 = n & ~3;
  const bytes = <usize>n << 2;
  memory.copy(colMax, q, bytes); // row 0 starts the column maxima, at row index 0
  memory.fill(colArg, 0, bytes);
  const four = i32x4.splat(4);
  for (let i = 0; i < m; i++) {
    const row = q + <usize>i * bytes;
    const vi = i32x4.splat(i);
    let best = f32x4.splat(-Infinity);
    let bestAt = i32x4.splat(0);
    let at = i32x4(0, 1, 2, 3);
    for (let j = 0; j < n4; j += 4) {
      const o = <usize>j << 2;
      const x = v128.load(row + o);
      const c = v128.load(colMax + o);
      const higher = f32x4.gt(x, c); // strict: an earlier row keeps a tie
      v128.store(colMax + o, v128.bitselect(x, c, higher));
      v128.store(colArg + o, v128.bitselect(vi, v128.load(colArg + o), higher));
      const better = f32x4.gt(x, best); // strict: each lane keeps its first column
      best = v128.bitselect(x, best, better);
      bestAt = v128.bitselect(at, bestAt, better);
      at = i32x4.add(at, four);
    }
    // Lanes to one value: the maximum, at the smallest column among the lanes that hold it.
    let rmax: f32 = -Infinity;
    let rarg: i32 = 0;
    for (let k = 0; k < 4; k++) {
      const v = k == 0 ? f32x4.extract_lane(best, 0) : k == 1 ? f32x4.extract_lane(best, 1) : k == 2 ? f32x4.extract_lane(best, 2) : f32x4.extract_lane(best, 3);
      const a = k == 0 ? i32x4.extract_lane(bestAt, 0) : k == 1 ? i32x4.extract_lane(bestAt, 1) : k == 2 ? i32x4.extract_lane(bestAt, 2) : i32x4.extract_lane(bestAt, 3);
      if (v > rmax || (v == rmax && a < rarg)) {
        rmax = v;
        rarg = a;
      }
    }
    for (let j = n4; j < n; j++) {
      const o = <usize>j << 2;
      const x = load<f32>(row + o);
      if (x > load<f32>(colMax + o)) {
        store<f32>(colMax + o, x);
        store<i32>(colArg + o, i);
      }
      if (x > rmax) {
        rmax = x;
        rarg = j;
      }
    }
    store<f32>(rowMax + (<usize>i << 2), rmax);
    store<i32>(rowArg + (<usize>i << 2), rarg);
  }
}

/**
 * torchvision's Matcher over the [m, n] matrix q (m >= 1), writing matches (i32[n]: the matched row, -1
 * for none) and labels (i32[n]: 1 positive, 0 negative, -1 ignored). An anchor whose best value v is
 * >= high is positive; negative when negMin <= v < low; ignored otherwise. When no row has a value > 0
 * (no box overlaps anything), every anchor is negative, as with no boxes at all. With lowQuality != 0, every
 * anchor equal to a row's maximum is positive too, for the rows whose maximum is > 0 and >= minLowQuality;
 * positives are matched to their own best row. Thresholds are float32, as torch compares them.
 */
export function maxIouMatch(
  q: usize, m: i32, n: i32, high: f32, low: f32, negMin: f32, lowQuality: i32, minLowQuality: f32,
  matches: usize, labels: usize, scratch: usize,
): void {
  const colMax = scratch;
  const rowMax = colMax + (<usize>n << 2);
  const rowArg = rowMax + (<usize>m << 2);
  // The best row of each column goes straight into matches; the last loop keeps it for positives only.
  scanQuality(q, m, n, colMax, matches, rowMax, rowArg);
  // Rows that overlap nothing are boxes as good as absent; with none left, every anchor is negative.
  let overlapping = false;
  for (let i = 0; i < m; i++) if (load<f32>(rowMax + (<usize>i << 2)) > 0) overlapping = true;
  if (!overlapping) {
    memory.fill(labels, 0, <usize>n << 2);
    memory.fill(matches, 0xff, <usize>n << 2); // -1
    return;
  }
  const n4 = n & ~3;
  const one = i32x4.splat(1), zero = i32x4.splat(0), minusOne = i32x4.splat(-1);
  const vh = f32x4.splat(high), vl = f32x4.splat(low), vn = f32x4.splat(negMin);
  for (let j = 0; j < n4; j += 4) {
    const o = <usize>j << 2;
    const c = v128.load(colMax + o);
    const negative = v128.and(f32x4.lt(c, vl), f32x4.ge(c, vn));
    v128.store(labels + o, v128.bitselect(one, v128.bitselect(zero, minusOne, negative), f32x4.ge(c, vh)));
  }
  for (let j = n4; j < n; j++) {
    const o = <usize>j << 2;
    const c = load<f32>(colMax + o);
    store<i32>(labels + o, c >= high ? 1 : c < low && c >= negMin ? 0 : -1);
  }
  if (lowQuality != 0) {
    for (let i = 0; i < m; i++) {
      const best = load<f32>(rowMax + (<usize>i << 2));
      if (!(best > 0) || best < minLowQuality) continue;
      const row = q + ((<usize>i * <usize>n) << 2);
      const vb = f32x4.splat(best);
      for (let j = 0; j < n4; j += 4) {
        const o = <usize>j << 2;
        const tie = f32x4.eq(v128.load(row + o), vb);
        v128.store(labels + o, v128.bitselect(one, v128.load(labels + o), tie));
      }
      for (let j = n4; j < n; j++) {
        const o = <usize>j << 2;
        if (load<f32>(row + o) == best) store<i32>(labels + o, 1);
      }
    }
  }
  for (let j = 0; j < n4; j += 4) {
    const o = <usize>j << 2;
    v128.store(matches + o, v128.bitselect(v128.load(matches + o), minusOne, i32x4.eq(v128.load(labels + o), one)));
  }
  for (let j = n4; j < n; j++) {
    const o = <usize>j << 2;
    if (load<i32>(labels + o) != 1) store<i32>(matches + o, -1);
  }
}

/**
 * The threshold half of SSD matching over q (m >= 1): matches[j] = the best row of column j where its
 * maximum is >= t, else -1; labels[j] = 1 or 0 accordingly. rowMax / rowArg (f32[m], i32[m]) receive each
 * row's maximum and first column, from which the caller assigns each box its own prior.
 */
export function ssdMatch(q: usize, m: i32, n: i32, t: f32, matches: usize, labels: usize, rowMax: usize, rowArg: usize, scratch: usize): void {
  const colMax = scratch;
  scanQuality(q, m, n, colMax, matches, rowMax, rowArg);
  const n4 = n & ~3;
  const one = i32x4.splat(1), zero = i32x4.splat(0), minusOne = i32x4.splat(-1);
  const vt = f32x4.splat(t);
  for (let j = 0; j < n4; j += 4) {
    const o = <usize>j << 2;
    const positive = f32x4.ge(v128.load(colMax + o), vt);
    v128.store(labels + o, v128.bitselect(one, zero, positive));
    v128.store(matches + o, v128.bitselect(v128.load(matches + o), minusOne, positive));
  }
  for (let j = n4; j < n; j++) {
    const o = <usize>j << 2;
    const positive = load<f32>(colMax + o) >= t;
    store<i32>(labels + o, positive ? 1 : 0);
    if (!positive) store<i32>(matches + o, -1);
  }
}

/**
 * Index of the first value of the float32 array a[len] that is not an IoU, or -1: NaN, infinite, below 0
 * or above 1 + tol (tol absorbs float32 rounding of an IoU computed as inter / union). Blocks of 1024 are
 * screened four lanes at a time, and only a block that holds one is searched value by value.
 */
export function firstNotIou(a: usize, len: i32, tol: f32): i32 {
  const len4 = len & ~3;
  const lo = f32x4.splat(0);
  const hi = f32x4.splat(1 + tol);
  for (let base = 0; base < len4; base += 1024) {
    const end = min<i32>(base + 1024, len4);
    let inside = v128.splat<i32>(-1);
    for (let i = base; i < end; i += 4) {
      const x = v128.load(a + (<usize>i << 2));
      // Comparisons with NaN are false, so a NaN lane leaves `inside`.
      inside = v128.and(inside, v128.and(f32x4.ge(x, lo), f32x4.le(x, hi)));
    }
    if (!v128.all_true<i32>(inside)) {
      for (let i = base; i < end; i++) {
        const x = load<f32>(a + (<usize>i << 2));
        if (!(x >= 0 && x <= 1 + tol)) return i;
      }
    }
  }
  for (let i = len4; i < len; i++) {
    const x = load<f32>(a + (<usize>i << 2));
    if (!(x >= 0 && x <= 1 + tol)) return i;
  }
  return -1;
}
