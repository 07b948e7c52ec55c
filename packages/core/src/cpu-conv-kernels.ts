/**
 * Convolutions and their gradients for tfjs-backend-cpu over flat Float32Arrays (NHWC), replacing tfjs-backend-cpu
 * 4.22's kernels that read their inputs element by element through `TensorBuffer.get` (its
 * `Conv2DBackpropFilter` takes seconds per layer of a small detector and minutes per training step), and
 * its forward `Conv2D`, a plain loop about three times slower than these.
 *
 * Each loop is a matrix product written for V8: the innermost loop runs over contiguous channels of one
 * pixel, several rows share each load, and sums are taken in float64 as tfjs's own kernels take them.
 * With P output pixels, K = kh * kw * inC taps and C = outC:
 * - forward y [P, C] = im2col(x) W: for each pixel, rank-1 updates of a float64 row over its taps.
 * - filter gradient dW [K, C] = cols^T dy: im2col is never materialised; for each tap and block of input
 *   channels, rank-1 updates over the pixels into a float64 block small enough to stay in cache.
 * - input gradient dx = col2im(dy W^T): for each pixel and tap, dot products of dy's row with W's rows.
 * Internal to @detkit/core (see cpu-kernel-fixes.ts).
 */
import type { backend_util } from '@tensorflow/tfjs-core';

type ConvInfo = backend_util.Conv2DInfo;
type Values = Float32Array | Int32Array | Uint8Array;

/** Float64 accumulators per block of the filter gradient: 128 KB, within a core's L2 cache. */
const FILTER_BLOCK_ELEMS = 16384;

/** Output rows [lo, hi) whose tap offset `o` (tap index times dilation, minus padding) lands inside [0, size). */
function validRange(o: number, stride: number, size: number, outSize: number): [number, number] {
  const lo = Math.max(0, Math.ceil(-o / stride));
  const hi = Math.min(outSize, Math.floor((size - 1 - o) / stride) + 1);
  return [lo, Math.max(lo, hi)];
}

/** y [n, oh, ow, outC] of a conv2d (dilation 1 or more), from x (NHWC) and the filter [kh, kw, inC, outC]. */
export function conv2dForward(x: Values, filter: Values, info: ConvInfo): Float32Array {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, outChannels: oc } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const y = new Float32Array(n * oh * ow * oc);
  const acc = new Float64Array(oc);
  for (let b = 0; b < n; b++) {
    for (let yr = 0; yr < oh; yr++) {
      for (let yc = 0; yc < ow; yc++) {
        acc.fill(0);
        for (let wr = 0; wr < kh; wr++) {
          const xr = yr * sh + wr * dh - info.padInfo.top;
          if (xr < 0 || xr >= h) continue;
          for (let wc = 0; wc < kw; wc++) {
            const xc = yc * sw + wc * dw - info.padInfo.left;
            if (xc < 0 || xc >= w) continue;
            const xo = ((b * h + xr) * w + xc) * c;
            const fo = (wr * kw + wc) * c * oc;
            let k = 0;
            for (; k + 4 <= c; k += 4) {
              const x0 = x[xo + k]!;
              const x1 = x[xo + k + 1]!;
              const x2 = x[xo + k + 2]!;
              const x3 = x[xo + k + 3]!;
              const f0 = fo + k * oc;
              const f1 = f0 + oc;
              const f2 = f1 + oc;
              const f3 = f2 + oc;
              for (let d = 0; d < oc; d++) acc[d]! += x0 * filter[f0 + d]! + x1 * filter[f1 + d]! + x2 * filter[f2 + d]! + x3 * filter[f3 + d]!;
            }
            for (; k < c; k++) {
              const xv = x[xo + k]!;
              const f = fo + k * oc;
              for (let d = 0; d < oc; d++) acc[d]! += xv * filter[f + d]!;
            }
          }
        }
        y.set(acc, ((b * oh + yr) * ow + yc) * oc);
      }
    }
  }
  return y;
}

/** dW [kh, kw, inC, outC] of a conv2d (dilation 1 or more), from x and dy in NHWC. */
export function conv2dFilterGrad(x: Values, dy: Values, info: ConvInfo): Float32Array {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, outChannels: oc } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const out = new Float32Array(kh * kw * c * oc);
  const block = Math.max(1, Math.min(c, Math.floor(FILTER_BLOCK_ELEMS / oc)));
  const acc = new Float64Array(block * oc);
  for (let wr = 0; wr < kh; wr++) {
    const or = wr * dh - info.padInfo.top;
    const [r0, r1] = validRange(or, sh, h, oh);
    for (let wc = 0; wc < kw; wc++) {
      const ocol = wc * dw - info.padInfo.left;
      const [c0, c1] = validRange(ocol, sw, w, ow);
      for (let cs = 0; cs < c; cs += block) {
        const cb = Math.min(block, c - cs);
        acc.fill(0, 0, cb * oc);
        for (let b = 0; b < n; b++) {
          for (let yr = r0; yr < r1; yr++) {
            const xRow = (b * h + yr * sh + or) * w;
            const yRow = (b * oh + yr) * ow;
            for (let yc = c0; yc < c1; yc++) {
              const xo = (xRow + yc * sw + ocol) * c + cs;
              const yo = (yRow + yc) * oc;
              let k = 0;
              for (; k + 4 <= cb; k += 4) {
                const x0 = x[xo + k]!;
                const x1 = x[xo + k + 1]!;
                const x2 = x[xo + k + 2]!;
                const x3 = x[xo + k + 3]!;
                const a0 = k * oc;
                const a1 = a0 + oc;
                const a2 = a1 + oc;
                const a3 = a2 + oc;
                for (let d = 0; d < oc; d++) {
                  const g = dy[yo + d]!;
                  acc[a0 + d]! += x0 * g;
                  acc[a1 + d]! += x1 * g;
                  acc[a2 + d]! += x2 * g;
                  acc[a3 + d]! += x3 * g;
                }
              }
              for (; k < cb; k++) {
                const xv = x[xo + k]!;
                const a = k * oc;
                for (let d = 0; d < oc; d++) acc[a + d]! += xv * dy[yo + d]!;
              }
            }
          }
        }
        out.set(acc.subarray(0, cb * oc), ((wr * kw + wc) * c + cs) * oc);
      }
    }
  }
  return out;
}

/** dx [n, h, w, inC] of a conv2d (dilation 1 or more), from dy (NHWC) and the filter [kh, kw, inC, outC]. */
export function conv2dInputGrad(dy: Values, filter: Values, info: ConvInfo): Float32Array {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, outChannels: oc } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const dx = new Float32Array(n * h * w * c);
  for (let b = 0; b < n; b++) {
    for (let yr = 0; yr < oh; yr++) {
      for (let yc = 0; yc < ow; yc++) {
        const yo = ((b * oh + yr) * ow + yc) * oc;
        for (let wr = 0; wr < kh; wr++) {
          const xr = yr * sh + wr * dh - info.padInfo.top;
          if (xr < 0 || xr >= h) continue;
          for (let wc = 0; wc < kw; wc++) {
            const xc = yc * sw + wc * dw - info.padInfo.left;
            if (xc < 0 || xc >= w) continue;
            const xo = ((b * h + xr) * w + xc) * c;
            const fo = (wr * kw + wc) * c * oc;
            let k = 0;
            for (; k + 4 <= c; k += 4) {
              const f0 = fo + k * oc;
              const f1 = f0 + oc;
              const f2 = f1 + oc;
              const f3 = f2 + oc;
              let s0 = 0;
              let s1 = 0;
              let s2 = 0;
              let s3 = 0;
              for (let d = 0; d < oc; d++) {
                const g = dy[yo + d]!;
                s0 += g * filter[f0 + d]!;
                s1 += g * filter[f1 + d]!;
                s2 += g * filter[f2 + d]!;
                s3 += g * filter[f3 + d]!;
              }
              dx[xo + k]! += s0;
              dx[xo + k + 1]! += s1;
              dx[xo + k + 2]! += s2;
              dx[xo + k + 3]! += s3;
            }
            for (; k < c; k++) {
              const f = fo + k * oc;
              let s = 0;
              for (let d = 0; d < oc; d++) s += dy[yo + d]! * filter[f + d]!;
              dx[xo + k]! += s;
            }
          }
        }
      }
    }
  }
  return dx;
}

/** dW [kh, kw, inC, M] of a depthwise conv2d (channel multiplier M), from x and dy [.., inC * M] in NHWC. */
export function depthwiseFilterGrad(x: Values, dy: Values, info: ConvInfo): Float32Array {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, outChannels: oc } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const m = oc / c;
  const out = new Float32Array(kh * kw * oc);
  const acc = new Float64Array(oc);
  for (let wr = 0; wr < kh; wr++) {
    const or = wr * dh - info.padInfo.top;
    const [r0, r1] = validRange(or, sh, h, oh);
    for (let wc = 0; wc < kw; wc++) {
      const ocol = wc * dw - info.padInfo.left;
      const [c0, c1] = validRange(ocol, sw, w, ow);
      acc.fill(0);
      for (let b = 0; b < n; b++) {
        for (let yr = r0; yr < r1; yr++) {
          const xRow = (b * h + yr * sh + or) * w;
          const yRow = (b * oh + yr) * ow;
          for (let yc = c0; yc < c1; yc++) {
            const xo = (xRow + yc * sw + ocol) * c;
            const yo = (yRow + yc) * oc;
            if (m === 1) {
              for (let d = 0; d < c; d++) acc[d]! += x[xo + d]! * dy[yo + d]!;
            } else {
              for (let d = 0; d < c; d++) {
                const xv = x[xo + d]!;
                for (let j = 0; j < m; j++) acc[d * m + j]! += xv * dy[yo + d * m + j]!;
              }
            }
          }
        }
      }
      out.set(acc, (wr * kw + wc) * oc);
    }
  }
  return out;
}

/** dx [n, h, w, inC] of a depthwise conv2d, from dy [.., inC * M] (NHWC) and the filter [kh, kw, inC, M]. */
export function depthwiseInputGrad(dy: Values, filter: Values, info: ConvInfo): Float32Array {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, outChannels: oc } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const m = oc / c;
  const dx = new Float32Array(n * h * w * c);
  for (let b = 0; b < n; b++) {
    for (let yr = 0; yr < oh; yr++) {
      for (let yc = 0; yc < ow; yc++) {
        const yo = ((b * oh + yr) * ow + yc) * oc;
        for (let wr = 0; wr < kh; wr++) {
          const xr = yr * sh + wr * dh - info.padInfo.top;
          if (xr < 0 || xr >= h) continue;
          for (let wc = 0; wc < kw; wc++) {
            const xc = yc * sw + wc * dw - info.padInfo.left;
            if (xc < 0 || xc >= w) continue;
            const xo = ((b * h + xr) * w + xc) * c;
            const fo = (wr * kw + wc) * oc;
            if (m === 1) {
              for (let d = 0; d < c; d++) dx[xo + d]! += dy[yo + d]! * filter[fo + d]!;
            } else {
              for (let d = 0; d < c; d++) {
                let s = 0;
                for (let j = 0; j < m; j++) s += dy[yo + d * m + j]! * filter[fo + d * m + j]!;
                dx[xo + d]! += s;
              }
            }
          }
        }
      }
    }
  }
  return dx;
}
