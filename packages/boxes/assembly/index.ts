// @detkit/boxes' WebAssembly kernels (AssemblyScript, compiled by @detkit/wasm-build with SIMD).
//
// Every function works on raw pointers into the memory the module imports (tfjs-backend-wasm's heap, or
// a private one) and allocates nothing: callers pass scratch space. Boxes are float32 xyxy rows of 4.

/**
 * Pairwise IoU of a [n, 4] and b [m, 4] into out [n, m], as torchvision.ops.box_iou computes it in float32
 * (union = area_a + area_b - inter; iou = inter / union), except that union 0 gives 0, not NaN.
 * Four boxes of b per SIMD step; scratch: 5 * roundUp(m, 4) floats (b's columns and areas).
 */
export function boxIou(a: usize, n: i32, b: usize, m: i32, out: usize, scratch: usize): void {
  const m4 = (m + 3) & ~3;
  const stride = <usize>m4 << 2;
  const sx1 = scratch, sy1 = sx1 + stride, sx2 = sy1 + stride, sy2 = sx2 + stride, sar = sy2 + stride;
  for (let j = 0; j < m4; j++) {
    const o = <usize>j << 2;
    let x1: f32 = 0, y1: f32 = 0, x2: f32 = 0, y2: f32 = 0;
    if (j < m) {
      const p = b + (<usize>j << 4);
      x1 = load<f32>(p);
      y1 = load<f32>(p, 4);
      x2 = load<f32>(p, 8);
      y2 = load<f32>(p, 12);
    }
    store<f32>(sx1 + o, x1);
    store<f32>(sy1 + o, y1);
    store<f32>(sx2 + o, x2);
    store<f32>(sy2 + o, y2);
    store<f32>(sar + o, (x2 - x1) * (y2 - y1));
  }
  const zero = f32x4.splat(0);
  for (let i = 0; i < n; i++) {
    const p = a + (<usize>i << 4);
    const ax1 = load<f32>(p), ay1 = load<f32>(p, 4), ax2 = load<f32>(p, 8), ay2 = load<f32>(p, 12);
    const vx1 = f32x4.splat(ax1), vy1 = f32x4.splat(ay1), vx2 = f32x4.splat(ax2), vy2 = f32x4.splat(ay2);
    const va = f32x4.splat((ax2 - ax1) * (ay2 - ay1));
    const row = out + ((<usize>i * <usize>m) << 2);
    for (let j = 0; j < m4; j += 4) {
      const o = <usize>j << 2;
      const iw = f32x4.pmax(f32x4.sub(f32x4.pmin(vx2, v128.load(sx2 + o)), f32x4.pmax(vx1, v128.load(sx1 + o))), zero);
      const ih = f32x4.pmax(f32x4.sub(f32x4.pmin(vy2, v128.load(sy2 + o)), f32x4.pmax(vy1, v128.load(sy1 + o))), zero);
      const inter = f32x4.mul(iw, ih);
      const union = f32x4.sub(f32x4.add(va, v128.load(sar + o)), inter);
      // inter / union where union > 0, else 0 (the NaN of 0 / 0 masked off).
      const iou = v128.and(f32x4.div(inter, union), f32x4.gt(union, zero));
      if (j + 4 <= m) {
        v128.store(row + o, iou);
      } else {
        const r = m - j;
        store<f32>(row + o, f32x4.extract_lane(iou, 0));
        if (r > 1) store<f32>(row + o, f32x4.extract_lane(iou, 1), 4);
        if (r > 2) store<f32>(row + o, f32x4.extract_lane(iou, 2), 8);
      }
    }
  }
}

/** Bytes of scratch that nmsSorted needs for n candidates. */
export function nmsScratchBytes(n: i32): i32 {
  const side = <i32>Math.ceil(Math.sqrt(<f64>n)) + 1;
  return (6 * n + 2 * side * side + 32) * 4;
}

/**
 * Greedy NMS of n candidates already in descending score order (coords: [n, 4] float32 xyxy), with
 * torchvision's rule: a candidate is dropped when its IoU with a kept box is > threshold, the IoU computed
 * in float32 exactly as nms_kernel_impl does and compared with the threshold as a double. Writes the ranks
 * of the kept candidates, ascending, to keptOut and returns how many (at most maxKeep).
 *
 * Kept boxes are binned in a uniform grid by their top-left corner (each cell a contiguous block, sized
 * by a counting pass over the candidates, compared four at a time in SIMD), and each candidate is compared only with the kept boxes in the
 * cells where a box with IoU > t could lie: IoU(a, b) > t > 0 implies |x1a - x1b| < (1 - t) / t * wa
 * (likewise for y), and for t = 0 the boxes must intersect. The bound prunes work; the float32 IoU decides.
 */
export function nmsSorted(coords: usize, n: i32, threshold: f64, maxKeep: i32, scratch: usize, keptOut: usize): i32 {
  if (n <= 0 || maxKeep <= 0) return 0;
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  let sumW: f64 = 0, sumH: f64 = 0, maxW: f64 = 0, maxH: f64 = 0;
  for (let r = 0; r < n; r++) {
    const p = coords + (<usize>r << 4);
    const x1 = <f64>load<f32>(p), y1 = <f64>load<f32>(p, 4);
    const w = <f64>load<f32>(p, 8) - x1, h = <f64>load<f32>(p, 12) - y1;
    if (x1 < minX) minX = x1;
    if (x1 > maxX) maxX = x1;
    if (y1 < minY) minY = y1;
    if (y1 > maxY) maxY = y1;
    sumW += w;
    sumH += h;
    if (w > maxW) maxW = w;
    if (h > maxH) maxH = h;
  }
  const t = threshold;
  // How far (in units of the candidate's size) a suppressing box's corner can be; unbounded at t = 0.
  const reach: f64 = t > 0 ? ((1 - t) / t) * (1 + 1e-4) : Infinity;
  const slack: f64 = 1e-3;
  const meanW = sumW / n, meanH = sumH / n;
  const winW = Math.max(Math.max(Math.min(reach * meanW, maxW), meanW * 0.05), 1e-6);
  const winH = Math.max(Math.max(Math.min(reach * meanH, maxH), meanH * 0.05), 1e-6);
  const spanX = maxX - minX, spanY = maxY - minY;
  const side = <i32>Math.ceil(Math.sqrt(<f64>n));
  const gx = max<i32>(1, min<i32>(min<i32>(512, <i32>Math.ceil(spanX / (winW / 2))), side));
  const gy = max<i32>(1, min<i32>(min<i32>(512, <i32>Math.ceil(spanY / (winH / 2))), side));
  const invW: f64 = spanX > 0 ? gx / spanX : 0, invH: f64 = spanY > 0 ? gy / spanY : 0;
  const cells = gx * gy;

  // Kept boxes by cell, as five columns (x1, y1, x2, y2, area) of n + 4 floats: four at a time are
  // compared in SIMD, and the padding lets the last load of a block run past its end.
  const column = <usize>(n + 4) << 2;
  const cellOf = scratch;                     // i32[n]: each candidate's cell
  const kx1 = cellOf + (<usize>n << 2);
  const ky1 = kx1 + column, kx2 = ky1 + column, ky2 = kx2 + column, karea = ky2 + column;
  const begin = karea + column;               // i32[cells + 1]: first slot of each cell's block
  const filled = begin + (<usize>(cells + 1) << 2); // i32[cells]: kept boxes in each cell so far
  // torchvision compares the float32 IoU with the threshold as a double: iou > t exactly when iou is
  // greater than the largest float32 <= t.
  let t32 = <f32>t;
  if (<f64>t32 > t) t32 = reinterpret<f32>(reinterpret<i32>(t32) - 1);
  const tv = f32x4.splat(t32);
  const zero = f32x4.splat(0);
  const lane = i32x4(0, 1, 2, 3);

  // Block of each cell = the number of candidates that fall in it (an upper bound on its kept boxes).
  memory.fill(begin, 0, <usize>(2 * cells + 1) << 2);
  for (let r = 0; r < n; r++) {
    const p = coords + (<usize>r << 4);
    const cx = min<i32>(gx - 1, max<i32>(0, <i32>Math.floor((<f64>load<f32>(p) - minX) * invW)));
    const cy = min<i32>(gy - 1, max<i32>(0, <i32>Math.floor((<f64>load<f32>(p, 4) - minY) * invH)));
    const c = cy * gx + cx;
    store<i32>(cellOf + (<usize>r << 2), c);
    store<i32>(begin + (<usize>(c + 1) << 2), load<i32>(begin + (<usize>(c + 1) << 2)) + 1);
  }
  for (let c = 0; c < cells; c++) {
    store<i32>(begin + (<usize>(c + 1) << 2), load<i32>(begin + (<usize>(c + 1) << 2)) + load<i32>(begin + (<usize>c << 2)));
  }

  let kept = 0;
  for (let r = 0; r < n; r++) {
    const p = coords + (<usize>r << 4);
    const cx1 = load<f32>(p), cy1 = load<f32>(p, 4), cx2 = load<f32>(p, 8), cy2 = load<f32>(p, 12);
    const carea = (cx2 - cx1) * (cy2 - cy1);
    const w = <f64>cx2 - <f64>cx1, h = <f64>cy2 - <f64>cy1;
    const left = Math.min(reach * w, maxW) + slack, right = Math.min(reach * w, w) + slack;
    const up = Math.min(reach * h, maxH) + slack, down = Math.min(reach * h, h) + slack;
    const gx0 = min<i32>(gx - 1, max<i32>(0, <i32>Math.floor((<f64>cx1 - left - minX) * invW)));
    const gx1 = min<i32>(gx - 1, max<i32>(0, <i32>Math.floor((<f64>cx1 + right - minX) * invW)));
    const gy0 = min<i32>(gy - 1, max<i32>(0, <i32>Math.floor((<f64>cy1 - up - minY) * invH)));
    const gy1 = min<i32>(gy - 1, max<i32>(0, <i32>Math.floor((<f64>cy1 + down - minY) * invH)));
    const vx1 = f32x4.splat(cx1), vy1 = f32x4.splat(cy1), vx2 = f32x4.splat(cx2), vy2 = f32x4.splat(cy2);
    const va = f32x4.splat(carea);
    let suppressed = false;
    for (let gyi = gy0; gyi <= gy1 && !suppressed; gyi++) {
      for (let c = gyi * gx + gx0; c <= gyi * gx + gx1; c++) {
        const first = load<i32>(begin + (<usize>c << 2));
        const last = first + load<i32>(filled + (<usize>c << 2));
        const lastv = i32x4.splat(last);
        for (let q = first; q < last; q += 4) {
          const o = <usize>q << 2;
          // nms_kernel_impl's float32 IoU for four kept boxes (kept area + candidate area - inter).
          const iw = f32x4.pmax(zero, f32x4.sub(f32x4.pmin(vx2, v128.load(kx2 + o)), f32x4.pmax(vx1, v128.load(kx1 + o))));
          const ih = f32x4.pmax(zero, f32x4.sub(f32x4.pmin(vy2, v128.load(ky2 + o)), f32x4.pmax(vy1, v128.load(ky1 + o))));
          const inter = f32x4.mul(iw, ih);
          const iou = f32x4.div(inter, f32x4.sub(f32x4.add(v128.load(karea + o), va), inter));
          // Lanes past the block's end are masked off; 0 / 0 = NaN (two empty boxes) is never > t.
          const hit = v128.and(f32x4.gt(iou, tv), i32x4.lt_s(i32x4.add(lane, i32x4.splat(q)), lastv));
          if (v128.any_true(hit)) {
            suppressed = true;
            break;
          }
        }
        if (suppressed) break;
      }
    }
    if (suppressed) continue;
    const c = load<i32>(cellOf + (<usize>r << 2));
    const fc = filled + (<usize>c << 2);
    const q = <usize>(load<i32>(begin + (<usize>c << 2)) + load<i32>(fc)) << 2;
    store<i32>(fc, load<i32>(fc) + 1);
    store<f32>(kx1 + q, cx1);
    store<f32>(ky1 + q, cy1);
    store<f32>(kx2 + q, cx2);
    store<f32>(ky2 + q, cy2);
    store<f32>(karea + q, carea);
    store<i32>(keptOut + (<usize>kept << 2), r);
    kept++;
    if (kept >= maxKeep) break;
  }
  return kept;
}
