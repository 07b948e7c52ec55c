/**
 * Adam7-interlaced PNGs of 1, 2 or 4 bits per pixel. fast-png 8 de-interlaces Adam7 as if every pixel
 * took whole bytes (its pass rows are `passWidth * ceil(depth / 8) * channels` bytes), so these files,
 * whose pass rows are `ceil(passWidth * depth / 8)` bytes, fail there ("Unsupported filter"). This reads
 * them per the PNG specification (ISO/IEC 15948, sections 8.2 and 9): zlib-inflates the IDAT stream
 * (fflate, fast-png's own inflater), undoes each pass row's filter, and scatters the pass pixels into
 * non-interlaced rows packed as fast-png returns them, so the rest of the decoder treats both alike.
 */
import { unzlibSync } from 'fflate';
import { pngChunks } from './image-header';

/** The image of a low-depth interlaced PNG, in the shape of fast-png's `decode` result. */
export interface LowDepthPng {
  width: number;
  height: number;
  /** 1, 2 or 4. */
  depth: number;
  /** Always 1: grey, or palette indices. */
  channels: 1;
  /** Rows of `ceil(width * depth / 8)` bytes, samples packed most significant bits first. */
  data: Uint8Array;
  /** PLTE entries `[r, g, b]` for colour type 3. */
  palette?: number[][];
}

/** Adam7's passes: first column and row, column and row steps (PNG specification, 8.2). */
const PASSES: readonly (readonly [x0: number, y0: number, dx: number, dy: number])[] = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Undoes one row's filter in place (`bpp` 1: sub-byte pixels filter byte by byte). */
function unfilterRow(type: number, row: Uint8Array, prev: Uint8Array): void {
  const n = row.length;
  switch (type) {
    case 0:
      return;
    case 1:
      for (let i = 1; i < n; i++) row[i] = (row[i]! + row[i - 1]!) & 255;
      return;
    case 2:
      for (let i = 0; i < n; i++) row[i] = (row[i]! + prev[i]!) & 255;
      return;
    case 3:
      for (let i = 0; i < n; i++) row[i] = (row[i]! + (((i > 0 ? row[i - 1]! : 0) + prev[i]!) >> 1)) & 255;
      return;
    case 4:
      for (let i = 0; i < n; i++) row[i] = (row[i]! + paeth(i > 0 ? row[i - 1]! : 0, prev[i]!, i > 0 ? prev[i - 1]! : 0)) & 255;
      return;
    default:
      throw new Error(`unknown filter type ${type} in an interlaced row`);
  }
}

/**
 * Decodes `bytes` when they are an Adam7-interlaced PNG of 1, 2 or 4 bits per pixel; returns null for
 * any other PNG (fast-png reads those).
 * @throws Error on a truncated or corrupt file (the caller reports it with the file's name).
 */
export function decodeLowDepthInterlacedPng(bytes: Uint8Array): LowDepthPng | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 33) return null;
  // Signature (8 bytes), then IHDR first: length, type, width, height, depth, colour type, compression, filter, interlace.
  const width = view.getUint32(16), height = view.getUint32(20);
  const depth = bytes[24]!, colourType = bytes[25]!, interlace = bytes[28]!;
  if (interlace !== 1 || depth >= 8 || (colourType !== 0 && colourType !== 3)) return null;
  const idat: Uint8Array[] = [];
  let palette: number[][] | undefined;
  for (const { type, start, end } of pngChunks(bytes)) {
    if (end > bytes.length) throw new Error(`chunk ${type} runs past the end of the file`);
    if (type === 'IDAT') idat.push(bytes.subarray(start, end));
    else if (type === 'PLTE') {
      palette = [];
      for (let i = start; i + 2 < end; i += 3) palette.push([bytes[i]!, bytes[i + 1]!, bytes[i + 2]!]);
    }
  }
  if (colourType === 3 && palette === undefined) throw new Error('a palette image without a PLTE chunk');
  const joined = new Uint8Array(idat.reduce((s, c) => s + c.length, 0));
  let o = 0;
  for (const c of idat) {
    joined.set(c, o);
    o += c.length;
  }
  const raw = unzlibSync(joined);
  const rowBytes = Math.ceil((width * depth) / 8);
  const data = new Uint8Array(rowBytes * height);
  const max = (1 << depth) - 1;
  let at = 0;
  for (const [x0, y0, dx, dy] of PASSES) {
    const pw = width > x0 ? Math.ceil((width - x0) / dx) : 0;
    const ph = height > y0 ? Math.ceil((height - y0) / dy) : 0;
    if (pw === 0 || ph === 0) continue; // an empty pass has no rows, not even filter bytes
    const passRowBytes = Math.ceil((pw * depth) / 8);
    let prev = new Uint8Array(passRowBytes);
    for (let r = 0; r < ph; r++) {
      if (at + 1 + passRowBytes > raw.length) throw new Error('the image data end before the last interlaced row');
      const type = raw[at]!;
      const row = raw.slice(at + 1, at + 1 + passRowBytes);
      at += 1 + passRowBytes;
      unfilterRow(type, row, prev);
      const y = y0 + r * dy;
      for (let i = 0; i < pw; i++) {
        const bit = i * depth;
        const v = (row[bit >> 3]! >> (8 - depth - (bit & 7))) & max;
        const outBit = (x0 + i * dx) * depth;
        const k = y * rowBytes + (outBit >> 3);
        data[k] = data[k]! | (v << (8 - depth - (outBit & 7)));
      }
      prev = row;
    }
  }
  return palette === undefined ? { width, height, depth, channels: 1, data } : { width, height, depth, channels: 1, data, palette };
}
