/** Option checks and float32 helpers shared by the generators (not exported from the package). */
import { InvalidArgumentError, numberOption } from '@detkit/core';

const { fround } = Math;

/**
 * Most anchors one call may make: 2^24 = 16,777,216 (268 MB of float32 xyxy). Feature pyramids on a
 * 1333 x 800 image make about 200,000; a 1e5 x 1e5 grid would need 9e10 and is refused up front with an
 * `InvalidArgumentError` rather than failing to allocate.
 */
export const MAX_ANCHORS = 2 ** 24;

/** Checks a planned anchor count against {@link MAX_ANCHORS}; `argument` names what sets it. */
export function anchorCount(op: string, argument: string, count: number): number {
  if (!(count <= MAX_ANCHORS)) {
    throw new InvalidArgumentError(op, argument, `would make ${count} anchors, more than MAX_ANCHORS (2^24 = ${MAX_ANCHORS})`);
  }
  return count;
}

/**
 * Checks that generated anchor coordinates are finite in float32 (huge strides, sizes or tiny ratios can
 * overflow): an `InvalidArgumentError` naming `argument` and the anchor otherwise.
 */
export function finiteAnchors(op: string, argument: string, values: Float32Array): Float32Array {
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v - v !== 0) throw new InvalidArgumentError(op, argument, `give anchor ${Math.floor(i / 4)} a coordinate beyond float32's range (${v})`);
  }
  return values;
}

/** `[height, width]` of a grid or an image. */
export type Size2 = readonly [number, number];

function show(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A non-empty array of finite numbers > 0. */
export function positiveList(op: string, argument: string, value: unknown, allowEmpty = false): number[] {
  if (!Array.isArray(value) || (!allowEmpty && value.length === 0) || !value.every((v) => typeof v === 'number' && Number.isFinite(v) && v > 0)) {
    throw new InvalidArgumentError(op, argument, `must be ${allowEmpty ? 'an' : 'a non-empty'} array of finite numbers > 0, got ${show(value)}`);
  }
  return value as number[];
}

/** `[height, width]` of a feature map: integers >= 0. A bare integer means a square map when `square` is set. */
export function gridSize(op: string, argument: string, value: unknown, square = false): [number, number] {
  const pair = square && typeof value === 'number' ? [value, value] : value;
  if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((v) => Number.isInteger(v) && v >= 0)) {
    throw new InvalidArgumentError(op, argument, `must be [height, width] with integers >= 0${square ? ' (or one integer)' : ''}, got ${show(value)}`);
  }
  return [pair[0] as number, pair[1] as number];
}

/** `[height, width]` of an image: finite numbers >= 0. */
export function imageSize(op: string, argument: string, value: unknown): [number, number] {
  if (!Array.isArray(value) || value.length !== 2 || !value.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0)) {
    throw new InvalidArgumentError(op, argument, `must be [height, width] with finite sizes >= 0, got ${show(value)}`);
  }
  return [value[0] as number, value[1] as number];
}

/** A stride: one number > 0, or `[strideY, strideX]`. */
export function stridePair(op: string, argument: string, value: unknown): [number, number] {
  if (typeof value === 'number') {
    numberOption(op, argument, value, { min: 0, minExclusive: true });
    return [value, value];
  }
  if (!Array.isArray(value) || value.length !== 2 || !value.every((v) => typeof v === 'number' && Number.isFinite(v) && v > 0)) {
    throw new InvalidArgumentError(op, argument, `must be a number > 0 or [strideY, strideX], got ${show(value)}`);
  }
  return [value[0] as number, value[1] as number];
}

/** The anchor centre offset, a fraction of the stride in [0, 1). */
export function offsetOption(op: string, value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) {
    throw new InvalidArgumentError(op, 'offset', `must be a fraction of the stride in [0, 1) (0: torchvision, 0.5: cell centres), got ${show(value)}`);
  }
  return value;
}

/**
 * Round half to even, as `torch.round` does (`Math.round` rounds half up: -1.5 -> -1 where torch gives -2).
 * Exact for every float32 input.
 */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** `f32(a * b)`: a product rounded to float32, as a float32 tensor op gives it. */
export function mul32(a: number, b: number): number {
  return fround(a * b);
}

/** Resolves `sizes` or `scales * baseSize` to sizes in pixels. `stride` supplies the default base. */
export function resolveSizes(
  op: string,
  opts: { readonly sizes?: readonly number[] | undefined; readonly scales?: readonly number[] | undefined; readonly baseSize?: number | undefined },
  stride?: readonly [number, number],
  where = '',
): number[] {
  const { sizes, scales, baseSize } = opts;
  if ((sizes === undefined) === (scales === undefined)) {
    throw new InvalidArgumentError(op, `${where}sizes`, 'give exactly one of sizes (pixels) and scales (multiples of baseSize)');
  }
  if (sizes !== undefined) return positiveList(op, `${where}sizes`, sizes);
  const s = positiveList(op, `${where}scales`, scales);
  let base: number;
  if (baseSize !== undefined) base = numberOption(op, `${where}baseSize`, baseSize, { min: 0, minExclusive: true });
  else if (stride !== undefined && stride[0] === stride[1]) base = stride[0];
  else throw new InvalidArgumentError(op, `${where}baseSize`, 'is needed with scales when there is no single stride to default to');
  return s.map((v) => v * base);
}

/**
 * The A = `ratios.length * sizes.length` zero-centred anchors of one location, as flat float32 xyxy values,
 * computed in float32 in torchvision's order (`h = sqrt(r)`, `w = 1 / h`, `ws = w * size`, `±ws / 2`),
 * ratio-major then size, optionally rounded half to even.
 */
export function cellAnchorValues(sizes: readonly number[], ratios: readonly number[], round: boolean): Float32Array {
  const out = new Float32Array(4 * sizes.length * ratios.length);
  let o = 0;
  for (const ratio of ratios) {
    const hRatio = fround(Math.sqrt(fround(ratio)));
    const wRatio = fround(1 / hRatio);
    for (const size of sizes) {
      const s = fround(size);
      // Halving is exact in float32, so these are torchvision's `stack([-ws, -hs, ws, hs]) / 2`.
      const halfW = mul32(wRatio, s) / 2;
      const halfH = mul32(hRatio, s) / 2;
      out[o++] = round ? roundHalfEven(-halfW) : -halfW;
      out[o++] = round ? roundHalfEven(-halfH) : -halfH;
      out[o++] = round ? roundHalfEven(halfW) : halfW;
      out[o++] = round ? roundHalfEven(halfH) : halfH;
    }
  }
  return out;
}

/**
 * Writes the anchors of an `[h, w]` grid into `out` from element `start`: for each location (row-major: y,
 * then x) the cell anchors in order, each shifted by the location's centre and rounded to float32.
 * Returns the element after the last one written.
 */
export function writeGridAnchors(
  out: Float32Array,
  start: number,
  cell: Float32Array,
  [h, w]: readonly [number, number],
  [strideY, strideX]: readonly [number, number],
  offset: number,
): number {
  const a4 = cell.length;
  let o = start;
  for (let y = 0; y < h; y++) {
    const cy = (y + offset) * strideY;
    for (let x = 0; x < w; x++) {
      const cx = (x + offset) * strideX;
      // Storing into the Float32Array rounds the exact sum to float32 once, as torchvision's float32 add does.
      for (let k = 0; k < a4; k += 4) {
        out[o++] = cx + (cell[k] as number);
        out[o++] = cy + (cell[k + 1] as number);
        out[o++] = cx + (cell[k + 2] as number);
        out[o++] = cy + (cell[k + 3] as number);
      }
    }
  }
  return o;
}
