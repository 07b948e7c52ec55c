// @detkit/losses' WebAssembly kernels (AssemblyScript, compiled by @detkit/wasm-build with SIMD).
//
// Every function works on raw pointers into the memory the module imports (tfjs-backend-wasm's heap, or
// a private one) and allocates nothing. Logits are float32 rows of `classes` values, labels int32.

// exp(x) = 2^n exp(r), n = round(x log2 e), r = x - n ln 2 (ln 2 split in two parts, Cephes' expf, so
// that n ln 2 is exact); exp(r) = 1 + r + r^2 P(r) with Cephes' degree-5 P on |r| <= ln 2 / 2, evaluated
// by Estrin's scheme (shorter dependency chains than Horner's). n is rounded by adding 1.5 * 2^23, which
// leaves it in the low mantissa bits. Relative error below 1e-7 against Math.exp over [-87, 0].
const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
const P0: f32 = 1.9875691500e-4;
const P1: f32 = 1.3981999507e-3;
const P2: f32 = 8.3334519073e-3;
const P3: f32 = 4.1665795894e-2;
const P4: f32 = 1.6666665459e-1;
const P5: f32 = 5.0000001201e-1;
const ROUND_MAGIC: f32 = 12582912.0; // 1.5 * 2^23
/**
 * Lower clamp of the argument: exp(-87.33654) is float32's smallest normal number, so 2^n stays a normal
 * float. Every argument here is x - max(row) or x - logsumexp(row) <= 0: a term below 1.2e-38 next to the
 * row's largest term (>= 1) changes nothing in float32.
 */
const EXP_MIN: f32 = -87.33654;

/**
 * Writes exp's constants, splatted, to k (13 x 16 = 208 bytes of scratch). The kernels load them into
 * locals once: V8 rematerialises every inline v128.const at each use (several instructions each), which
 * makes a pass of inline-constant exps ~1.7x slower. A separate export, so that no optimiser folds the
 * stores into the loads.
 */
export function expConstants(k: usize): void {
  v128.store(k, f32x4.splat(EXP_MIN));
  v128.store(k, f32x4.splat(ROUND_MAGIC), 16);
  v128.store(k, f32x4.splat(LOG2E), 32);
  v128.store(k, f32x4.splat(LN2_HI), 48);
  v128.store(k, f32x4.splat(LN2_LO), 64);
  v128.store(k, f32x4.splat(P0), 80);
  v128.store(k, f32x4.splat(P1), 96);
  v128.store(k, f32x4.splat(P2), 112);
  v128.store(k, f32x4.splat(P3), 128);
  v128.store(k, f32x4.splat(P4), 144);
  v128.store(k, f32x4.splat(P5), 160);
  v128.store(k, f32x4.splat(1), 176);
  v128.store(k, i32x4.splat(127), 192);
}

/** exp of four float32 arguments <= 0 (see above), the constants passed as the caller's locals. */
// @ts-ignore: decorator
@inline
function expv(x: v128, cmin: v128, magic: v128, log2e: v128, hi: v128, lo: v128, p0: v128, p1: v128, p2: v128, p3: v128, p4: v128, p5: v128, one: v128, bias: v128): v128 {
  x = f32x4.pmax(x, cmin);
  const t = f32x4.add(f32x4.mul(x, log2e), magic);
  const fx = f32x4.sub(t, magic);
  const r = f32x4.sub(f32x4.sub(x, f32x4.mul(fx, hi)), f32x4.mul(fx, lo));
  const z = f32x4.mul(r, r);
  const a = f32x4.add(f32x4.mul(p4, r), p5);
  const b = f32x4.add(f32x4.mul(p2, r), p3);
  const c = f32x4.add(f32x4.mul(p0, r), p1);
  const p = f32x4.add(f32x4.add(a, f32x4.mul(z, b)), f32x4.mul(f32x4.mul(z, z), c));
  const y = f32x4.add(f32x4.add(f32x4.mul(p, z), r), one);
  const pow2n = i32x4.shl(i32x4.add(i32x4.sub(t, magic), bias), 23);
  return f32x4.mul(y, pow2n);
}

/**
 * Natural log of four positive, normal float32s (Cephes' logf): s = m 2^e with m in [sqrt(1/2), sqrt(2)),
 * log s = e ln 2 + log(1 + x), x = m - 1, by Cephes' degree-8 polynomial (relative error ~1e-7), ln 2 split
 * in two parts as in the exp. Not AssemblyScript's Math.log: its tables would be a data segment, which a
 * module running in tfjs's heap must not have.
 */
// @ts-ignore: decorator
@inline
function logv(s: v128): v128 {
  let e = i32x4.sub(i32x4.shr_u(s, 23), i32x4.splat(127));
  let m = v128.or(v128.and(s, i32x4.splat(0x007fffff)), i32x4.splat(0x3f800000)); // in [1, 2)
  const big = f32x4.gt(m, f32x4.splat(1.41421356237));
  m = v128.bitselect(f32x4.mul(m, f32x4.splat(0.5)), m, big);
  e = i32x4.sub(e, big); // big lanes are -1: e + 1
  const x = f32x4.sub(m, f32x4.splat(1));
  const z = f32x4.mul(x, x);
  let y = f32x4.add(f32x4.mul(f32x4.splat(7.0376836292e-2), x), f32x4.splat(-1.1514610310e-1));
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(1.1676998740e-1));
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(-1.2420140846e-1));
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(1.4249322787e-1));
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(-1.6668057665e-1));
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(2.0000714765e-1));
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(-2.4999993993e-1));
  y = f32x4.add(f32x4.mul(y, x), f32x4.splat(3.3333331174e-1));
  y = f32x4.mul(f32x4.mul(y, x), z);
  const fe = f32x4.convert_i32x4_s(e);
  y = f32x4.add(y, f32x4.mul(fe, f32x4.splat(LN2_LO)));
  y = f32x4.sub(y, f32x4.mul(f32x4.splat(0.5), z));
  return f32x4.add(f32x4.add(x, y), f32x4.mul(fe, f32x4.splat(LN2_HI)));
}

/** Largest value of the `classes` floats at `row`. */
// @ts-ignore: decorator
@inline
function rowMax(row: usize, classes: i32): f32 {
  const c4 = classes & ~3;
  let m: f32 = -Infinity;
  if (c4 > 0) {
    let mv = v128.load(row);
    for (let c = 4; c < c4; c += 4) mv = f32x4.pmax(mv, v128.load(row + (<usize>c << 2)));
    m = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
  }
  for (let c = c4; c < classes; c++) m = max(m, load<f32>(row + (<usize>c << 2)));
  return m;
}

/**
 * Softmax cross-entropy per row, as torch's log_softmax + nll_loss compute it: for each of `rows` rows of
 * `classes` logits, m = max(row), s = sum exp(x - m), loss = log(s) - (x[label] - m) (from the shifted
 * logits: logits of any magnitude keep their digits, where lse - x[label] in float32 would lose them). Rows whose label is
 * `ignoreIndex`, or outside [0, classes) (which the caller rejects unless value checks are off), get loss
 * 0: the kernel never reads or writes outside a row. Writes loss, m and log(s) per row (the last two for
 * the backward pass).
 */
export function softmaxCrossEntropy(logits: usize, labels: usize, rows: i32, classes: i32, ignoreIndex: i32, lossOut: usize, maxOut: usize, logSumOut: usize, k: usize): void {
  const cmin = v128.load(k), magic = v128.load(k, 16), log2e = v128.load(k, 32), hi = v128.load(k, 48), lo = v128.load(k, 64);
  const p0 = v128.load(k, 80), p1 = v128.load(k, 96), p2 = v128.load(k, 112), p3 = v128.load(k, 128), p4 = v128.load(k, 144), p5 = v128.load(k, 160);
  const one = v128.load(k, 176), bias = v128.load(k, 192);
  const c4 = classes & ~3;
  const stride = <usize>classes << 2;
  // Pass 1: m and s per row (s parked in logSumOut).
  for (let r = 0; r < rows; r++) {
    const row = logits + <usize>r * stride;
    const m = rowMax(row, classes);
    const mv = f32x4.splat(m);
    let sv = f32x4.splat(0);
    for (let c = 0; c < c4; c += 4) {
      sv = f32x4.add(sv, expv(f32x4.sub(v128.load(row + (<usize>c << 2)), mv), cmin, magic, log2e, hi, lo, p0, p1, p2, p3, p4, p5, one, bias));
    }
    let s: f32 = f32x4.extract_lane(sv, 0) + f32x4.extract_lane(sv, 1) + (f32x4.extract_lane(sv, 2) + f32x4.extract_lane(sv, 3));
    for (let c = c4; c < classes; c++) {
      s += f32x4.extract_lane(expv(f32x4.splat(load<f32>(row + (<usize>c << 2)) - m), cmin, magic, log2e, hi, lo, p0, p1, p2, p3, p4, p5, one, bias), 0);
    }
    store<f32>(maxOut + (<usize>r << 2), m);
    store<f32>(logSumOut + (<usize>r << 2), s);
  }
  // Pass 2: log s, four rows per step (s >= 1: the row's largest term is exp(0)).
  const r4 = rows & ~3;
  for (let r = 0; r < r4; r += 4) v128.store(logSumOut + (<usize>r << 2), logv(v128.load(logSumOut + (<usize>r << 2))));
  for (let r = r4; r < rows; r++) {
    const o = logSumOut + (<usize>r << 2);
    store<f32>(o, f32x4.extract_lane(logv(f32x4.splat(load<f32>(o))), 0));
  }
  // Pass 3: loss = log s - (x[label] - m).
  for (let r = 0; r < rows; r++) {
    const o = <usize>r << 2;
    const label = load<i32>(labels + o);
    const ignored = label == ignoreIndex || <u32>label >= <u32>classes;
    const picked: f32 = ignored ? 0 : load<f32>(logits + <usize>r * stride + (<usize>label << 2)) - load<f32>(maxOut + o);
    store<f32>(lossOut + o, ignored ? <f32>0 : load<f32>(logSumOut + o) - picked);
  }
}

/**
 * Gradient of {@link softmaxCrossEntropy}: out[r, c] = dy[r] (exp((x[r, c] - m[r]) - logSum[r]) - [c ==
 * label[r]]), the softmax formed from the shifted logits as torch's log_softmax backward does. Rows with
 * dy 0 or an ignored (or out-of-range) label are zero without evaluating exp (hard-negative mining leaves
 * most rows of an SSD batch unselected). k: the constants block of {@link expConstants}.
 */
export function softmaxCrossEntropyGrad(logits: usize, labels: usize, maxIn: usize, logSumIn: usize, dy: usize, rows: i32, classes: i32, ignoreIndex: i32, out: usize, k: usize): void {
  const cmin = v128.load(k), magic = v128.load(k, 16), log2e = v128.load(k, 32), hi = v128.load(k, 48), lo = v128.load(k, 64);
  const p0 = v128.load(k, 80), p1 = v128.load(k, 96), p2 = v128.load(k, 112), p3 = v128.load(k, 128), p4 = v128.load(k, 144), p5 = v128.load(k, 160);
  const one = v128.load(k, 176), bias = v128.load(k, 192);
  const c4 = classes & ~3;
  const stride = <usize>classes << 2;
  const zero = f32x4.splat(0);
  for (let r = 0; r < rows; r++) {
    const row = logits + <usize>r * stride;
    const orow = out + <usize>r * stride;
    const g = load<f32>(dy + (<usize>r << 2));
    const label = load<i32>(labels + (<usize>r << 2));
    if (g == 0 || label == ignoreIndex || <u32>label >= <u32>classes) {
      for (let c = 0; c < c4; c += 4) v128.store(orow + (<usize>c << 2), zero);
      for (let c = c4; c < classes; c++) store<f32>(orow + (<usize>c << 2), 0);
      continue;
    }
    const m = load<f32>(maxIn + (<usize>r << 2));
    const l = load<f32>(logSumIn + (<usize>r << 2));
    const mv = f32x4.splat(m);
    const lv = f32x4.splat(l);
    const gv = f32x4.splat(g);
    for (let c = 0; c < c4; c += 4) {
      const shifted = f32x4.sub(f32x4.sub(v128.load(row + (<usize>c << 2)), mv), lv);
      v128.store(orow + (<usize>c << 2), f32x4.mul(gv, expv(shifted, cmin, magic, log2e, hi, lo, p0, p1, p2, p3, p4, p5, one, bias)));
    }
    for (let c = c4; c < classes; c++) {
      const e = expv(f32x4.splat(load<f32>(row + (<usize>c << 2)) - m - l), cmin, magic, log2e, hi, lo, p0, p1, p2, p3, p4, p5, one, bias);
      store<f32>(orow + (<usize>c << 2), g * f32x4.extract_lane(e, 0));
    }
    const p = orow + (<usize>label << 2);
    store<f32>(p, load<f32>(p) - g);
  }
}

/** torch's smooth L1 of one difference: |d| < beta ? 0.5 d^2 / beta : |d| - 0.5 beta (beta 0: |d|). */
// @ts-ignore: decorator
@inline
function smoothL1(d: f32, beta: f32, halfBeta: f32): f32 {
  const n = abs<f32>(d);
  return n < beta ? (<f32>0.5 * n * n) / beta : n - halfBeta;
}

/**
 * Smooth L1 summed over rows: out[r] = w[r] * sum_j smoothL1(pred[r, j] - target[r, j]) over `width`
 * columns, with torch's float32 arithmetic per element (`weights` 0: w = 1). Four-wide rows (box deltas)
 * take one SIMD step each.
 */
export function smoothL1Rows(pred: usize, target: usize, weights: usize, rows: i32, width: i32, beta: f32, out: usize): void {
  const halfBeta: f32 = <f32>0.5 * beta;
  if (width == 4) {
    const vb = f32x4.splat(beta), vhb = f32x4.splat(halfBeta), vh = f32x4.splat(0.5);
    for (let r = 0; r < rows; r++) {
      const o = <usize>r << 4;
      const n = f32x4.abs(f32x4.sub(v128.load(pred + o), v128.load(target + o)));
      const quad = f32x4.div(f32x4.mul(f32x4.mul(vh, n), n), vb);
      const v = v128.bitselect(quad, f32x4.sub(n, vhb), f32x4.lt(n, vb));
      let s = f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
      if (weights != 0) s *= load<f32>(weights + (<usize>r << 2));
      store<f32>(out + (<usize>r << 2), s);
    }
    return;
  }
  for (let r = 0; r < rows; r++) {
    const base = <usize>r * <usize>width;
    let s: f32 = 0;
    for (let j = 0; j < width; j++) {
      const o = (base + <usize>j) << 2;
      s += smoothL1(load<f32>(pred + o) - load<f32>(target + o), beta, halfBeta);
    }
    if (weights != 0) s *= load<f32>(weights + (<usize>r << 2));
    store<f32>(out + (<usize>r << 2), s);
  }
}

/**
 * Gradient of {@link smoothL1Rows} with respect to pred (called with pred and target swapped, the
 * target's, as torch computes it): out[r, j] =
 * dy[r] w[r] s(d), d = pred - target, with torch's smooth_l1_backward slope s: -1 for d <= -beta, 1 for
 * d >= beta, d / beta between (for beta 0: -1 for d <= 0, else 1).
 */
export function smoothL1RowsGrad(pred: usize, target: usize, weights: usize, dy: usize, rows: i32, width: i32, beta: f32, out: usize): void {
  for (let r = 0; r < rows; r++) {
    let g = load<f32>(dy + (<usize>r << 2));
    if (weights != 0) g *= load<f32>(weights + (<usize>r << 2));
    const base = <usize>r * <usize>width;
    for (let j = 0; j < width; j++) {
      const o = (base + <usize>j) << 2;
      const d = load<f32>(pred + o) - load<f32>(target + o);
      const slope: f32 = d <= -beta ? -1 : d >= beta ? 1 : d / beta;
      store<f32>(out + o, slope * g);
    }
  }
}

/**
 * Index of the first of `n` float32 values at `values` that is NaN, infinite or beyond ±limit (abs(x) <=
 * limit is false for all three), or -1.
 */
export function firstOutOfRange(values: usize, n: i32, limit: f32): i32 {
  const n4 = n & ~3;
  const vl = f32x4.splat(limit);
  for (let i = 0; i < n4; i += 4) {
    const v = v128.load(values + (<usize>i << 2));
    if (!v128.all_true<i32>(f32x4.le(f32x4.abs(v), vl))) {
      for (let k = i; k < i + 4; k++) {
        const x = load<f32>(values + (<usize>k << 2));
        if (!(abs<f32>(x) <= limit)) return k;
      }
    }
  }
  for (let k = n4; k < n; k++) {
    const x = load<f32>(values + (<usize>k << 2));
    if (!(abs<f32>(x) <= limit)) return k;
  }
  return -1;
}

/** Index of the first of `n` int32 labels outside [0, classes) and not equal to `ignore`, or -1. */
export function firstBadLabel(labels: usize, n: i32, classes: i32, ignore: i32): i32 {
  const n4 = n & ~3;
  const vc = i32x4.splat(classes), vi = i32x4.splat(ignore);
  for (let i = 0; i < n4; i += 4) {
    const v = v128.load(labels + (<usize>i << 2));
    // Unsigned v >= classes catches negative labels too.
    const bad = v128.andnot(i32x4.ge_u(v, vc), i32x4.eq(v, vi));
    if (v128.any_true(bad)) {
      for (let k = i; k < i + 4; k++) {
        const x = load<i32>(labels + (<usize>k << 2));
        if (<u32>x >= <u32>classes && x != ignore) return k;
      }
    }
  }
  for (let k = n4; k < n; k++) {
    const x = load<i32>(labels + (<usize>k << 2));
    if (<u32>x >= <u32>classes && x != ignore) return k;
  }
  return -1;
}
