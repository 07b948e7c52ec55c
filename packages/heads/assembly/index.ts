// @detkit/heads' WebAssembly kernels (AssemblyScript, compiled by @detkit/wasm-build with SIMD).
//
// RoIAlign and RoIPool, forward and backward, over NHWC feature maps: every sampled feature-map position
// is a run of C contiguous channels, so each bilinear tap or max comparison is a SIMD loop over channels
// (four at a time). The arithmetic follows torchvision's CPU kernels (ops/cpu/roi_align_kernel.cpp and
// roi_pool_kernel.cpp) in float32 step by step, so the values agree to rounding.
//
// Pointers are byte offsets into the memory the module imports (tfjs-backend-wasm's heap, or a private
// one); nothing is allocated here, and there is no module state: helpers return what they compute through
// the caller's scratch (RoIAlign: ALIGN_SCRATCH_BYTES = 56). Layouts:
//   features, gradIn: f32 [B, H, W, C]     boxes: f32 [K, 4] xyxy in image pixels   batch: i32 [K]
//   out, gradOut:     f32 [K, PH, PW, C]   argmax: i32 [K, PH, PW, C] (h * W + w, or -1)
// A box whose image index is outside [0, B) or whose coordinates are not finite reads and writes
// nothing (its outputs are zero): the TypeScript side rejects such input before it gets here, and the
// kernels must never touch memory outside the tensors they were given.

/** Zeroes n floats at p. */
function zero(p: usize, n: i32): void {
  memory.fill(p, 0, <usize>n << 2);
}

/** True when all four coordinates of box r are finite and its image index is in [0, numImages). */
function usable(boxes: usize, batch: usize, r: i32, numImages: i32): bool {
  const p = boxes + (<usize>r << 4);
  const s = load<f32>(p) + load<f32>(p, 4) + load<f32>(p, 8) + load<f32>(p, 12);
  const b = load<i32>(batch + (<usize>r << 2));
  return s - s == 0 && b >= 0 && b < numImages;
}

// Geometry of one RoI, as roi_align_forward_kernel_impl computes it (float32 throughout), written to
// `geo` (caller's scratch): f32 startW, startH, binW, binH at 0, 4, 8, 12; i32 gridW, gridH at 16, 20.
const GEOMETRY_BYTES: usize = 24;

function alignGeometry(p: usize, pooledH: i32, pooledW: i32, scale: f32, samplingRatio: i32, aligned: bool, geo: usize): void {
  const offset: f32 = aligned ? <f32>0.5 : <f32>0;
  const startW = load<f32>(p) * scale - offset;
  const startH = load<f32>(p, 4) * scale - offset;
  const endW = load<f32>(p, 8) * scale - offset;
  const endH = load<f32>(p, 12) * scale - offset;
  let roiW = endW - startW;
  let roiH = endH - startH;
  if (!aligned) {
    // torchvision: "force malformed ROIs to be 1x1".
    roiW = max<f32>(roiW, 1);
    roiH = max<f32>(roiH, 1);
  }
  store<f32>(geo, startW);
  store<f32>(geo, startH, 4);
  store<f32>(geo, roiW / <f32>pooledW, 8);
  store<f32>(geo, roiH / <f32>pooledH, 12);
  // Adaptive sampling: ceil(roi_height / pooled_height) points per bin side.
  store<i32>(geo, samplingRatio > 0 ? samplingRatio : <i32>Mathf.ceil(roiW / <f32>pooledW), 16);
  store<i32>(geo, samplingRatio > 0 ? samplingRatio : <i32>Mathf.ceil(roiH / <f32>pooledH), 20);
}

// One bilinear sample (torchvision's bilinear_interpolate / bilinear_interpolate_gradient): writes the
// four corner offsets (i32, in pixels, y * W + x) and weights (f32) to `out` (caller's scratch: i32 at 0,
// 4, 8, 12, f32 at 16, 20, 24, 28) and returns true, or returns false when the point lies outside
// [-1, H] x [-1, W] and contributes nothing.
const SAMPLE_BYTES: usize = 32;

/** Scratch of roiAlignForward / roiAlignBackward: one RoI's geometry and one sample's corners. */
const ALIGN_SCRATCH_BYTES: usize = GEOMETRY_BYTES + SAMPLE_BYTES;
/** Bytes between two ranges' scratch (one cache line at least: threads writing neighbouring slots would share one). */
const ALIGN_SCRATCH_STRIDE: usize = (ALIGN_SCRATCH_BYTES + 63) & ~63;

function bilinear(yIn: f32, xIn: f32, height: i32, width: i32, out: usize): bool {
  let y = yIn, x = xIn;
  // An empty map (H or W 0) has no corners to read: every point is outside.
  if (height <= 0 || width <= 0 || y < <f32>-1.0 || y > <f32>height || x < <f32>-1.0 || x > <f32>width) return false;
  if (y <= 0) y = 0;
  if (x <= 0) x = 0;
  let yLow = <i32>y, xLow = <i32>x;
  let yHigh: i32, xHigh: i32;
  if (yLow >= height - 1) {
    yHigh = yLow = height - 1;
    y = <f32>yLow;
  } else {
    yHigh = yLow + 1;
  }
  if (xLow >= width - 1) {
    xHigh = xLow = width - 1;
    x = <f32>xLow;
  } else {
    xHigh = xLow + 1;
  }
  const ly = y - <f32>yLow, lx = x - <f32>xLow;
  const hy = <f32>1 - ly, hx = <f32>1 - lx;
  store<i32>(out, yLow * width + xLow);
  store<i32>(out, yLow * width + xHigh, 4);
  store<i32>(out, yHigh * width + xLow, 8);
  store<i32>(out, yHigh * width + xHigh, 12);
  store<f32>(out, hy * hx, 16);
  store<f32>(out, hy * lx, 20);
  store<f32>(out, ly * hx, 24);
  store<f32>(out, ly * lx, 28);
  return true;
}

/**
 * RoIAlign forward (torchvision.ops.roi_align): out[r, ph, pw, :] is the mean over a gridH x gridW lattice
 * of sample points in bin (ph, pw) of box r of the bilinearly interpolated features, for boxes r in [r0, r1)
 * (of `numBoxes`; ranges split over threads write disjoint outputs). Scratch: ALIGN_SCRATCH_STRIDE (64)
 * bytes per box, this call using box r0's.
 */
export function roiAlignForward(
  features: usize, numImages: i32, height: i32, width: i32, channels: i32,
  boxes: usize, batch: usize, numBoxes: i32,
  pooledH: i32, pooledW: i32, scaleBits: i32, samplingRatio: i32, aligned: bool,
  out: usize, scratch: usize, r0: i32, r1: i32,
): void {
  // The scale as its float32 bits: the kernel threads pass every argument as an int32.
  const scale = reinterpret<f32>(scaleBits);
  const c4 = channels & ~3;
  const pixel = <usize>channels << 2; // bytes per feature-map position
  const binBytes = pixel;
  scratch += <usize>r0 * ALIGN_SCRATCH_STRIDE;
  for (let r = r0; r < min<i32>(r1, numBoxes); r++) {
    let o = out + <usize>r * <usize>(pooledH * pooledW) * binBytes;
    if (!usable(boxes, batch, r, numImages)) {
      zero(o, pooledH * pooledW * channels);
      continue;
    }
    const image = features + <usize>load<i32>(batch + (<usize>r << 2)) * <usize>(height * width) * pixel;
    alignGeometry(boxes + (<usize>r << 4), pooledH, pooledW, scale, samplingRatio, aligned, scratch);
    const startW = load<f32>(scratch), startH = load<f32>(scratch, 4), binW = load<f32>(scratch, 8), binH = load<f32>(scratch, 12);
    const gridW = load<i32>(scratch, 16), gridH = load<i32>(scratch, 20);
    const sample = scratch + GEOMETRY_BYTES;
    const count = <f32>max<i32>(gridH * gridW, 1);
    const vcount = f32x4.splat(count);
    for (let ph = 0; ph < pooledH; ph++) {
      for (let pw = 0; pw < pooledW; pw++) {
        zero(o, channels);
        for (let iy = 0; iy < gridH; iy++) {
          const y = startH + <f32>ph * binH + (<f32>iy + <f32>0.5) * binH / <f32>gridH;
          for (let ix = 0; ix < gridW; ix++) {
            const x = startW + <f32>pw * binW + (<f32>ix + <f32>0.5) * binW / <f32>gridW;
            if (!bilinear(y, x, height, width, sample)) continue;
            const p1 = image + <usize>load<i32>(sample) * pixel, p2 = image + <usize>load<i32>(sample, 4) * pixel;
            const p3 = image + <usize>load<i32>(sample, 8) * pixel, p4 = image + <usize>load<i32>(sample, 12) * pixel;
            const w1 = load<f32>(sample, 16), w2 = load<f32>(sample, 20), w3 = load<f32>(sample, 24), w4 = load<f32>(sample, 28);
            const v1 = f32x4.splat(w1), v2 = f32x4.splat(w2), v3 = f32x4.splat(w3), v4 = f32x4.splat(w4);
            let c = 0;
            for (; c < c4; c += 4) {
              const b = <usize>c << 2;
              // output_val += w1 * f1 + w2 * f2 + w3 * f3 + w4 * f4, in that order.
              const s = f32x4.add(
                f32x4.add(f32x4.add(f32x4.mul(v1, v128.load(p1 + b)), f32x4.mul(v2, v128.load(p2 + b))), f32x4.mul(v3, v128.load(p3 + b))),
                f32x4.mul(v4, v128.load(p4 + b)),
              );
              v128.store(o + b, f32x4.add(v128.load(o + b), s));
            }
            for (; c < channels; c++) {
              const b = <usize>c << 2;
              const s = w1 * load<f32>(p1 + b) + w2 * load<f32>(p2 + b) + w3 * load<f32>(p3 + b) + w4 * load<f32>(p4 + b);
              store<f32>(o + b, load<f32>(o + b) + s);
            }
          }
        }
        let c = 0;
        for (; c < c4; c += 4) {
          const b = <usize>c << 2;
          v128.store(o + b, f32x4.div(v128.load(o + b), vcount));
        }
        for (; c < channels; c++) {
          const b = <usize>c << 2;
          store<f32>(o + b, load<f32>(o + b) / count);
        }
        o += binBytes;
      }
    }
  }
}

/**
 * RoIAlign backward: the gradient with respect to the features, gradIn = sum over boxes, bins and sample
 * points of (gradOut / count) times each corner's bilinear weight, scattered to the four corners, for the
 * images [i0, i1) (boxes scatter only into their own image, so ranges split over threads write disjoint
 * parts). Those images of gradIn are overwritten. Contributions are added in torchvision's order (box,
 * bin, sample, corner). Scratch: ALIGN_SCRATCH_STRIDE (64) bytes per image, this call using image i0's.
 */
export function roiAlignBackward(
  gradOut: usize, numImages: i32, height: i32, width: i32, channels: i32,
  boxes: usize, batch: usize, numBoxes: i32,
  pooledH: i32, pooledW: i32, scaleBits: i32, samplingRatio: i32, aligned: bool,
  gradIn: usize, scratch: usize, i0: i32, i1: i32,
): void {
  // The scale as its float32 bits: the kernel threads pass every argument as an int32.
  const scale = reinterpret<f32>(scaleBits);
  i1 = min<i32>(i1, numImages);
  if (i0 >= i1) return;
  const pixel = <usize>channels << 2;
  const imageBytes = <usize>(height * width) * pixel;
  zero(gradIn + <usize>i0 * imageBytes, (i1 - i0) * height * width * channels);
  const c4 = channels & ~3;
  scratch += <usize>i0 * ALIGN_SCRATCH_STRIDE;
  for (let r = 0; r < numBoxes; r++) {
    if (!usable(boxes, batch, r, numImages)) continue;
    const b = load<i32>(batch + (<usize>r << 2));
    if (b < i0 || b >= i1) continue;
    let g = gradOut + <usize>r * <usize>(pooledH * pooledW) * pixel;
    const image = gradIn + <usize>b * imageBytes;
    alignGeometry(boxes + (<usize>r << 4), pooledH, pooledW, scale, samplingRatio, aligned, scratch);
    const startW = load<f32>(scratch), startH = load<f32>(scratch, 4), binW = load<f32>(scratch, 8), binH = load<f32>(scratch, 12);
    const gridW = load<i32>(scratch, 16), gridH = load<i32>(scratch, 20);
    const sample = scratch + GEOMETRY_BYTES;
    const count = <f32>(gridH * gridW);
    for (let ph = 0; ph < pooledH; ph++) {
      for (let pw = 0; pw < pooledW; pw++) {
        for (let iy = 0; iy < gridH; iy++) {
          const y = startH + <f32>ph * binH + (<f32>iy + <f32>0.5) * binH / <f32>gridH;
          for (let ix = 0; ix < gridW; ix++) {
            const x = startW + <f32>pw * binW + (<f32>ix + <f32>0.5) * binW / <f32>gridW;
            if (!bilinear(y, x, height, width, sample)) continue;
            const p1 = image + <usize>load<i32>(sample) * pixel, p2 = image + <usize>load<i32>(sample, 4) * pixel;
            const p3 = image + <usize>load<i32>(sample, 8) * pixel, p4 = image + <usize>load<i32>(sample, 12) * pixel;
            const w1 = load<f32>(sample, 16) / count, w2 = load<f32>(sample, 20) / count, w3 = load<f32>(sample, 24) / count, w4 = load<f32>(sample, 28) / count;
            const v1 = f32x4.splat(w1), v2 = f32x4.splat(w2), v3 = f32x4.splat(w3), v4 = f32x4.splat(w4);
            let c = 0;
            // Corners may coincide (clamped at the border): each add is stored before the next load.
            for (; c < c4; c += 4) {
              const b = <usize>c << 2;
              const d = v128.load(g + b);
              v128.store(p1 + b, f32x4.add(v128.load(p1 + b), f32x4.mul(d, v1)));
              v128.store(p2 + b, f32x4.add(v128.load(p2 + b), f32x4.mul(d, v2)));
              v128.store(p3 + b, f32x4.add(v128.load(p3 + b), f32x4.mul(d, v3)));
              v128.store(p4 + b, f32x4.add(v128.load(p4 + b), f32x4.mul(d, v4)));
            }
            for (; c < channels; c++) {
              const b = <usize>c << 2;
              const d = load<f32>(g + b);
              store<f32>(p1 + b, load<f32>(p1 + b) + d * w1);
              store<f32>(p2 + b, load<f32>(p2 + b) + d * w2);
              store<f32>(p3 + b, load<f32>(p3 + b) + d * w3);
              store<f32>(p4 + b, load<f32>(p4 + b) + d * w4);
            }
          }
        }
        g += pixel;
      }
    }
  }
}

/** C's round(): halfway cases away from zero (exact for float32 inputs when done in float64). */
function roundHalfAway(v: f32): i32 {
  const d = <f64>v;
  return <i32>(d >= 0 ? Math.floor(d + 0.5) : -Math.floor(-d + 0.5));
}

/**
 * RoIPool forward (torchvision.ops.roi_pool): box corners rounded to feature-map cells, the box split
 * into PH x PW bins of (ceil - floor) cells, and the maximum of each bin per channel. An empty bin gives
 * 0 with argmax -1. Ties keep the first maximum in row-major order, as torchvision's strict `>` does.
 */
export function roiPoolForward(
  features: usize, numImages: i32, height: i32, width: i32, channels: i32,
  boxes: usize, batch: usize, numBoxes: i32,
  pooledH: i32, pooledW: i32, scale: f32,
  out: usize, argmax: usize,
): void {
  const c4 = channels & ~3;
  const pixel = <usize>channels << 2;
  const lowest = f32x4.splat(-3.4028234663852886e38); // -FLT_MAX
  const none = i32x4.splat(-1);
  for (let r = 0; r < numBoxes; r++) {
    let o = out + <usize>r * <usize>(pooledH * pooledW) * pixel;
    let a = argmax + <usize>r * <usize>(pooledH * pooledW) * pixel;
    if (!usable(boxes, batch, r, numImages)) {
      zero(o, pooledH * pooledW * channels);
      memory.fill(a, 0xff, <usize>(pooledH * pooledW * channels) << 2);
      continue;
    }
    const image = features + <usize>load<i32>(batch + (<usize>r << 2)) * <usize>(height * width) * pixel;
    const p = boxes + (<usize>r << 4);
    const startW = roundHalfAway(load<f32>(p) * scale);
    const startH = roundHalfAway(load<f32>(p, 4) * scale);
    const endW = roundHalfAway(load<f32>(p, 8) * scale);
    const endH = roundHalfAway(load<f32>(p, 12) * scale);
    const roiW = max<i32>(endW - startW + 1, 1);
    const roiH = max<i32>(endH - startH + 1, 1);
    const binH = <f32>roiH / <f32>pooledH;
    const binW = <f32>roiW / <f32>pooledW;
    for (let ph = 0; ph < pooledH; ph++) {
      const hstart = min<i32>(max<i32>(<i32>Mathf.floor(<f32>ph * binH) + startH, 0), height);
      const hend = min<i32>(max<i32>(<i32>Mathf.ceil(<f32>(ph + 1) * binH) + startH, 0), height);
      for (let pw = 0; pw < pooledW; pw++) {
        const wstart = min<i32>(max<i32>(<i32>Mathf.floor(<f32>pw * binW) + startW, 0), width);
        const wend = min<i32>(max<i32>(<i32>Mathf.ceil(<f32>(pw + 1) * binW) + startW, 0), width);
        if (hend <= hstart || wend <= wstart) {
          zero(o, channels);
          memory.fill(a, 0xff, <usize>channels << 2);
        } else {
          let c = 0;
          for (; c < c4; c += 4) {
            const b = <usize>c << 2;
            let best = lowest;
            let at = none;
            for (let h = hstart; h < hend; h++) {
              for (let w = wstart; w < wend; w++) {
                const q = h * width + w;
                const v = v128.load(image + <usize>q * pixel + b);
                const gt = f32x4.gt(v, best);
                best = v128.bitselect(v, best, gt);
                at = v128.bitselect(i32x4.splat(q), at, gt);
              }
            }
            v128.store(o + b, best);
            v128.store(a + b, at);
          }
          for (; c < channels; c++) {
            const b = <usize>c << 2;
            let best: f32 = -3.4028234663852886e38;
            let at: i32 = -1;
            for (let h = hstart; h < hend; h++) {
              for (let w = wstart; w < wend; w++) {
                const q = h * width + w;
                const v = load<f32>(image + <usize>q * pixel + b);
                if (v > best) {
                  best = v;
                  at = q;
                }
              }
            }
            store<f32>(o + b, best);
            store<i32>(a + b, at);
          }
        }
        o += pixel;
        a += pixel;
      }
    }
  }
}

/**
 * RoIPool backward: each output gradient goes to the feature-map position its forward pass took the
 * maximum from (argmax), accumulated; argmax -1 (an empty bin) sends nothing. gradIn is overwritten.
 */
export function roiPoolBackward(
  gradOut: usize, argmax: usize, numImages: i32, height: i32, width: i32, channels: i32,
  batch: usize, numBoxes: i32, pooledH: i32, pooledW: i32,
  gradIn: usize,
): void {
  zero(gradIn, numImages * height * width * channels);
  const pixel = <usize>channels << 2;
  const bins = pooledH * pooledW;
  for (let r = 0; r < numBoxes; r++) {
    const image = load<i32>(batch + (<usize>r << 2));
    if (image < 0 || image >= numImages) continue;
    const base = gradIn + <usize>image * <usize>(height * width) * pixel;
    let g = gradOut + <usize>r * <usize>bins * pixel;
    let a = argmax + <usize>r * <usize>bins * pixel;
    for (let k = 0; k < bins; k++) {
      for (let c = 0; c < channels; c++) {
        const b = <usize>c << 2;
        const q = load<i32>(a + b);
        if (q < 0 || q >= height * width) continue;
        const t = base + <usize>q * pixel + b;
        store<f32>(t, load<f32>(t) + load<f32>(g + b));
      }
      g += pixel;
      a += pixel;
    }
  }
}
