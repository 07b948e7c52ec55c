/**
 * Bilinear resize of an interleaved RGB image with half-pixel centres: the sampling of
 * `tf.image.resizeBilinear(img, size, false, true)` and of `torch.nn.functional.interpolate(...,
 * mode='bilinear', align_corners=False)` without antialiasing. Source pixel coordinates are
 * (x + 0.5) * w / nw - 0.5, clamped at 0 below, with the upper neighbour clamped to the last pixel.
 *
 * Runs on typed arrays: the input pipeline prepares a whole batch in one Float32Array and uploads it as
 * one tensor, which is faster than per-image tensor ops on every backend.
 *
 * @param src - Uint8Array or Float32Array[h * w * 3].
 * @returns Float32Array[nh * nw * 3], in the units of `src`.
 */
export function resizeBilinear(src: ArrayLike<number>, w: number, h: number, nw: number, nh: number): Float32Array {
  const out = new Float32Array(nw * nh * 3);
  const sx = w / nw, sy = h / nh;
  const x0s = new Int32Array(nw), x1s = new Int32Array(nw), fxs = new Float32Array(nw);
  for (let x = 0; x < nw; x++) {
    const fx = Math.max(0, (x + 0.5) * sx - 0.5);
    const x0 = Math.min(w - 1, Math.floor(fx));
    x0s[x] = x0;
    x1s[x] = Math.min(w - 1, x0 + 1);
    fxs[x] = fx - x0;
  }
  for (let y = 0; y < nh; y++) {
    const fy = Math.max(0, (y + 0.5) * sy - 0.5);
    const y0 = Math.min(h - 1, Math.floor(fy));
    const y1 = Math.min(h - 1, y0 + 1);
    const dy = fy - y0;
    const r0 = y0 * w * 3, r1 = y1 * w * 3;
    for (let x = 0; x < nw; x++) {
      const a = 3 * (x0s[x] as number), b = 3 * (x1s[x] as number), dx = fxs[x] as number;
      const o = 3 * (y * nw + x);
      for (let c = 0; c < 3; c++) {
        const top = (src[r0 + a + c] as number) + ((src[r0 + b + c] as number) - (src[r0 + a + c] as number)) * dx;
        const bottom = (src[r1 + a + c] as number) + ((src[r1 + b + c] as number) - (src[r1 + a + c] as number)) * dx;
        out[o + c] = top + (bottom - top) * dy;
      }
    }
  }
  return out;
}

/** Mirrors an interleaved RGB image left to right. */
export function flipHorizontal<T extends Uint8Array | Float32Array>(src: T, w: number, h: number): T {
  const out = new (src.constructor as new (n: number) => T)(src.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = 3 * (y * w + x), j = 3 * (y * w + (w - 1 - x));
      out[j] = src[i] as number;
      out[j + 1] = src[i + 1] as number;
      out[j + 2] = src[i + 2] as number;
    }
  }
  return out;
}

/** A rectangle of a virtual canvas around an image: integer x, y (may be negative) and size, in image pixels. */
export interface PixelWindow {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/**
 * Bilinear resize (half-pixel centres, as {@link resizeBilinear}) of a window of the image placed on an
 * unbounded canvas of colour `fill`: pixel (x, y) of the window is image pixel (window.x + x,
 * window.y + y) where that lies inside the image, else `fill`. This is SSD's zoom-out (a canvas around
 * the image) followed by a crop, resized, without making the canvas: the result equals materialising
 * the window and calling {@link resizeBilinear} on it. With the whole image as window it is
 * {@link resizeBilinear}. With `mirror`, the output is flipped left to right (equal to flipping the
 * window first: half-pixel sampling is symmetric).
 *
 * @param src - Uint8Array or Float32Array[h * w * 3].
 * @param fill - [r, g, b] in the units of `src`.
 * @returns Float32Array[nh * nw * 3], in the units of `src`.
 */
export function resizeWindow(
  src: ArrayLike<number>,
  w: number,
  h: number,
  win: PixelWindow,
  fill: readonly [number, number, number],
  nw: number,
  nh: number,
  mirror = false,
): Float32Array {
  const out = new Float32Array(nw * nh * 3);
  const sx = win.width / nw, sy = win.height / nh;
  // Per output column: the two window columns sampled, as image columns, or -1 outside the image.
  const xa = new Int32Array(nw), xb = new Int32Array(nw), fxs = new Float32Array(nw);
  for (let x = 0; x < nw; x++) {
    const fx = Math.max(0, (x + 0.5) * sx - 0.5);
    const x0 = Math.min(win.width - 1, Math.floor(fx));
    const x1 = Math.min(win.width - 1, x0 + 1);
    const ix0 = win.x + x0, ix1 = win.x + x1;
    const o = mirror ? nw - 1 - x : x;
    xa[o] = ix0 >= 0 && ix0 < w ? ix0 : -1;
    xb[o] = ix1 >= 0 && ix1 < w ? ix1 : -1;
    fxs[o] = fx - x0;
  }
  const f0 = fill[0], f1 = fill[1], f2 = fill[2];
  const at = (row: number, col: number, c: number) => (row < 0 || col < 0 ? (c === 0 ? f0 : c === 1 ? f1 : f2) : (src[(row * w + col) * 3 + c] as number));
  let colsInside = true;
  for (let x = 0; x < nw; x++) if ((xa[x] as number) < 0 || (xb[x] as number) < 0) colsInside = false;
  for (let y = 0; y < nh; y++) {
    const fy = Math.max(0, (y + 0.5) * sy - 0.5);
    const y0 = Math.min(win.height - 1, Math.floor(fy));
    const y1 = Math.min(win.height - 1, y0 + 1);
    const dy = fy - y0;
    const iy0 = win.y + y0, iy1 = win.y + y1;
    const r0 = iy0 >= 0 && iy0 < h ? iy0 : -1;
    const r1 = iy1 >= 0 && iy1 < h ? iy1 : -1;
    if (colsInside && r0 >= 0 && r1 >= 0) {
      // The row lies inside the image: read pixels directly (same arithmetic as below).
      const b0 = r0 * w * 3, b1 = r1 * w * 3;
      for (let x = 0; x < nw; x++) {
        const a = 3 * (xa[x] as number), b = 3 * (xb[x] as number), dx = fxs[x] as number;
        const o = 3 * (y * nw + x);
        for (let c = 0; c < 3; c++) {
          const ta = src[b0 + a + c] as number, tb = src[b0 + b + c] as number, ba = src[b1 + a + c] as number, bb = src[b1 + b + c] as number;
          const top = ta + (tb - ta) * dx;
          const bottom = ba + (bb - ba) * dx;
          out[o + c] = top + (bottom - top) * dy;
        }
      }
      continue;
    }
    for (let x = 0; x < nw; x++) {
      const a = xa[x] as number, b = xb[x] as number, dx = fxs[x] as number;
      const o = 3 * (y * nw + x);
      for (let c = 0; c < 3; c++) {
        const ta = at(r0, a, c), tb = at(r0, b, c), ba = at(r1, a, c), bb = at(r1, b, c);
        const top = ta + (tb - ta) * dx;
        const bottom = ba + (bb - ba) * dx;
        out[o + c] = top + (bottom - top) * dy;
      }
    }
  }
  return out;
}
