/**
 * detkit's WGSL compute programs for tfjs-backend-webgpu (its `WebGPUProgram` protocol: tfjs declares the
 * inputs as `array<f32 | i32>` storage buffers named after `variableNames`, their shapes as uniforms
 * `<name>Shape`, the output as `result`, and calls `main(index)` once per flat output index). Each follows
 * the arithmetic of the wasm / typed-array kernel it stands in for, in float32. Internal to the package.
 */

/** The fields of tfjs-backend-webgpu's WebGPUProgram that detkit's programs set. */
export interface WgslProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  size: boolean;
  uniforms?: string;
  atomic?: boolean;
  getUserCode(): string;
}

const WORKGROUP = 64;

/**
 * A program with one invocation per element of `threads` (flat), writing `outputShape`; `helpers` is WGSL
 * (structs, functions) placed before `main`.
 */
function flatProgram(
  shaderKey: string,
  variableNames: string[],
  outputShape: number[],
  threads: number,
  uniforms: string,
  body: string,
  options: { atomic?: boolean; helpers?: string } = {},
): WgslProgram {
  return {
    variableNames,
    outputShape,
    shaderKey,
    // tfjs dispatches over the dims listed in `x`; for atomic programs the thread count is not the output size.
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [Math.max(1, Math.ceil(threads / WORKGROUP)), 1, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    size: true,
    uniforms: `${uniforms} threads : i32,`,
    atomic: options.atomic,
    getUserCode: () => `${options.helpers ?? ''}
      fn main(index : i32) {
        if (index >= uniforms.threads) { return; }
        ${body}
      }`,
  };
}

/**
 * Pairwise IoU / GIoU / DIoU / CIoU of boxes1 [N, 4] and boxes2 [M, 4] (xyxy) into [N, M], as
 * `pairwiseIouKernel` in @detkit/boxes (`kind`: 0 iou, 1 giou, 2 diou, 3 ciou; float32 areas).
 */
export function pairwiseIouProgram(n: number, m: number): WgslProgram {
  return flatProgram(
    'detkitPairwiseIou',
    ['A', 'B'],
    [n, m],
    n * m,
    'kind : i32, eps : f32, ciouScale : f32,',
    `
        let i = index / uniforms.outShape[1];
        let j = index - i * uniforms.outShape[1];
        let ax1 = A[4 * i]; let ay1 = A[4 * i + 1]; let ax2 = A[4 * i + 2]; let ay2 = A[4 * i + 3];
        let bx1 = B[4 * j]; let by1 = B[4 * j + 1]; let bx2 = B[4 * j + 2]; let by2 = B[4 * j + 3];
        let aArea = (ax2 - ax1) * (ay2 - ay1);
        let bArea = (bx2 - bx1) * (by2 - by1);
        let iw = min(ax2, bx2) - max(ax1, bx1);
        let ih = min(ay2, by2) - max(ay1, by1);
        var inter = 0.0;
        if (iw > 0.0 && ih > 0.0) { inter = iw * ih; }
        let uni = (aArea + bArea) - inter;
        var iou = 0.0;
        if (uni > 0.0) { iou = inter / uni; }
        if (uniforms.kind == 0) { result[index] = iou; return; }
        let cw = max(0.0, max(ax2, bx2) - min(ax1, bx1));
        let ch = max(0.0, max(ay2, by2) - min(ay1, by1));
        if (uniforms.kind == 1) {
          let hull = cw * ch;
          var pen = 0.0;
          if (hull > 0.0) { pen = (hull - uni) / hull; }
          result[index] = iou - pen;
          return;
        }
        let dx = (ax1 + ax2) / 2.0 - (bx1 + bx2) / 2.0;
        let dy = (ay1 + ay2) / 2.0 - (by1 + by2) / 2.0;
        let diou = iou - (dx * dx + dy * dy) / (cw * cw + ch * ch + uniforms.eps);
        if (uniforms.kind == 2) { result[index] = diou; return; }
        let dAngle = atan2(ax2 - ax1, ay2 - ay1) - atan2(bx2 - bx1, by2 - by1);
        let v = uniforms.ciouScale * dAngle * dAngle;
        let alpha = v / (1.0 - iou + v + uniforms.eps);
        result[index] = diou - alpha * v;`,
  );
}

/**
 * Index of the first value of Q that is not an IoU (NaN, < 0, > 1 + tol), by atomicMin into result[0]
 * (which must start at a value >= Q's size). The matchers' value check.
 */
export function firstNotIouProgram(size: number): WgslProgram {
  return flatProgram(
    'detkitFirstNotIou',
    ['Q'],
    [1],
    size,
    'tol : f32,',
    `
        let x = Q[index];
        if (!(x >= 0.0 && x <= 1.0 + uniforms.tol)) { atomicMin(&result[0], index); }`,
    { atomic: true },
  );
}

/**
 * Row maxima of each image's [M, N] block of Q [B, M, N] into [B, M] (the max-IoU matcher's low-quality
 * rule), one invocation per row.
 */
export function rowMaxProgram(b: number, m: number): WgslProgram {
  return flatProgram(
    'detkitRowMax',
    ['Q'],
    [b, m],
    b * m,
    'n : i32,',
    `
        let row = index * uniforms.n;
        var best = -3.402823e38;
        for (var j = 0; j < uniforms.n; j++) { best = max(best, Q[row + j]); }
        result[index] = best;`,
  );
}

/**
 * WGSL: the largest value of column j of one image's [M, N] block of Q (starting at `base`) and its row,
 * the first on ties: each anchor's (prior's) best ground-truth box, for both matchers.
 */
const COLUMN_BEST = `
  struct Best { value : f32, row : i32 };
  fn columnBest(base : i32, m : i32, n : i32, j : i32) -> Best {
    var b = Best(-3.402823e38, 0);
    for (var i = 0; i < m; i++) {
      let v = Q[base + i * n + j];
      if (v > b.value) { b.value = v; b.row = i; }
    }
    return b;
  }`;

/**
 * torchvision's Matcher over Q [B, M, N] with row maxima R [B, M] (see `maxIouMatch` in @detkit/matchers'
 * assembly): `which` 0 writes matches [B, N] (best row, first on ties, for positives; else -1), 1 writes
 * labels (1 / 0 / -1). One invocation per anchor. An image whose rows are all <= 0 is all negative.
 */
export function maxIouMatchProgram(b: number, n: number): WgslProgram {
  return flatProgram(
    'detkitMaxIouMatch',
    ['Q', 'R'],
    [b, n],
    b * n,
    'm : i32, high : f32, low : f32, negMin : f32, lowQuality : i32, minLowQuality : f32, which : i32,',
    `
        let img = index / uniforms.outShape[1];
        let j = index - img * uniforms.outShape[1];
        let n = uniforms.outShape[1];
        let base = img * uniforms.m * n;
        var overlapping = false;
        for (var i = 0; i < uniforms.m; i++) { if (R[img * uniforms.m + i] > 0.0) { overlapping = true; } }
        if (!overlapping) {
          if (uniforms.which == 0) { result[index] = -1; } else { result[index] = 0; }
          return;
        }
        let top = columnBest(base, uniforms.m, n, j);
        let best = top.value;
        var label = -1;
        if (best >= uniforms.high) { label = 1; } else if (best < uniforms.low && best >= uniforms.negMin) { label = 0; }
        if (uniforms.lowQuality != 0 && label != 1) {
          for (var i = 0; i < uniforms.m; i++) {
            let r = R[img * uniforms.m + i];
            if (r > 0.0 && r >= uniforms.minLowQuality && Q[base + i * n + j] == r) { label = 1; }
          }
        }
        if (uniforms.which == 1) { result[index] = label; return; }
        if (label == 1) { result[index] = top.row; } else { result[index] = -1; }`,
    { helpers: COLUMN_BEST },
  );
}

/** torchvision's RoIAlign geometry and bilinear sampling (roi_align_kernel.cpp), shared by forward and backward. */
const ROI_ALIGN_COMMON = `
  struct Geometry { startH : f32, startW : f32, binH : f32, binW : f32, gridH : i32, gridW : i32, ok : bool, image : i32 };
  fn geometry(r : i32) -> Geometry {
    var g : Geometry;
    let x1 = boxes[4 * r]; let y1 = boxes[4 * r + 1]; let x2 = boxes[4 * r + 2]; let y2 = boxes[4 * r + 3];
    let s = x1 + y1 + x2 + y2;
    g.image = boxImageIndex[r];
    g.ok = (s - s == 0.0) && g.image >= 0 && g.image < uniforms.numImages;
    var offset = 0.0;
    if (uniforms.aligned != 0) { offset = 0.5; }
    g.startW = x1 * uniforms.scale - offset;
    g.startH = y1 * uniforms.scale - offset;
    let endW = x2 * uniforms.scale - offset;
    let endH = y2 * uniforms.scale - offset;
    var roiW = endW - g.startW;
    var roiH = endH - g.startH;
    if (uniforms.aligned == 0) { roiW = max(roiW, 1.0); roiH = max(roiH, 1.0); }
    g.binH = roiH / f32(uniforms.pooledH);
    g.binW = roiW / f32(uniforms.pooledW);
    if (uniforms.samplingRatio > 0) { g.gridH = uniforms.samplingRatio; g.gridW = uniforms.samplingRatio; }
    else { g.gridH = i32(ceil(roiH / f32(uniforms.pooledH))); g.gridW = i32(ceil(roiW / f32(uniforms.pooledW))); }
    return g;
  }
  struct Taps { ok : bool, p : vec4<i32>, w : vec4<f32> };
  fn bilinear(yIn : f32, xIn : f32, height : i32, width : i32) -> Taps {
    var t : Taps;
    t.ok = false;
    if (height <= 0 || width <= 0 || yIn < -1.0 || yIn > f32(height) || xIn < -1.0 || xIn > f32(width)) { return t; }
    var y = max(yIn, 0.0);
    var x = max(xIn, 0.0);
    var yLow = i32(y); var xLow = i32(x);
    var yHigh = yLow + 1; var xHigh = xLow + 1;
    if (yLow >= height - 1) { yLow = height - 1; yHigh = yLow; y = f32(yLow); }
    if (xLow >= width - 1) { xLow = width - 1; xHigh = xLow; x = f32(xLow); }
    let ly = y - f32(yLow); let lx = x - f32(xLow);
    let hy = 1.0 - ly; let hx = 1.0 - lx;
    t.w = vec4<f32>(hy * hx, hy * lx, ly * hx, ly * lx);
    t.p = vec4<i32>(yLow * width + xLow, yLow * width + xHigh, yHigh * width + xLow, yHigh * width + xHigh);
    t.ok = true;
    return t;
  }
  // Output element \`index\` of [K, PH, PW, C] (or dy's): its channel, bin row and column, and box.
  struct Bin { c : i32, ph : i32, pw : i32, r : i32 };
  fn binOf(index : i32) -> Bin {
    var b : Bin;
    b.c = index % uniforms.channels;
    let bin = index / uniforms.channels;
    b.pw = bin % uniforms.pooledW;
    b.ph = (bin / uniforms.pooledW) % uniforms.pooledH;
    b.r = bin / (uniforms.pooledW * uniforms.pooledH);
    return b;
  }
  // Sampling point (iy, ix) of bin (ph, pw): the centres of a gridH x gridW grid over the bin.
  fn sampleY(g : Geometry, ph : i32, iy : i32) -> f32 { return g.startH + f32(ph) * g.binH + (f32(iy) + 0.5) * g.binH / f32(g.gridH); }
  fn sampleX(g : Geometry, pw : i32, ix : i32) -> f32 { return g.startW + f32(pw) * g.binW + (f32(ix) + 0.5) * g.binW / f32(g.gridW); }`;

const ROI_ALIGN_UNIFORMS = 'numImages : i32, height : i32, width : i32, channels : i32, pooledH : i32, pooledW : i32, scale : f32, samplingRatio : i32, aligned : i32,';

/**
 * RoIAlign forward (torchvision.ops.roi_align) over NHWC features [B, H, W, C], boxes [K, 4] xyxy in image
 * pixels and their image indices [K] into [K, PH, PW, C]: one invocation per output element.
 */
export function roiAlignProgram(k: number, pooledH: number, pooledW: number, c: number): WgslProgram {
  return flatProgram(
    'detkitRoiAlign',
    ['features', 'boxes', 'boxImageIndex'],
    [k, pooledH, pooledW, c],
    k * pooledH * pooledW * c,
    ROI_ALIGN_UNIFORMS,
    `
        let b = binOf(index);
        let c = b.c;
        let g = geometry(b.r);
        if (!g.ok) { result[index] = 0.0; return; }
        let image = g.image * uniforms.height * uniforms.width;
        var sum = 0.0;
        for (var iy = 0; iy < g.gridH; iy++) {
          let y = sampleY(g, b.ph, iy);
          for (var ix = 0; ix < g.gridW; ix++) {
            let x = sampleX(g, b.pw, ix);
            let t = bilinear(y, x, uniforms.height, uniforms.width);
            if (!t.ok) { continue; }
            let f1 = features[(image + t.p.x) * uniforms.channels + c];
            let f2 = features[(image + t.p.y) * uniforms.channels + c];
            let f3 = features[(image + t.p.z) * uniforms.channels + c];
            let f4 = features[(image + t.p.w) * uniforms.channels + c];
            sum = sum + (((t.w.x * f1 + t.w.y * f2) + t.w.z * f3) + t.w.w * f4);
          }
        }
        result[index] = sum / f32(max(g.gridH * g.gridW, 1));`,
    { helpers: ROI_ALIGN_COMMON },
  );
}

/**
 * RoIAlign backward: dy [K, PH, PW, C] scattered into the features' gradient [B, H, W, C] (which must
 * start at zero) with float atomic adds (compare-exchange loops), one invocation per element of dy. The
 * order of the adds differs from the CPU kernels' (float32 rounding, not values).
 */
export function roiAlignGradProgram(featureShape: readonly number[], k: number, pooledH: number, pooledW: number, c: number): WgslProgram {
  return flatProgram(
    'detkitRoiAlignGrad',
    ['dy', 'boxes', 'boxImageIndex'],
    [...featureShape],
    k * pooledH * pooledW * c,
    ROI_ALIGN_UNIFORMS,
    `
        let b = binOf(index);
        let c = b.c;
        let g = geometry(b.r);
        if (!g.ok) { return; }
        let image = g.image * uniforms.height * uniforms.width;
        let count = f32(g.gridH * g.gridW);
        let d = dy[index];
        for (var iy = 0; iy < g.gridH; iy++) {
          let y = sampleY(g, b.ph, iy);
          for (var ix = 0; ix < g.gridW; ix++) {
            let x = sampleX(g, b.pw, ix);
            let t = bilinear(y, x, uniforms.height, uniforms.width);
            if (!t.ok) { continue; }
            atomicAddF32((image + t.p.x) * uniforms.channels + c, d * (t.w.x / count));
            atomicAddF32((image + t.p.y) * uniforms.channels + c, d * (t.w.y / count));
            atomicAddF32((image + t.p.z) * uniforms.channels + c, d * (t.w.z / count));
            atomicAddF32((image + t.p.w) * uniforms.channels + c, d * (t.w.w / count));
          }
        }`,
    {
      atomic: true,
      helpers: `${ROI_ALIGN_COMMON}
  fn atomicAddF32(at : i32, v : f32) {
    var old = atomicLoad(&result[at]);
    loop {
      let next = bitcast<i32>(bitcast<f32>(old) + v);
      let res = atomicCompareExchangeWeak(&result[at], old, next);
      if (res.exchanged) { break; }
      old = res.old_value;
    }
  }`,
    },
  );
}

/**
 * Each row's maximum and first column holding it, over Q [B, M, N], into [B, M, 2] float32 (the column
 * index as a float: exact below 2^24), one invocation per row: the SSD matcher's "best prior per box".
 */
export function rowMaxArgProgram(b: number, m: number): WgslProgram {
  return flatProgram(
    'detkitRowMaxArg',
    ['Q'],
    [b, m, 2],
    b * m,
    'n : i32,',
    `
        let row = index * uniforms.n;
        var best = -3.402823e38;
        var arg = 0;
        for (var j = 0; j < uniforms.n; j++) {
          let v = Q[row + j];
          if (v > best) { best = v; arg = j; }
        }
        result[2 * index] = best;
        result[2 * index + 1] = f32(arg);`,
  );
}

/**
 * SSD matching over Q [B, M, N] (see `ssdMatch` in @detkit/matchers' assembly and `assignBestPriors`):
 * each prior takes its best box (first on ties) when that IoU is >= threshold, and the priors in P [B, M]
 * (each box's own prior, -1 for none) are matched to their box whatever the IoU. `which` 0 writes matches
 * [B, N] (-1 for none), 1 labels (1 / 0). One invocation per prior.
 */
export function ssdMatchProgram(b: number, n: number): WgslProgram {
  return flatProgram(
    'detkitSsdMatch',
    ['Q', 'P'],
    [b, n],
    b * n,
    'm : i32, threshold : f32, which : i32,',
    `
        let n = uniforms.outShape[1];
        let img = index / n;
        let j = index - img * n;
        let base = img * uniforms.m * n;
        let top = columnBest(base, uniforms.m, n, j);
        var matched = -1;
        if (top.value >= uniforms.threshold) { matched = top.row; }
        for (var i = 0; i < uniforms.m; i++) {
          if (P[img * uniforms.m + i] == j) { matched = i; }
        }
        if (uniforms.which == 0) { result[index] = matched; } else { result[index] = select(0, 1, matched >= 0); }`,
    { helpers: COLUMN_BEST },
  );
}
