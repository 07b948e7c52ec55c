// @detkit/backends' WebAssembly kernels (AssemblyScript, compiled by @detkit/wasm-build with SIMD): the
// training kernels tfjs-backend-wasm lacks or runs slowly. The convolution and its filter gradient
// (convForward, filterGrad) sum their products themselves, in 4 x 8 SIMD tiles, reading x where it lies
// (no im2col copy, no packed operand); the others move, gather and scatter data, four float32 lanes at a time.
//
// Every function works on raw pointers into the memory the module imports (tfjs-backend-wasm's heap) and
// allocates nothing. Tensors are NHWC float32; `c` is the channel count, the contiguous innermost axis.

/** dst[0..n) += src[0..n), four lanes at a time. */
@inline
function addInto(dst: usize, src: usize, n: i32): void {
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    const o = <usize>k << 2;
    v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
  }
  for (; k < n; k++) {
    const o = <usize>k << 2;
    store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
  }
}

/** dst[0..n) += a[0..n) * b[0..n), four lanes at a time. */
@inline
function mulAddInto(dst: usize, a: usize, b: usize, n: i32): void {
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    const o = <usize>k << 2;
    v128.store(dst + o, f32x4.add(v128.load(dst + o), f32x4.mul(v128.load(a + o), v128.load(b + o))));
  }
  for (; k < n; k++) {
    const o = <usize>k << 2;
    store<f32>(dst + o, load<f32>(dst + o) + load<f32>(a + o) * load<f32>(b + o));
  }
}

/** dst[0..n) = src[0..n) (floats), four lanes at a time: runs are short (one pixel's channels). */
@inline
function copyRun(dst: usize, src: usize, n: i32): void {
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    const o = <usize>k << 2;
    v128.store(dst + o, v128.load(src + o));
  }
  for (; k < n; k++) {
    const o = <usize>k << 2;
    store<f32>(dst + o, load<f32>(src + o));
  }
}

/** dst[0..n) = 0 (floats), four lanes at a time. */
@inline
function zeroRun(dst: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let k = 0;
  for (; k + 4 <= n; k += 4) v128.store(dst + (<usize>k << 2), zero);
  for (; k < n; k++) store<f32>(dst + (<usize>k << 2), 0);
}

/**
 * Stores the 4 x 4 block whose rows are r0..r3 transposed: its column k (r0[k], r1[k], r2[k], r3[k]) as 16
 * contiguous bytes at dst + k * stride.
 */
@inline
function storeTransposed(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize, stride: usize): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(dst + stride, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
  v128.store(dst + 2 * stride, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * stride, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
}

/**
 * Filter gradient of a conv2d, direct: dw [kh * kw * c, co] (row k = (i * kw + j) * c + ci, the layout of
 * a [kh, kw, c, co] filter) = the sum over output pixels p = (b, y, xo), in order, of x at tap (i, j) of
 * p, channel ci, times dy [p, co]; padding taps add nothing. Rows [k0, k1) only, so a call can be split
 * over threads by rows: each element is summed by one thread in one order, whatever the split.
 *
 * No im2col and no packing: four rows (four channels of one tap) by eight output channels are summed in
 * eight SIMD accumulators over a band of output rows, reading x and dy where they lie; the band keeps the
 * slices of x and dy it reads in cache while every row block passes over it.
 */
export function filterGrad(
  x: usize, n: i32, h: i32, w: i32, c: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, oh: i32, ow: i32,
  dy: usize, co: i32, dw: usize,
  k0: i32, k1: i32,
): void {
  if (k1 <= k0) return;
  const coBytes = <usize>co << 2;
  zeroRun(dw + <usize>k0 * coBytes, (k1 - k0) * co);
  const image = <usize>h * <usize>w * (<usize>c << 2);
  const xStep = <usize>sw * (<usize>c << 2);
  // A band of output rows holding about FILTER_GRAD_BAND_BYTES of dy.
  let band = <i32>(FILTER_GRAD_BAND_BYTES / (<usize>ow * coBytes));
  if (band < 1) band = 1;
  for (let b = 0; b < n; b++) {
    for (let y0 = 0; y0 < oh; y0 += band) {
      const y1 = min(y0 + band, oh);
      let k = k0;
      while (k < k1) {
        const tap = k / c;
        const ci = k - tap * c;
        const i = tap / kw;
        const j = tap - i * kw;
        // Output columns whose tap (i, j) falls inside the image: xi = xo * sw + j - pl in [0, w).
        let xlo = 0;
        if (pl - j > 0) xlo = (pl - j + sw - 1) / sw;
        let xhi = (w - 1 + pl - j) / sw + 1;
        if (w - 1 + pl - j < 0) xhi = 0;
        if (xhi > ow) xhi = ow;
        const rows = min(min(4, c - ci), k1 - k);
        const out = dw + <usize>k * coBytes;
        for (let y = y0; y < y1; y++) {
          const yi = y * sh + i - pt;
          if (yi < 0 || yi >= h || xlo >= xhi) continue;
          const xa = x + <usize>b * image + ((<usize>yi * <usize>w + <usize>(xlo * sw + j - pl)) * <usize>c + <usize>ci) * 4;
          const da = dy + ((<usize>b * <usize>oh + <usize>y) * <usize>ow + <usize>xlo) * coBytes;
          const count = xhi - xlo;
          if (rows == 4) outerSum4(xa, 4, xStep, da, coBytes, 32, count, co, out, coBytes);
          else for (let r = 0; r < rows; r++) outerSum1(xa + (<usize>r << 2), xStep, da, coBytes, 32, count, co, out + <usize>r * coBytes);
        }
        k += rows;
      }
    }
  }
}

/**
 * {@link filterGrad} by parts of the batch, for threads that would each read all of dy when split by rows
 * of dW: part p takes images [p * perPart, min(n, (p + 1) * perPart)) and writes their sum, in pixel order,
 * to its own [K, co] slice of `parts` (K = kh * kw * c), which `columnSums` then adds in part order into
 * dW. Units [u0, u1) of parts x bands: unit u is rows [band * bandRows, (band + 1) * bandRows) of part
 * u / bands, band u % bands. Each element's sum depends on perPart only (not on the bands nor on which
 * thread runs a unit): the same bits for any split.
 */
export function filterGradParts(
  x: usize, n: i32, h: i32, w: i32, c: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, oh: i32, ow: i32,
  dy: usize, co: i32, parts: usize, perPart: i32, bands: i32, bandRows: i32,
  u0: i32, u1: i32,
): void {
  const k = kh * kw * c;
  const image = <usize>h * <usize>w * (<usize>c << 2);
  const dyImage = <usize>oh * <usize>ow * (<usize>co << 2);
  for (let u = u0; u < u1; u++) {
    const part = u / bands;
    const k0 = (u - part * bands) * bandRows;
    const b0 = part * perPart;
    const count = min(perPart, n - b0);
    filterGrad(
      x + <usize>b0 * image, count, h, w, c, kh, kw, sh, sw, pt, pl, oh, ow,
      dy + <usize>b0 * dyImage, co, parts + <usize>part * <usize>k * (<usize>co << 2), k0, min(k, k0 + bandRows),
    );
  }
}

/** Bytes of dy in one band of output rows of {@link filterGrad} (a part of the L1 and L2 caches). */
const FILTER_GRAD_BAND_BYTES: usize = 16384;

/**
 * The products of the direct kernels: out [4 rows, co] += the sum over q < count, in order, of s [row, q]
 * times v [q, 0..co), where s [row, q] is the float at sp + row * sRow + q * sStep (one float, splat over
 * the lanes) and v [q, o] at vColumn(vp, vTile, o) + q * vStep; output row r at out + r * outRow. Eight columns
 * per pass in eight SIMD accumulators, then four, then one at a time: each output is a multiply, then an
 * add, per q in order, whichever path takes it.
 * - convolution (one row of taps): s = x (4 output pixels' inputs), v = the filter rows;
 * - filter gradient: s = x (4 input channels of one tap), v = dy, q over output pixels.
 */
@inline
function outerSum4(sp: usize, sRow: usize, sStep: usize, vp: usize, vStep: usize, vTile: usize, count: i32, co: i32, out: usize, outRow: usize): void {
  let o = 0;
  for (; o + 8 <= co; o += 8) {
    const ob = <usize>o << 2;
    let a00 = v128.load(out + ob), a01 = v128.load(out + ob + 16);
    let a10 = v128.load(out + outRow + ob), a11 = v128.load(out + outRow + ob + 16);
    let a20 = v128.load(out + 2 * outRow + ob), a21 = v128.load(out + 2 * outRow + ob + 16);
    let a30 = v128.load(out + 3 * outRow + ob), a31 = v128.load(out + 3 * outRow + ob + 16);
    let sa = sp;
    let va = vColumn(vp, vTile, o);
    for (let q = 0; q < count; q++) {
      const v0 = v128.load(va);
      const v1 = v128.load(va + 16);
      const s0 = v128.load32_splat(sa);
      const s1 = v128.load32_splat(sa + sRow);
      const s2 = v128.load32_splat(sa + 2 * sRow);
      const s3 = v128.load32_splat(sa + 3 * sRow);
      a00 = f32x4.add(a00, f32x4.mul(s0, v0)); a01 = f32x4.add(a01, f32x4.mul(s0, v1));
      a10 = f32x4.add(a10, f32x4.mul(s1, v0)); a11 = f32x4.add(a11, f32x4.mul(s1, v1));
      a20 = f32x4.add(a20, f32x4.mul(s2, v0)); a21 = f32x4.add(a21, f32x4.mul(s2, v1));
      a30 = f32x4.add(a30, f32x4.mul(s3, v0)); a31 = f32x4.add(a31, f32x4.mul(s3, v1));
      sa += sStep;
      va += vStep;
    }
    v128.store(out + ob, a00); v128.store(out + ob + 16, a01);
    v128.store(out + outRow + ob, a10); v128.store(out + outRow + ob + 16, a11);
    v128.store(out + 2 * outRow + ob, a20); v128.store(out + 2 * outRow + ob + 16, a21);
    v128.store(out + 3 * outRow + ob, a30); v128.store(out + 3 * outRow + ob + 16, a31);
  }
  for (; o + 4 <= co; o += 4) {
    const ob = <usize>o << 2;
    let a0 = v128.load(out + ob), a1 = v128.load(out + outRow + ob), a2 = v128.load(out + 2 * outRow + ob), a3 = v128.load(out + 3 * outRow + ob);
    let sa = sp;
    let va = vColumn(vp, vTile, o);
    for (let q = 0; q < count; q++) {
      const v = v128.load(va);
      a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(sa), v));
      a1 = f32x4.add(a1, f32x4.mul(v128.load32_splat(sa + sRow), v));
      a2 = f32x4.add(a2, f32x4.mul(v128.load32_splat(sa + 2 * sRow), v));
      a3 = f32x4.add(a3, f32x4.mul(v128.load32_splat(sa + 3 * sRow), v));
      sa += sStep;
      va += vStep;
    }
    v128.store(out + ob, a0); v128.store(out + outRow + ob, a1); v128.store(out + 2 * outRow + ob, a2); v128.store(out + 3 * outRow + ob, a3);
  }
  if (o < co) for (let r = 0; r < 4; r++) outerSumColumns(sp + <usize>r * sRow, sStep, vp, vStep, vTile, count, o, co, out + <usize>r * outRow);
}

/**
 * Address of column o of v's row 0: v [q, o] is at vColumn + q * vStep. Plain rows (vTile 32: columns
 * contiguous) or a packed filter (vTile = rows * 32, vStep 32: blocks of eight columns, each its rows of
 * eight floats in a row, so a tile reads 32 contiguous bytes per row; see packColumns).
 */
@inline
function vColumn(vp: usize, vTile: usize, o: i32): usize {
  return vp + <usize>(o >> 3) * vTile + (<usize>(o & 7) << 2);
}

/** One row of {@link outerSum4}: out [co] += the sum over q of s [q] v [q, 0..co). */
@inline
function outerSum1(sp: usize, sStep: usize, vp: usize, vStep: usize, vTile: usize, count: i32, co: i32, out: usize): void {
  let o = 0;
  for (; o + 8 <= co; o += 8) {
    const ob = <usize>o << 2;
    let a0 = v128.load(out + ob), a1 = v128.load(out + ob + 16);
    let sa = sp;
    let va = vColumn(vp, vTile, o);
    for (let q = 0; q < count; q++) {
      const sv = v128.load32_splat(sa);
      a0 = f32x4.add(a0, f32x4.mul(sv, v128.load(va)));
      a1 = f32x4.add(a1, f32x4.mul(sv, v128.load(va + 16)));
      sa += sStep;
      va += vStep;
    }
    v128.store(out + ob, a0); v128.store(out + ob + 16, a1);
  }
  outerSumColumns(sp, sStep, vp, vStep, vTile, count, o, co, out);
}

/** Columns o to co of one row of {@link outerSum4}: four lanes at a time, then one float at a time. */
@inline
function outerSumColumns(sp: usize, sStep: usize, vp: usize, vStep: usize, vTile: usize, count: i32, o: i32, co: i32, out: usize): void {
  for (; o + 4 <= co; o += 4) {
    const ob = <usize>o << 2;
    let a = v128.load(out + ob);
    let sa = sp;
    let va = vColumn(vp, vTile, o);
    for (let q = 0; q < count; q++) {
      a = f32x4.add(a, f32x4.mul(v128.load32_splat(sa), v128.load(va)));
      sa += sStep;
      va += vStep;
    }
    v128.store(out + ob, a);
  }
  for (; o < co; o++) {
    const ob = <usize>o << 2;
    let a = load<f32>(out + ob);
    let sa = sp;
    let va = vColumn(vp, vTile, o);
    for (let q = 0; q < count; q++) {
      a += load<f32>(sa) * load<f32>(va);
      sa += sStep;
      va += vStep;
    }
    store<f32>(out + ob, a);
  }
}

/**
 * The filter of one phase of a convolution's input gradient (see conv2d-backprop.ts): out [th, tw, co, c] at
 * (t, u, o, ci) = w [i0 + sh * (th - 1 - t), j0 + sw * (tw - 1 - u), ci, o], w [kh, kw, c, co]: the taps of
 * that phase (every sh-th row from i0, every sw-th column from j0), turned by 180 degrees, the channel
 * axes swapped. At stride 1 (i0 = j0 = 0, th = kh, tw = kw) the whole filter turned.
 */
export function turnFilter(w: usize, kw: i32, c: i32, co: i32, i0: i32, j0: i32, sh: i32, sw: i32, th: i32, tw: i32, out: usize): void {
  const block = <usize>c * <usize>co;
  for (let t = 0; t < th; t++) {
    for (let u = 0; u < tw; u++) {
      const src = w + <usize>((i0 + sh * (th - 1 - t)) * kw + j0 + sw * (tw - 1 - u)) * block * 4;
      const dst = out + <usize>(t * tw + u) * block * 4;
      for (let ci = 0; ci < c; ci++) {
        const row = src + <usize>ci * <usize>co * 4;
        for (let o = 0; o < co; o++) store<f32>(dst + (<usize>o * <usize>c + <usize>ci) * 4, load<f32>(row + (<usize>o << 2)));
      }
    }
  }
}

/**
 * A filter [rows, co] (rows = kh * kw * c) packed for convForward: blocks of eight columns, each block its
 * rows of eight floats in a row (the last block padded with zeros): out [ceil(co / 8), rows, 8]. A tile of
 * the convolution then reads 32 contiguous bytes per row instead of 32 bytes every co * 4. Writes the
 * blocks [t0, t1).
 */
export function packColumns(w: usize, rows: i32, co: i32, out: usize, t0: i32, t1: i32): void {
  for (let t = t0; t < t1; t++) {
    const base = out + <usize>t * <usize>rows * 32;
    const o0 = t << 3;
    const n = min(8, co - o0);
    for (let r = 0; r < rows; r++) {
      const src = w + (<usize>r * <usize>co + <usize>o0) * 4;
      const dst = base + <usize>r * 32;
      if (n == 8) {
        v128.store(dst, v128.load(src));
        v128.store(dst + 16, v128.load(src + 16));
      } else {
        for (let l = 0; l < 8; l++) store<f32>(dst + (<usize>l << 2), l < n ? load<f32>(src + (<usize>l << 2)) : 0);
      }
    }
  }
}

/**
 * A conv2d, direct, NHWC: y [n, oh, ow, co] at output pixel (b, oy, ox) = bias (or 0) + the sum over taps
 * (i, j) in order, then input channels in order, of x [b, oy * sh + i - pt, ox * sw + j - pl, ci] times
 * w [i, j, ci, co] (taps in the padding add nothing; `packed` 1: w as packColumns writes it), then max(0, .) when `relu` is 1; `bias` is a pointer
 * to co floats or 0. XNNPACK's order (its accumulators start at the bias). Output pixel (b, oy, ox) is
 * written at y + b * yImage + oy * yRowStep + ox * yPixel (bytes; contiguous NHWC or every sh-th pixel of a
 * larger map, for the phases of a strided convolution's input gradient). Output rows r = b * oh + oy in
 * [r0, r1) only, so a call can be split over threads by rows.
 *
 * Four consecutive output pixels by eight output channels per SIMD tile, x read where it lies (no im2col).
 */
export function convForward(
  x: usize, n: i32, h: i32, w: i32, c: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, oh: i32, ow: i32,
  wf: usize, co: i32, packed: i32, bias: usize, relu: i32, y: usize, yImage: usize, yRowStep: usize, yPixel: usize,
  r0: i32, r1: i32,
): void {
  const cBytes = <usize>c << 2;
  const coBytes = <usize>co << 2;
  // The filter's rows (taps x channels): plain [kh * kw * c, co], or packed by packColumns.
  const wStep: usize = packed != 0 ? 32 : coBytes;
  const wTile: usize = packed != 0 ? <usize>kh * <usize>kw * <usize>c * 32 : 32;
  const pixelStep = <usize>sw * cBytes;
  for (let r = r0; r < r1; r++) {
    const b = r / oh;
    const oy = r - b * oh;
    const yRow = y + <usize>b * yImage + <usize>oy * yRowStep;
    const xImage = x + <usize>b * <usize>h * <usize>w * cBytes;
    // Start every output of the row at the bias.
    for (let ox = 0; ox < ow; ox++) {
      const o = yRow + <usize>ox * yPixel;
      if (bias != 0) copyRun(o, bias, co);
      else zeroRun(o, co);
    }
    for (let i = 0; i < kh; i++) {
      const iy = oy * sh + i - pt;
      if (iy < 0 || iy >= h) continue;
      const xRow = xImage + <usize>iy * <usize>w * cBytes;
      const wRow = wf + <usize>(i * kw) * <usize>c * wStep;
      for (let ox = 0; ox < ow; ox += 4) {
        const count = min(4, ow - ox);
        const ix = ox * sw - pl;
        const out = yRow + <usize>ox * yPixel;
        if (count == 4 && ix >= 0 && ix + 3 * sw + kw <= w) {
          // Every tap of this row of the window inside the image for all four pixels: a pixel's kw taps
          // read kw * c contiguous floats, and their filter rows are contiguous too (taps, then channels,
          // in order, as tap by tap).
          outerSum4(xRow + <usize>ix * cBytes, pixelStep, 4, wRow, wStep, wTile, kw * c, co, out, yPixel);
          continue;
        }
        for (let j = 0; j < kw; j++) {
          const wp = wRow + <usize>j * <usize>c * wStep;
          const jx = ix + j;
          if (count == 4 && jx >= 0 && jx + 3 * sw < w) {
            outerSum4(xRow + <usize>jx * cBytes, pixelStep, 4, wp, wStep, wTile, c, co, out, yPixel);
            continue;
          }
          for (let q = 0; q < count; q++) {
            const xq = jx + q * sw;
            if (xq >= 0 && xq < w) outerSum1(xRow + <usize>xq * cBytes, 4, wp, wStep, wTile, c, co, out + <usize>q * yPixel);
          }
        }
      }
    }
    if (relu != 0) {
      const zero = f32x4.splat(0);
      for (let ox = 0; ox < ow; ox++) {
        const o = yRow + <usize>ox * yPixel;
        let k = 0;
        for (; k + 4 <= co; k += 4) v128.store(o + (<usize>k << 2), f32x4.max(v128.load(o + (<usize>k << 2)), zero));
        for (; k < co; k++) {
          const v = load<f32>(o + (<usize>k << 2));
          store<f32>(o + (<usize>k << 2), v > 0 ? v : 0);
        }
      }
    }
  }
}


/**
 * col2im, the adjoint of im2col (cols [n * oh * ow, kh * kw * c], row (b, y, x) holding output pixel
 * (b, y, x)'s receptive field, taps then channels): dx [n, h, w, c] = the sum, over every output pixel and
 * tap, of the cols entry at that pixel and tap, added at the input pixel it was read from (padding dropped).
 */
export function col2im(
  cols: usize, n: i32, h: i32, w: i32, c: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, oh: i32, ow: i32, dx: usize,
): void {
  const run = <usize>c << 2;
  memory.fill(dx, 0, <usize>n * <usize>h * <usize>w * run);
  let src = cols;
  for (let b = 0; b < n; b++) {
    const db = dx + <usize>b * <usize>h * <usize>w * run;
    for (let y = 0; y < oh; y++) {
      for (let xo = 0; xo < ow; xo++) {
        for (let i = 0; i < kh; i++) {
          const yi = y * sh + i - pt;
          if (yi < 0 || yi >= h) {
            src += <usize>kw * run;
            continue;
          }
          const row = db + <usize>yi * <usize>w * run;
          for (let j = 0; j < kw; j++) {
            const xi = xo * sw + j - pl;
            if (xi >= 0 && xi < w) addInto(row + <usize>xi * run, src, c);
            src += run;
          }
        }
      }
    }
  }
}

/**
 * Filter gradient of a depthwise convolution with channel multiplier 1: dw [kh, kw, c] = the sum over
 * output pixels of x[input pixel of the tap] * dy[pixel], per channel. x [n, h, w, c], dy [n, oh, ow, c].
 */
export function depthwiseFilterGrad(
  x: usize, dy: usize, n: i32, h: i32, w: i32, c: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, oh: i32, ow: i32, dw: usize,
): void {
  const run = <usize>c << 2;
  memory.fill(dw, 0, <usize>kh * <usize>kw * run);
  for (let b = 0; b < n; b++) {
    const xb = x + <usize>b * <usize>h * <usize>w * run;
    for (let y = 0; y < oh; y++) {
      for (let xo = 0; xo < ow; xo++) {
        const g = dy + ((<usize>b * <usize>oh + <usize>y) * <usize>ow + <usize>xo) * run;
        for (let i = 0; i < kh; i++) {
          const yi = y * sh + i - pt;
          if (yi < 0 || yi >= h) continue;
          const row = xb + <usize>yi * <usize>w * run;
          for (let j = 0; j < kw; j++) {
            const xi = xo * sw + j - pl;
            if (xi >= 0 && xi < w) mulAddInto(dw + (<usize>(i * kw + j)) * run, row + <usize>xi * run, g, c);
          }
        }
      }
    }
  }
}

/**
 * Input gradient of a depthwise convolution with channel multiplier 1: dx [n, h, w, c] = the sum, over
 * output pixels and taps, of dy[pixel] * filter[tap] added at the input pixel of the tap. With
 * `accumulate` nonzero the sum is added to dx's contents instead of overwriting them.
 */
export function depthwiseInputGrad(
  dy: usize, filter: usize, n: i32, h: i32, w: i32, c: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, oh: i32, ow: i32, dx: usize, accumulate: i32,
): void {
  const run = <usize>c << 2;
  if (accumulate == 0) memory.fill(dx, 0, <usize>n * <usize>h * <usize>w * run);
  for (let b = 0; b < n; b++) {
    const db = dx + <usize>b * <usize>h * <usize>w * run;
    for (let y = 0; y < oh; y++) {
      for (let xo = 0; xo < ow; xo++) {
        const g = dy + ((<usize>b * <usize>oh + <usize>y) * <usize>ow + <usize>xo) * run;
        for (let i = 0; i < kh; i++) {
          const yi = y * sh + i - pt;
          if (yi < 0 || yi >= h) continue;
          const row = db + <usize>yi * <usize>w * run;
          for (let j = 0; j < kw; j++) {
            const xi = xo * sw + j - pl;
            if (xi >= 0 && xi < w) mulAddInto(row + <usize>xi * run, g, filter + (<usize>(i * kw + j)) * run, c);
          }
        }
      }
    }
  }
}

/**
 * out [numSegments, inner] = for each segment s, the sum of the rows i of x [rows, inner] with
 * ids[i] == s; rows whose id is outside [0, numSegments) are dropped (as TensorFlow does).
 */
export function unsortedSegmentSum(x: usize, ids: usize, rows: i32, inner: i32, numSegments: i32, out: usize): void {
  const run = <usize>inner << 2;
  memory.fill(out, 0, <usize>numSegments * run);
  for (let r = 0; r < rows; r++) {
    const s = load<i32>(ids + (<usize>r << 2));
    if (s < 0 || s >= numSegments) continue;
    addInto(out + <usize>s * run, x + <usize>r * run, inner);
  }
}

/**
 * Max-pool gradient: for each output pixel and channel, dy goes to the first input pixel of the window
 * holding the window's maximum (as tfjs-backend-cpu's MaxPoolGrad; padding never wins). Four channels
 * per SIMD step track their maxima and positions; the scatter is per lane. x [n, h, w, c], dy and the
 * window geometry as in col2im, dx [n, h, w, c].
 */
export function maxPoolGrad(
  x: usize, dy: usize, n: i32, h: i32, w: i32, c: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, oh: i32, ow: i32, dx: usize,
): void {
  const run = <usize>c << 2;
  memory.fill(dx, 0, <usize>n * <usize>h * <usize>w * run);
  const c4 = c & ~3;
  const lanes = i32x4(0, 4, 8, 12);
  for (let b = 0; b < n; b++) {
    const base = <usize>b * <usize>h * <usize>w * run;
    for (let y = 0; y < oh; y++) {
      for (let xo = 0; xo < ow; xo++) {
        const g = dy + ((<usize>b * <usize>oh + <usize>y) * <usize>ow + <usize>xo) * run;
        for (let ch = 0; ch < c4; ch += 4) {
          let best = f32x4.splat(-Infinity);
          let at = i32x4.splat(-1);
          for (let i = 0; i < kh; i++) {
            const yi = y * sh + i - pt;
            if (yi < 0 || yi >= h) continue;
            for (let j = 0; j < kw; j++) {
              const xi = xo * sw + j - pl;
              if (xi < 0 || xi >= w) continue;
              const offset = base + (<usize>yi * <usize>w + <usize>xi) * run + (<usize>ch << 2);
              const v = v128.load(x + offset);
              const more = f32x4.gt(v, best);
              best = v128.bitselect(v, best, more);
              at = v128.bitselect(i32x4.add(i32x4.splat(<i32>offset), lanes), at, more);
            }
          }
          const gv = v128.load(g + (<usize>ch << 2));
          scatterLane(dx, i32x4.extract_lane(at, 0), f32x4.extract_lane(gv, 0));
          scatterLane(dx, i32x4.extract_lane(at, 1), f32x4.extract_lane(gv, 1));
          scatterLane(dx, i32x4.extract_lane(at, 2), f32x4.extract_lane(gv, 2));
          scatterLane(dx, i32x4.extract_lane(at, 3), f32x4.extract_lane(gv, 3));
        }
        for (let ch = c4; ch < c; ch++) {
          let best: f32 = -Infinity;
          let at: i32 = -1;
          for (let i = 0; i < kh; i++) {
            const yi = y * sh + i - pt;
            if (yi < 0 || yi >= h) continue;
            for (let j = 0; j < kw; j++) {
              const xi = xo * sw + j - pl;
              if (xi < 0 || xi >= w) continue;
              const offset = base + (<usize>yi * <usize>w + <usize>xi) * run + (<usize>ch << 2);
              const v = load<f32>(x + offset);
              if (v > best) {
                best = v;
                at = <i32>offset;
              }
            }
          }
          scatterLane(dx, at, load<f32>(g + (<usize>ch << 2)));
        }
      }
    }
  }
}

/** dx[byte offset] += value, unless the offset is -1 (no maximum in the window). */
@inline
function scatterLane(dx: usize, offset: i32, value: f32): void {
  if (offset < 0) return;
  const p = dx + <usize>offset;
  store<f32>(p, load<f32>(p) + value);
}

// Training-mode batch norm over x [rows, c] (NHWC flattened; the statistics are per channel over the rows).
// The per-channel sums are taken per block of `blockRows` rows (`sums` [blocks, c] or [blocks, 2, c]) and
// the caller adds the blocks in order: a fixed partition, so the bits do not depend on how many threads
// took how many blocks. Each kernel's last two arguments are its range (blocks or rows) for the split.

/**
 * Per-block channel sums of x [rows, c]: sums[b, ch] = Σ x[r, ch] over the rows r of block b, or with
 * `squared` = 1 the sum of (x[r, ch] - mean[ch])², for the blocks b in [b0, b1).
 */
export function batchNormBlockSums(x: usize, mean: usize, rows: i32, c: i32, blockRows: i32, squared: i32, sums: usize, b0: i32, b1: i32): void {
  const run = <usize>c << 2;
  for (let b = b0; b < b1; b++) {
    const acc = sums + <usize>b * run;
    zeroRun(acc, c);
    const end = min(rows, (b + 1) * blockRows);
    for (let r = b * blockRows; r < end; r++) {
      const row = x + <usize>r * run;
      let k = 0;
      if (squared != 0) {
        for (; k + 4 <= c; k += 4) {
          const o = <usize>k << 2;
          const d = f32x4.sub(v128.load(row + o), v128.load(mean + o));
          v128.store(acc + o, f32x4.add(v128.load(acc + o), f32x4.mul(d, d)));
        }
        for (; k < c; k++) {
          const o = <usize>k << 2;
          const d = load<f32>(row + o) - load<f32>(mean + o);
          store<f32>(acc + o, load<f32>(acc + o) + d * d);
        }
      } else {
        addInto(acc, row, c);
      }
    }
  }
}

/**
 * Finishes batch norm's statistics for the channels [c0, c1) from the per-block sums [blocks, c]:
 * out[ch] = (sum over b of sums[b, ch]) / rows, the blocks added in order in float64 and the quotient rounded
 * once to float32 (the mean; with `variance` = 1 the biased variance, and then also scale[ch] = gamma[ch] /
 * sqrt(out[ch] + eps) in float64, rounded once; eps the float64 at `params`). The same operations as the
 * kernel's JavaScript finishing (./src/batch-norm), so the same bits, queued behind the sums.
 */
export function batchNormFinish(sums: usize, blocks: i32, c: i32, rows: i32, variance: i32, gamma: usize, params: usize, out: usize, scale: usize, c0: i32, c1: i32): void {
  for (let k = c0; k < c1; k++) {
    let total: f64 = 0;
    for (let b = 0; b < blocks; b++) total += <f64>load<f32>(sums + ((<usize>b * <usize>c + <usize>k) << 2));
    const value = <f32>(total / <f64>rows);
    store<f32>(out + (<usize>k << 2), value);
    if (variance != 0) {
      const eps = load<f64>(params);
      store<f32>(scale + (<usize>k << 2), <f32>(<f64>load<f32>(gamma + (<usize>k << 2)) / Math.sqrt(<f64>value + eps)));
    }
  }
}

/**
 * Finishes batch norm's gradient factors for the channels [c0, c1) from the per-block sums [blocks, 2c] (Σ dy,
 * then Σ dy (x - mean)), added in order in float64: with inv = 1 / sqrt(variance + eps) (float64, eps the
 * float64 at `params`), dgamma = inv Σdy(x - mean), dbeta = Σdy, p = gamma inv, q = Σdy / rows and
 * s = inv² Σdy(x - mean) / rows, each rounded once to float32: the kernel's JavaScript finishing
 * (./src/batch-norm), queued behind the sums.
 */
export function batchNormGradFinish(sums: usize, blocks: i32, c: i32, rows: i32, variance: usize, gamma: usize, params: usize, dgamma: usize, dbeta: usize, p: usize, q: usize, s: usize, c0: i32, c1: i32): void {
  const eps = load<f64>(params);
  const width = <usize>c << 1;
  for (let k = c0; k < c1; k++) {
    let sum: f64 = 0;
    let dot: f64 = 0;
    for (let b = 0; b < blocks; b++) {
      sum += <f64>load<f32>(sums + ((<usize>b * width + <usize>k) << 2));
      dot += <f64>load<f32>(sums + ((<usize>b * width + <usize>c + <usize>k) << 2));
    }
    const o = <usize>k << 2;
    const inv = 1 / Math.sqrt(<f64>load<f32>(variance + o) + eps);
    store<f32>(dgamma + o, <f32>(inv * dot));
    store<f32>(dbeta + o, <f32>sum);
    store<f32>(p + o, <f32>(<f64>load<f32>(gamma + o) * inv));
    store<f32>(q + o, <f32>(sum / <f64>rows));
    store<f32>(s + o, <f32>((inv * inv * dot) / <f64>rows));
  }
}

/**
 * out[i] = a[i] * s + b[i] * t for i in [i0, i1), in float32 (each product and the sum rounded, as tfjs's
 * Multiply, Multiply and Add), s and t the two float32 at `params`: a moving statistic's update.
 */
export function scaledSum(a: usize, b: usize, params: usize, out: usize, i0: i32, i1: i32): void {
  const s = load<f32>(params), t = load<f32>(params, 4);
  for (let i = i0; i < i1; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(a + o) * s + load<f32>(b + o) * t);
  }
}

/**
 * out[i] = dy[i] where y[i] > 0, else 0, for i in [i0, i1): a ReLU's gradient from its output y (the mask of
 * {@link batchNormGradBlockSums}' fused ReLU: +0 where masked, and a NaN in dy where y is not above 0 is
 * masked too).
 */
export function reluGrad(dy: usize, y: usize, out: usize, i0: i32, i1: i32): void {
  const zero = f32x4.splat(0);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, v128.and(v128.load(dy + o), f32x4.gt(v128.load(y + o), zero)));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(y + o) > 0 ? load<f32>(dy + o) : 0);
  }
}

/**
 * out[r, ch] = (x[r, ch] - mean[ch]) * scale[ch] + shift[ch] for the rows r in [r0, r1), then max(out, 0)
 * where `relu` is 1 (a batch norm followed by a ReLU, fused: NaN stays NaN, as tfjs's Relu).
 */
export function batchNormApply(x: usize, mean: usize, scale: usize, shift: usize, c: i32, relu: i32, out: usize, r0: i32, r1: i32): void {
  const run = <usize>c << 2;
  const zero = f32x4.splat(0);
  for (let r = r0; r < r1; r++) {
    const src = x + <usize>r * run;
    const dst = out + <usize>r * run;
    let k = 0;
    for (; k + 4 <= c; k += 4) {
      const o = <usize>k << 2;
      const d = f32x4.sub(v128.load(src + o), v128.load(mean + o));
      let v = f32x4.add(f32x4.mul(d, v128.load(scale + o)), v128.load(shift + o));
      // Lanes not above 0 become 0; NaN lanes keep their NaN.
      if (relu != 0) v = v128.bitselect(zero, v, f32x4.le(v, zero));
      v128.store(dst + o, v);
    }
    for (; k < c; k++) {
      const o = <usize>k << 2;
      const v = (load<f32>(src + o) - load<f32>(mean + o)) * load<f32>(scale + o) + load<f32>(shift + o);
      store<f32>(dst + o, relu != 0 && v <= 0 ? 0 : v);
    }
  }
}

/**
 * Per-block sums of the batch-norm gradient: sums[b, 0, ch] = Σ g[r, ch] and sums[b, 1, ch] =
 * Σ g[r, ch] (x[r, ch] - mean[ch]) over the rows r of block b, for the blocks b in [b0, b1), where g = dy, or
 * with a fused ReLU (`y`, the ReLU's output, not 0) g = dy where y > 0 and 0 elsewhere (the ReLU's gradient).
 */
export function batchNormGradBlockSums(dy: usize, y: usize, x: usize, mean: usize, rows: i32, c: i32, blockRows: i32, sums: usize, b0: i32, b1: i32): void {
  const run = <usize>c << 2;
  const zero = f32x4.splat(0);
  for (let b = b0; b < b1; b++) {
    const sumDy = sums + <usize>b * 2 * run;
    const sumDot = sumDy + run;
    zeroRun(sumDy, 2 * c);
    const end = min(rows, (b + 1) * blockRows);
    for (let r = b * blockRows; r < end; r++) {
      const g = dy + <usize>r * run;
      const row = x + <usize>r * run;
      const mask = y + <usize>r * run;
      let k = 0;
      for (; k + 4 <= c; k += 4) {
        const o = <usize>k << 2;
        let gv = v128.load(g + o);
        if (y != 0) gv = v128.and(gv, f32x4.gt(v128.load(mask + o), zero));
        v128.store(sumDy + o, f32x4.add(v128.load(sumDy + o), gv));
        v128.store(sumDot + o, f32x4.add(v128.load(sumDot + o), f32x4.mul(gv, f32x4.sub(v128.load(row + o), v128.load(mean + o)))));
      }
      for (; k < c; k++) {
        const o = <usize>k << 2;
        const gs = y != 0 && !(load<f32>(mask + o) > 0) ? <f32>0 : load<f32>(g + o);
        store<f32>(sumDy + o, load<f32>(sumDy + o) + gs);
        store<f32>(sumDot + o, load<f32>(sumDot + o) + gs * (load<f32>(row + o) - load<f32>(mean + o)));
      }
    }
  }
}

/**
 * dx[r, ch] = p[ch] (g[r, ch] - q[ch] - (x[r, ch] - mean[ch]) s[ch]) for the rows r in [r0, r1), g as in
 * {@link batchNormGradBlockSums} (dy, masked by `y` > 0 where `y` is not 0).
 */
export function batchNormGradInput(dy: usize, y: usize, x: usize, mean: usize, p: usize, q: usize, s: usize, c: i32, dx: usize, r0: i32, r1: i32): void {
  const run = <usize>c << 2;
  const zero = f32x4.splat(0);
  for (let r = r0; r < r1; r++) {
    const g = dy + <usize>r * run;
    const row = x + <usize>r * run;
    const mask = y + <usize>r * run;
    const dst = dx + <usize>r * run;
    let k = 0;
    for (; k + 4 <= c; k += 4) {
      const o = <usize>k << 2;
      let gv = v128.load(g + o);
      if (y != 0) gv = v128.and(gv, f32x4.gt(v128.load(mask + o), zero));
      const d = f32x4.sub(v128.load(row + o), v128.load(mean + o));
      const inner = f32x4.sub(f32x4.sub(gv, v128.load(q + o)), f32x4.mul(d, v128.load(s + o)));
      v128.store(dst + o, f32x4.mul(v128.load(p + o), inner));
    }
    for (; k < c; k++) {
      const o = <usize>k << 2;
      const gs = y != 0 && !(load<f32>(mask + o) > 0) ? <f32>0 : load<f32>(g + o);
      const d = load<f32>(row + o) - load<f32>(mean + o);
      store<f32>(dst + o, load<f32>(p + o) * (gs - load<f32>(q + o) - d * load<f32>(s + o)));
    }
  }
}

/**
 * Batched matrix transpose of 4-byte elements: x [batch, rows, cols] to out [batch, cols, rows], output rows
 * q0 to q1 - 1 of the batch * cols (the whole tensor for 0, batch * cols), so that threads can share a call.
 * Sixteen output rows at a time: each input row's 64 bytes at those columns (one cache line) are read as four
 * vectors, four input rows are transposed 4 x 4 in registers, and each output row gets 16 contiguous bytes per
 * store. Bits are moved, not converted: float32 and int32 alike.
 */
export function transposeRows(x: usize, rows: i32, cols: i32, out: usize, q0: i32, q1: i32): void {
  const inRow = <usize>cols << 2;
  const outRow = <usize>rows << 2;
  const plane = (<usize>rows * <usize>cols) << 2;
  const rows4 = rows & ~3;
  let q = q0;
  while (q < q1) {
    const b = q / cols;
    const j = q - b * cols;
    let width = cols - j;
    if (width > 16) width = 16;
    if (width > q1 - q) width = q1 - q;
    const src = x + <usize>b * plane + (<usize>j << 2);
    const dst = out + <usize>b * plane + <usize>j * outRow;
    let i = 0;
    if (width == 16) {
      for (; i < rows4; i += 4) {
        const s = src + <usize>i * inRow;
        let d = dst + (<usize>i << 2);
        for (let k = 0; k < 64; k += 16) {
          const r0 = v128.load(s + k);
          const r1 = v128.load(s + inRow + k);
          const r2 = v128.load(s + 2 * inRow + k);
          const r3 = v128.load(s + 3 * inRow + k);
          storeTransposed(r0, r1, r2, r3, d, outRow);
          d += outRow << 2;
        }
      }
    }
    // The rows left over (all of them at a narrower edge): one element at a time.
    for (; i < rows; i++) {
      const s = src + <usize>i * inRow;
      const d = dst + (<usize>i << 2);
      for (let k = 0; k < width; k++) store<u32>(d + <usize>k * outRow, load<u32>(s + (<usize>k << 2)));
    }
    q += width;
  }
}

/**
 * Column sums of x [rows, cols] (float32), columns j0 to j1 - 1: out[j] = x[0, j] + x[1, j] + ... added in
 * row order from 0 into one float32 sum per column, the additions and the order of tfjs-backend-wasm's
 * `Sum` (which transposes the reduced axes last, then adds each output's run from 0): the same bits.
 * Sixteen columns at a time (four vectors: 64 bytes of each row), then four, then one; IEEE per lane.
 */
export function columnSums(x: usize, rows: i32, cols: i32, out: usize, j0: i32, j1: i32): void {
  const row = <usize>cols << 2;
  let j = j0;
  for (; j + 16 <= j1; j += 16) {
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let a2 = f32x4.splat(0);
    let a3 = f32x4.splat(0);
    let p = x + (<usize>j << 2);
    for (let i = 0; i < rows; i++) {
      a0 = f32x4.add(a0, v128.load(p));
      a1 = f32x4.add(a1, v128.load(p, 16));
      a2 = f32x4.add(a2, v128.load(p, 32));
      a3 = f32x4.add(a3, v128.load(p, 48));
      p += row;
    }
    const o = out + (<usize>j << 2);
    v128.store(o, a0);
    v128.store(o, a1, 16);
    v128.store(o, a2, 32);
    v128.store(o, a3, 48);
  }
  for (; j + 4 <= j1; j += 4) {
    let a = f32x4.splat(0);
    let p = x + (<usize>j << 2);
    for (let i = 0; i < rows; i++) {
      a = f32x4.add(a, v128.load(p));
      p += row;
    }
    v128.store(out + (<usize>j << 2), a);
  }
  for (; j < j1; j++) {
    let a: f32 = 0;
    let p = x + (<usize>j << 2);
    for (let i = 0; i < rows; i++) {
      a += load<f32>(p);
      p += row;
    }
    store<f32>(out + (<usize>j << 2), a);
  }
}

/**
 * One Adam step for elements i0 to i1 - 1 of a variable (value, m, v, g -> outValue, outM, outV), in float32
 * with tfjs's `AdamOptimizer.applyGradients` order of operations, each result rounded as tfjs's kernels round
 * it: m' = m b1 + g c1, v' = v b2 + g² c2, value' = (m' / a1) / (sqrt(v' / a2) + eps) negLr + value, where c = 1 - b
 * and a = 1 - b^t. `params` holds the eight float32 scalars b1, b2, c1, c2, a1, a2, eps, negLr (the arguments a
 * split call passes to other threads are integers). Four lanes at a time (IEEE per lane: the same bits as one
 * at a time).
 */
export function adamUpdate(value: usize, m: usize, v: usize, g: usize, params: usize, outValue: usize, outM: usize, outV: usize, i0: i32, i1: i32): void {
  const b1 = load<f32>(params), b2 = load<f32>(params, 4), c1 = load<f32>(params, 8), c2 = load<f32>(params, 12);
  const a1 = load<f32>(params, 16), a2 = load<f32>(params, 20), eps = load<f32>(params, 24), negLr = load<f32>(params, 28);
  const vb1 = f32x4.splat(b1), vb2 = f32x4.splat(b2), vc1 = f32x4.splat(c1), vc2 = f32x4.splat(c2);
  const va1 = f32x4.splat(a1), va2 = f32x4.splat(a2), veps = f32x4.splat(eps), vlr = f32x4.splat(negLr);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    const gi = v128.load(g + o);
    const mi = f32x4.add(f32x4.mul(v128.load(m + o), vb1), f32x4.mul(gi, vc1));
    const vi = f32x4.add(f32x4.mul(v128.load(v + o), vb2), f32x4.mul(f32x4.mul(gi, gi), vc2));
    const step = f32x4.div(f32x4.div(mi, va1), f32x4.add(f32x4.sqrt(f32x4.div(vi, va2)), veps));
    v128.store(outValue + o, f32x4.add(f32x4.mul(step, vlr), v128.load(value + o)));
    v128.store(outM + o, mi);
    v128.store(outV + o, vi);
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    const gi = load<f32>(g + o);
    const mi = load<f32>(m + o) * b1 + gi * c1;
    const vi = load<f32>(v + o) * b2 + gi * gi * c2;
    const step = mi / a1 / (Mathf.sqrt(vi / a2) + eps);
    store<f32>(outValue + o, step * negLr + load<f32>(value + o));
    store<f32>(outM + o, mi);
    store<f32>(outV + o, vi);
  }
}

// ---------------------------------------------------------------------------------------------------
// Winograd F(2x2, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016) for 3x3
// stride-1 convolutions: each 2 x 2 block of outputs from a 4 x 4 patch of the input with 16 products per
// input and output channel instead of 36, as 16 independent products of matrices (one per point e = 4a + b
// of the 4 x 4 transform) between transforms that add and subtract:
//   Y = A^T [ (G g G^T) (.) (B^T d B) ] A,   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
//   G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],  A^T = [1 1 1 0; 0 1 -1 -1].
// The filter gradient is the same algorithm transposed, F(3x3, 2x2): the 3 x 3 gradient of a tap from a
// 4 x 4 patch of x (the same B^T d B) and a 2 x 2 block of dy (A g A^T), back through G^T . G. Transformed
// tensors are [16, tiles, channels] (tile t = (b, ty, tx) covers outputs 2ty..2ty+1, 2tx..2tx+1), so each
// point's product is a plain [tiles, c] x [c, co] (or [c, tiles] x [tiles, co]) product, summed in 4 x 8
// SIMD tiles by the same microkernel as the direct convolution. Channels are a multiple of 4 (one SIMD
// vector): the callers (src/winograd.ts) check it.
// ---------------------------------------------------------------------------------------------------

/**
 * The first pixel (b, 2ty, 2tx) of tile t's 2 x 2 block, as an index into a map [n, oh, ow]; tiles are
 * numbered over the batch, tilesH x tilesW (perImage) per image.
 */
@inline
function blockOrigin(t: i32, perImage: i32, tilesW: i32, oh: i32, ow: i32): i32 {
  const b = t / perImage;
  const rest = t - b * perImage;
  const ty = rest / tilesW;
  return (b * oh + 2 * ty) * ow + 2 * (rest - ty * tilesW);
}

/** v128 at p where `inside`, else zeros. */
@inline
function loadOrZero(p: usize, inside: bool): v128 {
  return inside ? v128.load(p) : f32x4.splat(0);
}

/**
 * B^T d B of the 4 x 4 input patches of a group of `count` tiles from tile `tBase` on: v [16, count, c] at
 * (e, t - tBase, ci) from x [n, h, w, c], the patch of tile t = (b, ty, tx) (numbered over the batch,
 * tilesH x tilesW per image) at rows 2ty - pt .. +3, columns 2tx - pl .. +3 (zeros outside the image).
 * Tiles tBase + [t0, t1) only. c is a multiple of 4.
 */
export function winogradInput(x: usize, tBase: i32, count: i32, h: i32, w: i32, c: i32, pt: i32, pl: i32, tilesH: i32, tilesW: i32, v: usize, t0: i32, t1: i32): void {
  const cBytes = <usize>c << 2;
  const perImage = tilesH * tilesW;
  const eStep = <usize>count * cBytes;
  for (let local = t0; local < t1; local++) {
    const t = tBase + local;
    const b = t / perImage;
    const rest = t - b * perImage;
    const ty = rest / tilesW;
    const tx = rest - ty * tilesW;
    const y0 = 2 * ty - pt;
    const x0 = 2 * tx - pl;
    const image = x + <usize>b * <usize>h * <usize>w * cBytes;
    const in0 = y0 >= 0 && y0 < h, in1 = y0 + 1 >= 0 && y0 + 1 < h, in2 = y0 + 2 >= 0 && y0 + 2 < h, in3 = y0 + 3 >= 0 && y0 + 3 < h;
    const ic0 = x0 >= 0 && x0 < w, ic1 = x0 + 1 >= 0 && x0 + 1 < w, ic2 = x0 + 2 >= 0 && x0 + 2 < w, ic3 = x0 + 3 >= 0 && x0 + 3 < w;
    // Row r of the patch starts at image + ((y0 + r) * w + x0) * c (only read where inside).
    const r0 = image + (<usize>(y0 * w + x0)) * cBytes;
    const rowStep = <usize>w * cBytes;
    const out = v + <usize>local * cBytes;
    for (let ci = 0; ci < c; ci += 4) {
      const o = <usize>ci << 2;
      let p = r0 + o;
      // Row by row: d_r . B (columns), then B^T across the rows.
      let d0 = loadOrZero(p, in0 && ic0), d1 = loadOrZero(p + cBytes, in0 && ic1), d2 = loadOrZero(p + 2 * cBytes, in0 && ic2), d3 = loadOrZero(p + 3 * cBytes, in0 && ic3);
      const a00 = f32x4.sub(d0, d2), a01 = f32x4.add(d1, d2), a02 = f32x4.sub(d2, d1), a03 = f32x4.sub(d1, d3);
      p += rowStep;
      d0 = loadOrZero(p, in1 && ic0); d1 = loadOrZero(p + cBytes, in1 && ic1); d2 = loadOrZero(p + 2 * cBytes, in1 && ic2); d3 = loadOrZero(p + 3 * cBytes, in1 && ic3);
      const a10 = f32x4.sub(d0, d2), a11 = f32x4.add(d1, d2), a12 = f32x4.sub(d2, d1), a13 = f32x4.sub(d1, d3);
      p += rowStep;
      d0 = loadOrZero(p, in2 && ic0); d1 = loadOrZero(p + cBytes, in2 && ic1); d2 = loadOrZero(p + 2 * cBytes, in2 && ic2); d3 = loadOrZero(p + 3 * cBytes, in2 && ic3);
      const a20 = f32x4.sub(d0, d2), a21 = f32x4.add(d1, d2), a22 = f32x4.sub(d2, d1), a23 = f32x4.sub(d1, d3);
      p += rowStep;
      d0 = loadOrZero(p, in3 && ic0); d1 = loadOrZero(p + cBytes, in3 && ic1); d2 = loadOrZero(p + 2 * cBytes, in3 && ic2); d3 = loadOrZero(p + 3 * cBytes, in3 && ic3);
      const a30 = f32x4.sub(d0, d2), a31 = f32x4.add(d1, d2), a32 = f32x4.sub(d2, d1), a33 = f32x4.sub(d1, d3);
      const q = out + o;
      v128.store(q, f32x4.sub(a00, a20)); v128.store(q + eStep, f32x4.sub(a01, a21)); v128.store(q + 2 * eStep, f32x4.sub(a02, a22)); v128.store(q + 3 * eStep, f32x4.sub(a03, a23));
      v128.store(q + 4 * eStep, f32x4.add(a10, a20)); v128.store(q + 5 * eStep, f32x4.add(a11, a21)); v128.store(q + 6 * eStep, f32x4.add(a12, a22)); v128.store(q + 7 * eStep, f32x4.add(a13, a23));
      v128.store(q + 8 * eStep, f32x4.sub(a20, a10)); v128.store(q + 9 * eStep, f32x4.sub(a21, a11)); v128.store(q + 10 * eStep, f32x4.sub(a22, a12)); v128.store(q + 11 * eStep, f32x4.sub(a23, a13));
      v128.store(q + 12 * eStep, f32x4.sub(a10, a30)); v128.store(q + 13 * eStep, f32x4.sub(a11, a31)); v128.store(q + 14 * eStep, f32x4.sub(a12, a32)); v128.store(q + 15 * eStep, f32x4.sub(a13, a33));
    }
  }
}

/**
 * A g A^T of the 2 x 2 blocks of dy of a group of `count` tiles from `tBase` on (the filter gradient's second
 * operand): d [16, count, co] at (e, t - tBase, o) from dy [n, oh, ow, co], the block of tile t = (b, ty, tx)
 * at rows 2ty, 2ty + 1 and columns 2tx, 2tx + 1 (zeros past the edge), A = [1 0; 1 1; 1 -1; 0 -1].
 * Tiles tBase + [t0, t1) only; co a multiple of 4.
 */
export function winogradOutputGrad(dy: usize, tBase: i32, count: i32, oh: i32, ow: i32, co: i32, tilesH: i32, tilesW: i32, d: usize, t0: i32, t1: i32): void {
  const coBytes = <usize>co << 2;
  const perImage = tilesH * tilesW;
  const eStep = <usize>count * coBytes;
  for (let local = t0; local < t1; local++) {
    const origin = blockOrigin(tBase + local, perImage, tilesW, oh, ow);
    const in1 = (origin / ow) % oh + 1 < oh, ic1 = origin % ow + 1 < ow;
    const p0 = dy + <usize>origin * coBytes;
    const p1 = p0 + <usize>ow * coBytes;
    const out = d + <usize>local * coBytes;
    const minus = f32x4.splat(-1);
    for (let o = 0; o < co; o += 4) {
      const ob = <usize>o << 2;
      const g00 = v128.load(p0 + ob), g01 = loadOrZero(p0 + coBytes + ob, ic1);
      const g10 = loadOrZero(p1 + ob, in1), g11 = loadOrZero(p1 + coBytes + ob, in1 && ic1);
      // Columns: [g0, g0 + g1, g0 - g1, -g1] per row; then the same across the two rows.
      const c00 = g00, c01 = f32x4.add(g00, g01), c02 = f32x4.sub(g00, g01), c03 = f32x4.mul(g01, minus);
      const c10 = g10, c11 = f32x4.add(g10, g11), c12 = f32x4.sub(g10, g11), c13 = f32x4.mul(g11, minus);
      const q = out + ob;
      v128.store(q, c00); v128.store(q + eStep, c01); v128.store(q + 2 * eStep, c02); v128.store(q + 3 * eStep, c03);
      v128.store(q + 4 * eStep, f32x4.add(c00, c10)); v128.store(q + 5 * eStep, f32x4.add(c01, c11)); v128.store(q + 6 * eStep, f32x4.add(c02, c12)); v128.store(q + 7 * eStep, f32x4.add(c03, c13));
      v128.store(q + 8 * eStep, f32x4.sub(c00, c10)); v128.store(q + 9 * eStep, f32x4.sub(c01, c11)); v128.store(q + 10 * eStep, f32x4.sub(c02, c12)); v128.store(q + 11 * eStep, f32x4.sub(c03, c13));
      v128.store(q + 12 * eStep, f32x4.mul(c10, minus)); v128.store(q + 13 * eStep, f32x4.mul(c11, minus)); v128.store(q + 14 * eStep, f32x4.mul(c12, minus)); v128.store(q + 15 * eStep, f32x4.mul(c13, minus));
    }
  }
}

/** Address of element (e, row, col) of a transformed filter u [16, rows, cols] packed as packColumns packs each point. */
@inline
function packedAt(u: usize, rows: i32, cols: i32, e: i32, row: i32, col: i32): usize {
  const blocks = <usize>((cols + 7) >> 3);
  return u + <usize>e * blocks * <usize>rows * 32 + <usize>(col >> 3) * <usize>rows * 32 + <usize>row * 32 + (<usize>(col & 7) << 2);
}

/**
 * Stores point e of the transformed filter for input channel ci, output channels o..o+3 (`val`'s lanes):
 * u [16, c, co] at (e, ci, o..o+3), or turned (see winogradFilter) u [16, co, c] at (P(e), o..o+3, ci).
 */
@inline
function putPoint(u: usize, c: i32, co: i32, turn: i32, e: i32, ci: i32, o: i32, val: v128): void {
  if (turn == 0) {
    v128.store(packedAt(u, c, co, e, ci, o), val);
    return;
  }
  const a = e >> 2, b = e & 3;
  const target = (a == 0 ? 3 : a == 3 ? 0 : a) * 4 + (b == 0 ? 3 : b == 3 ? 0 : b);
  store<f32>(packedAt(u, co, c, target, o, ci), f32x4.extract_lane(val, 0));
  store<f32>(packedAt(u, co, c, target, o + 1, ci), f32x4.extract_lane(val, 1));
  store<f32>(packedAt(u, co, c, target, o + 2, ci), f32x4.extract_lane(val, 2));
  store<f32>(packedAt(u, co, c, target, o + 3, ci), f32x4.extract_lane(val, 3));
}

/**
 * G g G^T of a 3 x 3 filter w [3, 3, c, co]: u [16, c, co] (turn 0), each point packed in blocks of eight
 * columns as packColumns packs a filter. With `turn` 1, the filter of the input gradient (w turned by 180
 * degrees, the channel axes swapped): u [16, co, c]; since G J = P G (J reverses the 3 taps, P swaps rows
 * 0 and 3 of 4), that is the transform of w with points a, b taken as P(a), P(b). Input channels [r0, r1).
 */
export function winogradFilter(wf: usize, c: i32, co: i32, turn: i32, u: usize, r0: i32, r1: i32): void {
  const coBytes = <usize>co << 2;
  const tap = <usize>c * coBytes;
  const half = f32x4.splat(0.5);
  for (let ci = r0; ci < r1; ci++) {
    for (let o = 0; o < co; o += 4) {
      const p = wf + <usize>ci * coBytes + (<usize>o << 2);
      // Along the columns of each row i: [g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2].
      let g0 = v128.load(p), g1 = v128.load(p + tap), g2 = v128.load(p + 2 * tap);
      let s = f32x4.add(g0, g2);
      const h00 = g0, h01 = f32x4.mul(f32x4.add(s, g1), half), h02 = f32x4.mul(f32x4.sub(s, g1), half), h03 = g2;
      g0 = v128.load(p + 3 * tap); g1 = v128.load(p + 4 * tap); g2 = v128.load(p + 5 * tap);
      s = f32x4.add(g0, g2);
      const h10 = g0, h11 = f32x4.mul(f32x4.add(s, g1), half), h12 = f32x4.mul(f32x4.sub(s, g1), half), h13 = g2;
      g0 = v128.load(p + 6 * tap); g1 = v128.load(p + 7 * tap); g2 = v128.load(p + 8 * tap);
      s = f32x4.add(g0, g2);
      const h20 = g0, h21 = f32x4.mul(f32x4.add(s, g1), half), h22 = f32x4.mul(f32x4.sub(s, g1), half), h23 = g2;
      // Across the rows, the same for each column b.
      const s0 = f32x4.add(h00, h20), s1 = f32x4.add(h01, h21), s2 = f32x4.add(h02, h22), s3 = f32x4.add(h03, h23);
      putPoint(u, c, co, turn, 0, ci, o, h00); putPoint(u, c, co, turn, 1, ci, o, h01);
      putPoint(u, c, co, turn, 2, ci, o, h02); putPoint(u, c, co, turn, 3, ci, o, h03);
      putPoint(u, c, co, turn, 4, ci, o, f32x4.mul(f32x4.add(s0, h10), half)); putPoint(u, c, co, turn, 5, ci, o, f32x4.mul(f32x4.add(s1, h11), half));
      putPoint(u, c, co, turn, 6, ci, o, f32x4.mul(f32x4.add(s2, h12), half)); putPoint(u, c, co, turn, 7, ci, o, f32x4.mul(f32x4.add(s3, h13), half));
      putPoint(u, c, co, turn, 8, ci, o, f32x4.mul(f32x4.sub(s0, h10), half)); putPoint(u, c, co, turn, 9, ci, o, f32x4.mul(f32x4.sub(s1, h11), half));
      putPoint(u, c, co, turn, 10, ci, o, f32x4.mul(f32x4.sub(s2, h12), half)); putPoint(u, c, co, turn, 11, ci, o, f32x4.mul(f32x4.sub(s3, h13), half));
      putPoint(u, c, co, turn, 12, ci, o, h20); putPoint(u, c, co, turn, 13, ci, o, h21);
      putPoint(u, c, co, turn, 14, ci, o, h22); putPoint(u, c, co, turn, 15, ci, o, h23);
    }
  }
}

/**
 * The 16 products of the forward pass: m [16, T, k] at point e = v [e] (T x c) times u [e] (c x k, packed
 * by winogradFilter). Parts j in [j0, j1), j = e * ceil(T / 4) + (tile block of four), so a thread's chunk
 * reuses one point's filter.
 */
export function winogradProducts(v: usize, u: usize, tiles: i32, c: i32, k: i32, m: usize, j0: i32, j1: i32): void {
  const blocks = (tiles + 3) >> 2;
  const cBytes = <usize>c << 2;
  const kBytes = <usize>k << 2;
  const uPoint = <usize>((k + 7) >> 3) * <usize>c * 32;
  for (let j = j0; j < j1; j++) {
    const e = j / blocks;
    const t = (j - e * blocks) << 2;
    const rows = min(4, tiles - t);
    const row = <usize>e * <usize>tiles + <usize>t;
    const out = m + row * kBytes;
    zeroRun(out, rows * k);
    const up = u + <usize>e * uPoint;
    const sp = v + row * cBytes;
    if (rows == 4) outerSum4(sp, cBytes, 4, up, 32, <usize>c * 32, c, k, out, kBytes);
    else for (let r = 0; r < rows; r++) outerSum1(sp + <usize>r * cBytes, 4, up, 32, <usize>c * 32, c, k, out + <usize>r * kBytes);
  }
}

/**
 * The 16 products of the filter gradient: m [16, c, k] at point e = v [e]^T (c x T) times d [e] (T x k),
 * summed over tiles in order, in bands of tiles that keep their slice of d in cache; added to m when
 * `accumulate` is 1 (the next group of tiles: the sums continue in the same order), else from zero.
 * Parts j in [j0, j1), j = e * (c / 4) + (block of four input channels).
 */
export function winogradGradProducts(v: usize, d: usize, tiles: i32, c: i32, k: i32, accumulate: i32, m: usize, j0: i32, j1: i32): void {
  if (j1 <= j0) return;
  const cBlocks = c >> 2;
  const cBytes = <usize>c << 2;
  const kBytes = <usize>k << 2;
  if (accumulate == 0) for (let j = j0; j < j1; j++) zeroRun(m + <usize>j * 4 * kBytes, 4 * k);
  // At least 64 tiles a band: each band loads and stores the accumulators once (a band of 8, for k = 512,
  // spent a third of the time there: W8's RPN filter gradient 31.5 -> 27 ms on 1 thread at 64); the sums
  // and their order do not depend on it.
  let band = <i32>(FILTER_GRAD_BAND_BYTES / kBytes);
  if (band < 64) band = 64;
  for (let t0 = 0; t0 < tiles; t0 += band) {
    const count = min(band, tiles - t0);
    for (let j = j0; j < j1; j++) {
      const e = j / cBlocks;
      const ci = (j - e * cBlocks) << 2;
      const row = <usize>e * <usize>tiles + <usize>t0;
      outerSum4(v + row * cBytes + (<usize>ci << 2), 4, cBytes, d + row * kBytes, kBytes, 32, count, k, m + <usize>j * 4 * kBytes, kBytes);
    }
  }
}

/**
 * A^T m A of a group of `count` tiles from `tBase` on (the forward pass's outputs): y [n, oh, ow, k] at the
 * 2 x 2 outputs of tile t (those inside the map) from m [16, count, k] (row t - tBase), plus bias (a pointer
 * to k floats, or 0), then max(0, .) when `relu`. Tiles tBase + [t0, t1) only.
 */
export function winogradOutput(m: usize, tBase: i32, count: i32, tilesH: i32, tilesW: i32, k: i32, oh: i32, ow: i32, bias: usize, relu: i32, y: usize, t0: i32, t1: i32): void {
  const kBytes = <usize>k << 2;
  const perImage = tilesH * tilesW;
  const eStep = <usize>count * kBytes;
  const zero = f32x4.splat(0);
  for (let local = t0; local < t1; local++) {
    const origin = blockOrigin(tBase + local, perImage, tilesW, oh, ow);
    const in1 = (origin / ow) % oh + 1 < oh, ic1 = origin % ow + 1 < ow;
    const y00 = y + <usize>origin * kBytes;
    const y10 = y00 + <usize>ow * kBytes;
    const src = m + <usize>local * kBytes;
    for (let o = 0; o < k; o += 4) {
      const ob = <usize>o << 2;
      const q = src + ob;
      // Each row a: [m0 + m1 + m2, m1 - m2 - m3]; then the same across the rows.
      let m0 = v128.load(q), m1 = v128.load(q + eStep), m2 = v128.load(q + 2 * eStep), m3 = v128.load(q + 3 * eStep);
      const p00 = f32x4.add(f32x4.add(m0, m1), m2), p01 = f32x4.sub(f32x4.sub(m1, m2), m3);
      m0 = v128.load(q + 4 * eStep); m1 = v128.load(q + 5 * eStep); m2 = v128.load(q + 6 * eStep); m3 = v128.load(q + 7 * eStep);
      const p10 = f32x4.add(f32x4.add(m0, m1), m2), p11 = f32x4.sub(f32x4.sub(m1, m2), m3);
      m0 = v128.load(q + 8 * eStep); m1 = v128.load(q + 9 * eStep); m2 = v128.load(q + 10 * eStep); m3 = v128.load(q + 11 * eStep);
      const p20 = f32x4.add(f32x4.add(m0, m1), m2), p21 = f32x4.sub(f32x4.sub(m1, m2), m3);
      m0 = v128.load(q + 12 * eStep); m1 = v128.load(q + 13 * eStep); m2 = v128.load(q + 14 * eStep); m3 = v128.load(q + 15 * eStep);
      const p30 = f32x4.add(f32x4.add(m0, m1), m2), p31 = f32x4.sub(f32x4.sub(m1, m2), m3);
      const bv = bias != 0 ? v128.load(bias + ob) : zero;
      let r00 = f32x4.add(f32x4.add(f32x4.add(p00, p10), p20), bv);
      let r01 = f32x4.add(f32x4.add(f32x4.add(p01, p11), p21), bv);
      let r10 = f32x4.add(f32x4.sub(f32x4.sub(p10, p20), p30), bv);
      let r11 = f32x4.add(f32x4.sub(f32x4.sub(p11, p21), p31), bv);
      if (relu != 0) {
        r00 = f32x4.max(r00, zero); r01 = f32x4.max(r01, zero); r10 = f32x4.max(r10, zero); r11 = f32x4.max(r11, zero);
      }
      v128.store(y00 + ob, r00);
      if (ic1) v128.store(y00 + kBytes + ob, r01);
      if (in1) {
        v128.store(y10 + ob, r10);
        if (ic1) v128.store(y10 + kBytes + ob, r11);
      }
    }
  }
}

/**
 * G^T m G of every (input channel, output channel) pair (the filter gradient's outputs): dw [3, 3, c, k] from
 * m [16, c, k], G^T = [1 .5 .5 0; 0 .5 -.5 0; 0 .5 .5 1]. Input channels [r0, r1) only.
 */
export function winogradFilterGradOutput(m: usize, c: i32, k: i32, dw: usize, r0: i32, r1: i32): void {
  const kBytes = <usize>k << 2;
  const eStep = <usize>c * kBytes;
  const tap = eStep;
  const half = f32x4.splat(0.5);
  for (let ci = r0; ci < r1; ci++) {
    for (let o = 0; o < k; o += 4) {
      const off = <usize>ci * kBytes + (<usize>o << 2);
      const q = m + off;
      // Each row a: [m0 + (m1 + m2) / 2, (m1 - m2) / 2, (m1 + m2) / 2 + m3]; then the same across the rows.
      let m0 = v128.load(q), m1 = v128.load(q + eStep), m2 = v128.load(q + 2 * eStep), m3 = v128.load(q + 3 * eStep);
      let s = f32x4.mul(f32x4.add(m1, m2), half);
      const q00 = f32x4.add(m0, s), q01 = f32x4.mul(f32x4.sub(m1, m2), half), q02 = f32x4.add(s, m3);
      m0 = v128.load(q + 4 * eStep); m1 = v128.load(q + 5 * eStep); m2 = v128.load(q + 6 * eStep); m3 = v128.load(q + 7 * eStep);
      s = f32x4.mul(f32x4.add(m1, m2), half);
      const q10 = f32x4.add(m0, s), q11 = f32x4.mul(f32x4.sub(m1, m2), half), q12 = f32x4.add(s, m3);
      m0 = v128.load(q + 8 * eStep); m1 = v128.load(q + 9 * eStep); m2 = v128.load(q + 10 * eStep); m3 = v128.load(q + 11 * eStep);
      s = f32x4.mul(f32x4.add(m1, m2), half);
      const q20 = f32x4.add(m0, s), q21 = f32x4.mul(f32x4.sub(m1, m2), half), q22 = f32x4.add(s, m3);
      m0 = v128.load(q + 12 * eStep); m1 = v128.load(q + 13 * eStep); m2 = v128.load(q + 14 * eStep); m3 = v128.load(q + 15 * eStep);
      s = f32x4.mul(f32x4.add(m1, m2), half);
      const q30 = f32x4.add(m0, s), q31 = f32x4.mul(f32x4.sub(m1, m2), half), q32 = f32x4.add(s, m3);
      const s0 = f32x4.mul(f32x4.add(q10, q20), half), s1 = f32x4.mul(f32x4.add(q11, q21), half), s2 = f32x4.mul(f32x4.add(q12, q22), half);
      const d = dw + off;
      v128.store(d, f32x4.add(q00, s0)); v128.store(d + tap, f32x4.add(q01, s1)); v128.store(d + 2 * tap, f32x4.add(q02, s2));
      v128.store(d + 3 * tap, f32x4.mul(f32x4.sub(q10, q20), half)); v128.store(d + 4 * tap, f32x4.mul(f32x4.sub(q11, q21), half)); v128.store(d + 5 * tap, f32x4.mul(f32x4.sub(q12, q22), half));
      v128.store(d + 6 * tap, f32x4.add(s0, q30)); v128.store(d + 7 * tap, f32x4.add(s1, q31)); v128.store(d + 8 * tap, f32x4.add(s2, q32));
    }
  }
}

/**
 * {@link winogradInput}, {@link winogradProducts} and {@link winogradOutput} in one call, unit by unit: unit r
 * is tiles [r * unitTiles, (r + 1) * unitTiles) of the group (unitTiles a multiple of 4), whose transformed
 * patches (v [16, unitTiles, c]) and products (m [16, unitTiles, k]) it writes and reads back while they
 * are in cache. For filters whose transform `u` fits a core's L2 cache (each unit reads all of it). The
 * units of a call [r0, r1) share one unit's scratch, unit r0's (`v` + r0 * 16 * unitTiles * c floats, `m`
 * likewise: a call's units run on one thread, and no two calls have the same r0), so the units after the
 * first write to lines already in cache instead of streaming the whole group's transforms through memory;
 * `v` and `m` hold 16 * c (and 16 * k) floats for each tile of the group rounded up to whole units. The
 * results are those of the three calls over the group, bit for bit (the same products of each tile, in the
 * same blocks of four).
 */
export function winogradConvUnits(
  x: usize, tBase: i32, count: i32, h: i32, w: i32, c: i32, pt: i32, pl: i32, tilesH: i32, tilesW: i32,
  v: usize, u: usize, k: i32, m: usize, outH: i32, outW: i32, bias: usize, relu: i32, y: usize, unitTiles: i32,
  r0: i32, r1: i32,
): void {
  const vUnit = v + <usize>r0 * 16 * <usize>unitTiles * (<usize>c << 2);
  const mUnit = m + <usize>r0 * 16 * <usize>unitTiles * (<usize>k << 2);
  for (let r = r0; r < r1; r++) {
    const t0 = r * unitTiles;
    const tiles = min(count, t0 + unitTiles) - t0;
    if (tiles <= 0) continue;
    winogradInput(x, tBase + t0, tiles, h, w, c, pt, pl, tilesH, tilesW, vUnit, 0, tiles);
    winogradProducts(vUnit, u, tiles, c, k, mUnit, 0, 16 * ((tiles + 3) >> 2));
    winogradOutput(mUnit, tBase + t0, tiles, tilesH, tilesW, k, outH, outW, bias, relu, y, 0, tiles);
  }
}

/**
 * The filter gradient's transforms and products by parts of the tiles, for threads that would each stream
 * a whole group's operands from memory when split by points: part p takes tiles [p * perPart,
 * min(tiles, (p + 1) * perPart)), in groups of `group` tiles whose transforms (v [16, group, c], d [16,
 * group, co] in the part's own `scratch`, 16 * group * (c + co) floats a part) stay in cache for the
 * products, and sums them, over its tiles in order, into its own m [16, c, co] (`m` + p * 16 * c * co
 * floats), which `columnSums` then adds in part order. Parts [u0, u1). Each element's sum depends on perPart
 * only (not on the group nor on which thread runs a part).
 */
export function winogradGradParts(
  x: usize, dy: usize, tiles: i32, perPart: i32, group: i32, h: i32, w: i32, c: i32, pt: i32, pl: i32,
  tilesH: i32, tilesW: i32, oh: i32, ow: i32, co: i32, scratch: usize, m: usize, u0: i32, u1: i32,
): void {
  const partScratch = <usize>16 * <usize>group * <usize>(c + co) * 4;
  const partM = <usize>16 * <usize>c * <usize>co * 4;
  for (let part = u0; part < u1; part++) {
    const first = part * perPart;
    const end = min(tiles, first + perPart);
    const v = scratch + <usize>part * partScratch;
    const d = v + <usize>16 * <usize>group * <usize>c * 4;
    for (let t = first; t < end; t += group) {
      const count = min(group, end - t);
      winogradGradTransforms(x, dy, t, count, h, w, c, pt, pl, tilesH, tilesW, v, oh, ow, co, d, 0, count);
      winogradGradProducts(v, d, count, c, co, t == first ? 0 : 1, m + <usize>part * partM, 0, 16 * (c >> 2));
    }
  }
}

/** {@link winogradInput} of x and {@link winogradOutputGrad} of dy in one call, for tiles [t0, t1) of the group. */
export function winogradGradTransforms(
  x: usize, dy: usize, tBase: i32, count: i32, h: i32, w: i32, c: i32, pt: i32, pl: i32, tilesH: i32, tilesW: i32,
  v: usize, oh: i32, ow: i32, co: i32, d: usize, t0: i32, t1: i32,
): void {
  winogradInput(x, tBase, count, h, w, c, pt, pl, tilesH, tilesW, v, t0, t1);
  winogradOutputGrad(dy, tBase, count, oh, ow, co, tilesH, tilesW, d, t0, t1);
}
