import { hasPngSignature } from 'fast-png';

/** What the first bytes of an image file say, read without decoding the pixels. */
export interface ImageHeader {
  /** Container format. */
  readonly format: 'png' | 'jpeg';
  /** Width of the stored (raw) pixels, before any EXIF orientation. */
  readonly width: number;
  /** Height of the stored (raw) pixels. */
  readonly height: number;
  /**
   * EXIF orientation, 1-8 (TIFF tag 0x0112 in a JPEG's APP1 segment or a PNG's `eXIf` chunk); 1
   * (upright) when there is none or when the tag is not a value in 1..8.
   */
  readonly orientation: number;
}

function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** Image format of encoded bytes, from their signature; null when neither PNG nor JPEG. */
export function imageFormat(bytes: Uint8Array): 'png' | 'jpeg' | null {
  if (hasPngSignature(bytes)) return 'png';
  if (isJpeg(bytes)) return 'jpeg';
  return null;
}

const u16be = (b: Uint8Array, i: number) => ((b[i] as number) << 8) | (b[i + 1] as number);
const u32be = (b: Uint8Array, i: number) => (u16be(b, i) * 65536 + u16be(b, i + 2));

/** Orientation tag of a TIFF structure (EXIF's payload) starting at `t`; 1 when absent or invalid. */
function tiffOrientation(b: Uint8Array, t: number, end: number): number {
  if (t + 8 > end) return 1;
  const little = b[t] === 0x49 && b[t + 1] === 0x49; // 'II'
  if (!little && !(b[t] === 0x4d && b[t + 1] === 0x4d)) return 1; // nor 'MM'
  const u16 = (i: number) => (little ? (b[i] as number) | ((b[i + 1] as number) << 8) : u16be(b, i));
  const u32 = (i: number) => (little ? u16(i) + u16(i + 2) * 65536 : u32be(b, i));
  if (u16(t + 2) !== 42) return 1;
  const ifd = t + u32(t + 4);
  if (ifd + 2 > end) return 1;
  const count = u16(ifd);
  for (let k = 0; k < count; k++) {
    const e = ifd + 2 + 12 * k;
    if (e + 12 > end) return 1;
    if (u16(e) === 0x0112) {
      // SHORT (type 3), count 1: the value sits in the first two bytes of the value field.
      const v = u16(e + 2) === 3 ? u16(e + 8) : 1;
      return v >= 1 && v <= 8 ? v : 1;
    }
  }
  return 1;
}

/** Markers without a length field: TEM, RSTn, SOI. */
const STANDALONE = new Set([0x01, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8]);
/** Start-of-frame markers (baseline, extended, progressive, lossless; Huffman and arithmetic). */
const SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

function jpegHeader(b: Uint8Array): ImageHeader | null {
  let orientation = 1;
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1] as number;
    if (marker === 0xff) {
      i += 1; // fill byte
      continue;
    }
    if (STANDALONE.has(marker)) {
      i += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return null; // EOI or SOS before a frame header
    const len = u16be(b, i + 2);
    const start = i + 4;
    const end = Math.min(b.length, i + 2 + len);
    if (marker === 0xe1 && orientation === 1 && end - start >= 14 && String.fromCharCode(...b.subarray(start, start + 6)) === 'Exif\0\0') {
      orientation = tiffOrientation(b, start + 6, end);
    }
    if (SOF.has(marker)) {
      if (start + 5 > b.length) return null;
      return { format: 'jpeg', height: u16be(b, start + 1), width: u16be(b, start + 3), orientation };
    }
    i += 2 + len;
  }
  return null;
}

/**
 * The orientation tag of a PNG's `eXIf` chunk (a bare TIFF structure, PNG specification extensions 1.5;
 * Pillow writes it before the image data, libpng's own test image after it; PIL's `exif_transpose`
 * applies it wherever it is), looked for in every chunk of the bytes given.
 */
function pngOrientation(b: Uint8Array): number {
  for (const { type, start, end } of pngChunks(b)) {
    if (type === 'eXIf') return tiffOrientation(b, start, Math.min(b.length, end));
  }
  return 1;
}

/**
 * The chunks of PNG bytes after the signature: each one's type and the `[start, end)` of its data (`end`
 * may lie beyond truncated bytes); the last is IEND, or the last whose header the bytes hold. @internal
 */
export function* pngChunks(b: Uint8Array): Generator<{ type: string; start: number; end: number }> {
  for (let at = 8; at + 8 <= b.length; ) {
    const start = at + 8;
    const end = start + u32be(b, at);
    const type = String.fromCharCode(b[at + 4]!, b[at + 5]!, b[at + 6]!, b[at + 7]!);
    yield { type, start, end };
    if (type === 'IEND') return;
    at = end + 4; // + CRC
  }
}

/**
 * Reads an image's format, stored size and EXIF orientation from its first bytes, without decoding
 * pixels: the PNG `IHDR` chunk and the `Orientation` tag of an `eXIf` chunk (within the bytes given), or the
 * JPEG frame header (`SOFn`) and the `Orientation` tag of an `APP1` Exif segment (parsed by hand: a few
 * lines of TIFF, synchronous, the same in browsers).
 *
 * @param bytes - The start of the file (for JPEG, up to its frame header; the whole file always works).
 * @returns null when the bytes are neither PNG nor JPEG or the header cannot be found.
 */
export function readImageHeader(bytes: Uint8Array): ImageHeader | null {
  const format = imageFormat(bytes);
  if (format === 'png') {
    if (bytes.length < 24 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') return null;
    return { format, width: u32be(bytes, 16), height: u32be(bytes, 20), orientation: pngOrientation(bytes) };
  }
  if (format === 'jpeg') return jpegHeader(bytes);
  return null;
}

/** Whether an EXIF orientation swaps width and height (5-8: the transposing ones). */
export function orientationSwapsAxes(orientation: number): boolean {
  return orientation >= 5 && orientation <= 8;
}
